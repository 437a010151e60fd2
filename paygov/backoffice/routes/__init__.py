"""The back-office pages under /backoffice (DESIGN.md §11), one module a page. Every route
checks the session, the role's permission and, for a POST, the CSRF token, on the server
(pages.staff_page)."""

from __future__ import annotations

from fastapi import APIRouter

from paygov.backoffice.pages import PREFIX
from paygov.backoffice.routes import (
    agencies,
    approvals,
    audit,
    dashboard,
    payments,
    providers,
    reconciliation,
    reports,
    session,
    users,
    webhooks,
)

router = APIRouter(include_in_schema=False)
for page in (
    session,
    dashboard,
    payments,
    approvals,
    reconciliation,
    reports,
    webhooks,
    providers,
    users,
    agencies,
    audit,
):
    router.include_router(page.router, prefix=PREFIX)
