"""Changes to an agency's beneficiary accounts wait for a second administrator (four eyes),
on both databases."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from paygov.agencies.models import BeneficiaryAccount
from paygov.audit.models import AuditEntry
from paygov.auth import service as auth
from paygov.kit.context import Context
from paygov.staff.models import StaffApproval
from tests.backoffice.conftest import User, create_user, sign_in
from tests.backoffice.test_walls_and_approvals import reauth
from tests.factories import create_agency

FIRST, SECOND, THIRD = "0011001234567@970436", "1903666777888@970407", "0071000888999@970436"


async def accounts(ctx: Context) -> list[tuple[str, bool]]:
    async with ctx.db.read() as session:
        rows = await session.scalars(select(BeneficiaryAccount).order_by(BeneficiaryAccount.id))
        return [(f"{r.account_number}@{r.bank_bin}", r.is_default) for r in rows]


async def default_of(ctx: Context, agency_id: str) -> str | None:
    async with ctx.db.read() as session:
        return (await auth.profile_of(session, agency_id)).default_beneficiary


def approval_ids(html: str) -> list[str]:
    return [part.split('"')[0] for part in html.split('action="/backoffice/approvals/')[1:]]


class Admins:
    """Two administrators, each signed in in their own client."""

    def __init__(self, asker: User, approver: User, csrf: str, csrf2: str) -> None:
        self.asker, self.approver, self.csrf, self.csrf2 = asker, approver, csrf, csrf2


@pytest.fixture
async def admins(
    ctx: Context, browser: httpx.AsyncClient, second_browser: httpx.AsyncClient
) -> Admins:
    asker = await create_user(ctx, "admin", email="a@stc.gov.vn")
    approver = await create_user(ctx, "admin", email="b@stc.gov.vn")
    return Admins(
        asker,
        approver,
        await sign_in(browser, ctx, asker),
        await sign_in(second_browser, ctx, approver),
    )


async def ask(http: httpx.AsyncClient, csrf: str, account: str, default: bool = False) -> None:
    form = {"csrf": csrf, "account": account} | ({"make_default": "1"} if default else {})
    reply = await http.post("/backoffice/agencies/dvc-hcm/beneficiaries", data=form)
    assert reply.status_code == 303, reply.text
    assert reply.headers["location"] == "/backoffice/agencies?msg=change_waiting"


class TestBeneficiaryChanges:
    async def test_new_default_account_applies_only_when_another_admin_approves(
        self,
        ctx: Context,
        browser: httpx.AsyncClient,
        second_browser: httpx.AsyncClient,
        admins: Admins,
    ) -> None:
        agency = await create_agency(ctx, beneficiaries=[FIRST])
        await ask(browser, admins.csrf, SECOND, default=True)
        assert await accounts(ctx) == [(FIRST, True)]  # nothing changed yet
        assert await default_of(ctx, agency.agency.id) == FIRST.split("@")[0]

        own_page = await browser.get("/backoffice/approvals")
        assert SECOND in own_page.text
        assert approval_ids(own_page.text) == []  # the asker gets no buttons
        listing = await second_browser.get("/backoffice/approvals")
        [apr] = approval_ids(listing.text)[:1]
        mine = await browser.post(
            f"/backoffice/approvals/{apr}", data={"csrf": admins.csrf, "decision": "approve"}
        )
        assert mine.status_code == 403
        not_yet = await second_browser.post(
            f"/backoffice/approvals/{apr}", data={"csrf": admins.csrf2, "decision": "approve"}
        )
        assert not_yet.headers["location"] == "/backoffice/reauth"
        assert await accounts(ctx) == [(FIRST, True)]

        await reauth(second_browser, ctx, admins.approver, "")
        done = await second_browser.post(
            f"/backoffice/approvals/{apr}", data={"csrf": admins.csrf2, "decision": "approve"}
        )
        assert "msg=approved_change" in done.headers["location"]
        assert await accounts(ctx) == [(FIRST, False), (SECOND, True)]
        assert await default_of(ctx, agency.agency.id) == SECOND.split("@")[0]
        page = await browser.get("/backoffice/agencies")
        assert SECOND.split("@")[0] in page.text
        async with ctx.db.read() as session:
            actions = list(
                await session.scalars(
                    select(AuditEntry.actor).where(AuditEntry.action == "approval.approved")
                )
            )
        assert actions == ["staff:b@stc.gov.vn"]

    async def test_rejected_change_of_default_leaves_the_accounts_alone(
        self,
        ctx: Context,
        browser: httpx.AsyncClient,
        second_browser: httpx.AsyncClient,
        admins: Admins,
    ) -> None:
        await create_agency(ctx, beneficiaries=[FIRST, SECOND])
        await ask(browser, admins.csrf, SECOND.split("@")[0])  # make the second the default
        listing = await second_browser.get("/backoffice/approvals")
        [apr] = approval_ids(listing.text)[:1]
        rejected = await second_browser.post(
            f"/backoffice/approvals/{apr}", data={"csrf": admins.csrf2, "decision": "reject"}
        )
        assert rejected.headers["location"] == "/backoffice/approvals?msg=rejected"
        assert await accounts(ctx) == [(FIRST, True), (SECOND, False)]
        async with ctx.db.read() as session:
            statuses = list(await session.scalars(select(StaffApproval.status)))
        assert statuses == ["rejected"]

    async def test_stale_request_is_refused_when_the_accounts_changed_meanwhile(
        self,
        ctx: Context,
        browser: httpx.AsyncClient,
        second_browser: httpx.AsyncClient,
        admins: Admins,
    ) -> None:
        await create_agency(ctx, beneficiaries=[FIRST, SECOND])
        await ask(browser, admins.csrf, THIRD)
        await ask(second_browser, admins.csrf2, THIRD, default=True)
        await reauth(browser, ctx, admins.asker, "")
        await reauth(second_browser, ctx, admins.approver, "")
        [first] = approval_ids((await second_browser.get("/backoffice/approvals")).text)[:1]
        [second] = approval_ids((await browser.get("/backoffice/approvals")).text)[:1]
        ok = await second_browser.post(
            f"/backoffice/approvals/{first}", data={"csrf": admins.csrf2, "decision": "approve"}
        )
        assert "msg=approved_change" in ok.headers["location"]
        stale = await browser.post(
            f"/backoffice/approvals/{second}", data={"csrf": admins.csrf, "decision": "approve"}
        )
        assert stale.status_code == 409  # THIRD is there already
        assert await accounts(ctx) == [(FIRST, True), (SECOND, False), (THIRD, False)]

    async def test_a_bad_account_is_refused_before_anyone_is_asked(
        self, ctx: Context, browser: httpx.AsyncClient, admins: Admins
    ) -> None:
        await create_agency(ctx, beneficiaries=[FIRST])
        for account in ("12@970436", FIRST, FIRST.split("@")[0]):  # bad, present, already default
            reply = await browser.post(
                "/backoffice/agencies/dvc-hcm/beneficiaries",
                data={"csrf": admins.csrf, "account": account},
            )
            assert reply.status_code == 422, (account, reply.status_code)
        async with ctx.db.read() as session:
            assert list(await session.scalars(select(StaffApproval))) == []


class TestWallsOfBeneficiaryChanges:
    async def test_finance_may_neither_ask_nor_decide(
        self,
        ctx: Context,
        browser: httpx.AsyncClient,
        second_browser: httpx.AsyncClient,
        admins: Admins,
    ) -> None:
        await create_agency(ctx, beneficiaries=[FIRST])
        finance = await create_user(ctx, "finance")
        csrf = await sign_in(browser, ctx, finance)  # the asker's client now is finance's
        refused = await browser.post(
            "/backoffice/agencies/dvc-hcm/beneficiaries", data={"csrf": csrf, "account": SECOND}
        )
        assert refused.status_code == 403
        await ask(second_browser, admins.csrf2, SECOND)
        listing = await browser.get("/backoffice/approvals")
        assert SECOND.split("@")[0] not in listing.text
        async with ctx.db.read() as session:
            apr = await session.scalar(select(StaffApproval.id))
        decided = await browser.post(
            f"/backoffice/approvals/{apr}", data={"csrf": csrf, "decision": "approve"}
        )
        assert decided.status_code == 403
        assert await accounts(ctx) == [(FIRST, True)]
