"""The ASGI application: routers, error handlers, edge middleware."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import ORJSONResponse
from fastapi.staticfiles import StaticFiles

from paygov import __version__
from paygov.backoffice import mount as mount_backoffice
from paygov.callbacks.api import router as callbacks_router
from paygov.checkout.api import STATIC_DIR as CHECKOUT_STATIC
from paygov.checkout.api import on_checkout_not_found
from paygov.checkout.api import router as checkout_router
from paygov.health.api import router as health_router
from paygov.kit.context import Context
from paygov.kit.http import EdgeMiddleware, install_error_handlers
from paygov.kit.logs import configure_logging
from paygov.kit.settings import ConfigurationError
from paygov.payments.api import router as payments_router
from paygov.payments.attempts import CheckoutNotFound
from paygov.reconciliation.api import router as reconciliation_router
from paygov.refunds.api import router as refunds_router
from paygov.reports.api import router as reports_router
from paygov.webhooks.api import router as webhooks_router

log = logging.getLogger(__name__)

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
        try:
            async with context.db.read() as session:
                await context.providers.refresh(session, context.box, force=True)
        except ConfigurationError:
            raise  # a configured provider whose adapter does not load stops start-up
        except Exception as exc:  # database not ready yet: /readyz says so, requests retry
            log.warning("providers not loaded at start-up: %s", type(exc).__name__)
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
    app.add_exception_handler(CheckoutNotFound, on_checkout_not_found)
    app.include_router(payments_router)
    app.include_router(refunds_router)
    app.include_router(webhooks_router)
    app.include_router(reports_router)
    app.include_router(reconciliation_router)
    app.include_router(callbacks_router)
    app.include_router(checkout_router)
    app.mount("/static/checkout", StaticFiles(directory=CHECKOUT_STATIC), name="checkout-static")
    app.include_router(health_router)
    mount_backoffice(app)
    app.add_middleware(
        EdgeMiddleware,
        max_body_bytes=context.settings.max_body_bytes,
        local_providers=context.settings.environment != "production",
    )
    return app
