"""A manual correction of a reconciliation discrepancy decided in the back office
(paygov/reconciliation/corrections.py): a second finance user approves it after
re-authenticating, the asker cannot, and the approvals page still draws while one waits.
On both databases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from paygov.kit.context import Context
from paygov.staff.models import StaffApproval
from tests.backoffice.conftest import create_user, sign_in
from tests.backoffice.test_walls_and_approvals import reauth
from tests.payments_flow.test_attempts import read
from tests.reconciliation.test_manual_correction import APPROVER, ASKER, ORPHAN, ask, plant
from tests.reconciliation.test_reconcile import DAY, at, local


async def test_a_second_finance_user_approves_a_correction_in_the_back_office(
    ctx: Context,
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    second_browser: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    day = await plant(ctx, api, tmp_path)
    asker = await create_user(ctx, "finance", email=ASKER)
    approver = await create_user(ctx, "finance", email=APPROVER)
    at(ctx, local(DAY + timedelta(days=1), 9))
    asker_csrf = await sign_in(browser, ctx, asker)
    approver_csrf = await sign_in(second_browser, ctx, approver)
    asked = await ask(ctx, day.run.id, ORPHAN, day.order)  # what the run page will call
    url = f"/backoffice/approvals/{asked.id}"

    assert (await second_browser.get("/backoffice/approvals")).status_code == 200
    await reauth(browser, ctx, asker, "")
    own = await browser.post(url, data={"csrf": asker_csrf, "decision": "approve"})
    assert own.status_code == 403
    not_yet = await second_browser.post(url, data={"csrf": approver_csrf, "decision": "approve"})
    assert not_yet.headers["location"] == "/backoffice/reauth"
    assert (await read(api, day.order))["status"] == "expired"

    await reauth(second_browser, ctx, approver, "")
    done = await second_browser.post(url, data={"csrf": approver_csrf, "decision": "approve"})
    assert done.status_code == 303, done.text
    assert "msg=approved" in done.headers["location"]
    paid = await read(api, day.order)
    assert (paid["status"], paid["late"]) == ("succeeded", True)
    async with ctx.db.read() as session:
        approval = await session.scalar(select(StaffApproval).where(StaffApproval.id == asked.id))
    assert approval is not None
    assert approval.status == "approved"
    assert approval.outcome is not None
    again = await second_browser.post(url, data={"csrf": approver_csrf, "decision": "approve"})
    assert again.status_code == 409
