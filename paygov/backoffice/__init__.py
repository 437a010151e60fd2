"""The back office (`/backoffice`): server-rendered pages for finance staff and operators."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from paygov.backoffice.settings import BackofficeSettings


def mount(app: FastAPI, settings: BackofficeSettings | None = None) -> None:
    """Add the pages, their static files and their error pages to a PayGov app."""
    from paygov.backoffice import pages
    from paygov.backoffice.routes import router
    from paygov.kit.errors import PayGovError

    app.state.backoffice = settings or BackofficeSettings()
    app.include_router(router)
    app.mount(
        "/static/backoffice", StaticFiles(directory=pages.STATIC_DIR), name="backoffice-static"
    )
    app.add_exception_handler(pages.SignInRequired, pages.on_sign_in_required)
    app.add_exception_handler(pages.PageDenied, pages.on_denied)
    app.add_exception_handler(PayGovError, pages.on_paygov_error)
