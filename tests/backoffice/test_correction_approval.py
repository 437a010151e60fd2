"""A manual correction of a reconciliation discrepancy decided in the back office
(paygov/reconciliation/corrections.py): a second finance user approves it after
re-authenticating, the asker cannot, and the approvals page still draws while one waits.
On both databases."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from paygov.kit.context import Context
from paygov.staff.models import StaffApproval
from tests.backoffice.test_correction_page import Desk
from tests.backoffice.test_correction_page import desk as desk  # the two signed-in users
from tests.backoffice.test_walls_and_approvals import reauth
from tests.payments_flow.test_attempts import read
from tests.reconciliation.test_manual_correction import ORPHAN, ask


async def test_a_second_finance_user_approves_a_correction_in_the_back_office(
    ctx: Context, api: httpx.AsyncClient, desk: Desk
) -> None:
    day = desk.day
    asked = await ask(ctx, day.run.id, ORPHAN, day.order)  # what the run page calls
    url = f"/backoffice/approvals/{asked.id}"

    assert (await desk.approver.get("/backoffice/approvals")).status_code == 200
    own = await desk.asker.post(url, data={"csrf": desk.asker_csrf, "decision": "approve"})
    assert own.status_code == 403  # re-authenticated, yet their own request
    approve = {"csrf": desk.approver_csrf, "decision": "approve"}
    not_yet = await desk.approver.post(url, data=approve)
    assert not_yet.headers["location"] == "/backoffice/reauth"
    assert (await read(api, day.order))["status"] == "expired"

    await reauth(desk.approver, ctx, desk.approver_user, "")
    done = await desk.approver.post(url, data=approve)
    assert done.status_code == 303, done.text
    assert "msg=approved" in done.headers["location"]
    paid = await read(api, day.order)
    assert (paid["status"], paid["late"]) == ("succeeded", True)
    async with ctx.db.read() as session:
        approval = await session.scalar(select(StaffApproval).where(StaffApproval.id == asked.id))
    assert approval is not None
    assert approval.status == "approved"
    assert approval.outcome is not None
    again = await desk.approver.post(url, data=approve)
    assert again.status_code == 409
