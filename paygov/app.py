"""The ASGI application: routers, error handlers, edge middleware."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse

from paygov import __version__
from paygov.callbacks.api import router as callbacks_router
from paygov.health.api import router as health_router
from paygov.kit.context import Context
from paygov.kit.http import EdgeMiddleware, install_error_handlers
from paygov.kit.logs import configure_logging
from paygov.payments.api import router as payments_router

DESCRIPTION = """\
PayGov's portal API. Authenticate with `Authorization: Bearer <api key>`.
Amounts are integers of Vietnamese dong (VND). Errors are
`{"error": {"code", "message", "field"}}`; see docs/errors.md for every code.
"""


def create_app(ctx: Context | None = None) -> FastAPI:
    """Build the app around a context (tests pass their own database and clock)."""
    configure_logging()
    context = ctx or Context.build()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await context.close()

    app = FastAPI(
        title="PayGov API",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=ORJSONResponse,
        lifespan=lifespan,
    )
    app.state.ctx = context
    install_error_handlers(app)
    app.include_router(payments_router)
    app.include_router(callbacks_router)
    app.include_router(health_router)
    app.add_middleware(EdgeMiddleware, max_body_bytes=context.settings.max_body_bytes)
    return app
