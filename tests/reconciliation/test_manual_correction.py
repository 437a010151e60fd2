"""Manual corrections: a statement line's money booked to an order a person names, applied
only when a second person approves (DESIGN.md §10, §11), on both databases."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from paygov.audit.models import AuditEntry
from paygov.backoffice import approvals
from paygov.callbacks.models import InboxEntry
from paygov.kit.context import Context
from paygov.kit.errors import Forbidden
from paygov.ledger import repository as ledger
from paygov.ledger.models import Journal
from paygov.payments.models import Attempt, Payment, PaymentEvent
from paygov.payments.service import PaymentNotFound
from paygov.reconciliation import corrections, repository, service
from paygov.reconciliation.models import ReconItem, ReconRun, Resolution
from paygov.staff.models import StaffApproval
from paygov.webhooks.models import WebhookEvent
from tests.factories import AgencyKeys, create_agency, payment_body, staff_token
from tests.payments_flow.test_attempts import new_payment, read, start, tell
from tests.reconciliation import camt
from tests.reconciliation.camt import Entry, Tx, credit
from tests.reconciliation.test_cli import PROVIDER, today
from tests.reconciliation.test_reconcile import (
    CODE,
    DAY,
    at,
    attempt_id,
    install,
    local,
    opened,
    paid,
    reconcile,
)
from tests.test_cli import one_line_error, paygov

ASKER, APPROVER = "finance@stc.gov.vn", "ke-toan-2@stc.gov.vn"
ORPHAN, OPEN_MISMATCH, PAID_MISMATCH, UNRELATED, FEE, CORRECTED = 1, 2, 3, 4, 5, 6


@dataclass
class Day:
    """DAY planted with a discrepancy of each kind a correction meets; items are numbered
    by their lines."""

    run: ReconRun
    path: Path
    order: str  # 25 000 VND, never attempted: the orphan line's money is its payment
    mismatched: str  # 60 000 VND with an open attempt the 59 000 line names
    other: str  # 59 000 VND: what the citizen really paid for
    paid_order: str  # paid 70 000 VND; the statement says 69 000
    tokens: dict[str, dict[str, str]] = field(default_factory=dict)  # email: staff token header


async def plant(ctx: Context, api: httpx.AsyncClient, tmp_path: Path) -> Day:
    bank = install(ctx)
    at(ctx, local(DAY, 9))
    order = (await new_payment(api, amount=25_000, reference="HS-25"))["payment_id"]
    mismatched_ref = await opened(ctx, api, bank, 60_000)
    other = (await new_payment(api, amount=59_000, reference="HS-59"))["payment_id"]
    paid_ref = await paid(ctx, api, bank, 70_000)
    corrected_ref = await opened(ctx, api, bank, 30_000)
    morning = local(DAY, 10)
    path = camt.write(
        tmp_path / "day.xml",
        [
            credit(morning, 25_000, "PGZZZZZZZZZZZZZZ", bank_ref="M1"),
            credit(morning, 59_000, mismatched_ref, bank_ref="M2"),
            credit(morning, 69_000, paid_ref, bank_ref="M3"),
            credit(morning, 12_345, None, bank_ref="M4", memo="chuyen tien HS 25 nguyen van a"),
            Entry(morning, [Tx(5_500, bank_ref="M5", debit=True)], charge=True),
            credit(morning, 30_000, corrected_ref, bank_ref="M6"),
        ],
    )
    at(ctx, local(DAY + timedelta(days=1), 1, 30))
    run = await reconcile(ctx, path)
    return Day(
        run,
        path,
        order,
        await payment_of(ctx, mismatched_ref),
        other,
        await payment_of(ctx, paid_ref),
    )


async def payment_of(ctx: Context, txn_ref: str) -> str:
    async with ctx.db.read() as session:
        found = await session.scalar(select(Attempt.payment_id).where(Attempt.txn_ref == txn_ref))
    assert found is not None
    return str(found)


@pytest.fixture
async def day(ctx: Context, api: httpx.AsyncClient, tmp_path: Path) -> Day:
    planted = await plant(ctx, api, tmp_path)
    for email in (ASKER, APPROVER):
        planted.tokens[email] = await staff_token(ctx, role="finance", email=email)
    at(ctx, local(DAY + timedelta(days=1), 9))  # the morning after: finance at work
    return planted


async def ask(
    ctx: Context, run_id: str, item_id: int, payment_id: str, by: str = ASKER, reason: str = ""
) -> StaffApproval:
    async with ctx.db.transaction() as session:
        staff = await corrections.staff_by_email(session, by)
        return await corrections.request_correction(
            session,
            ctx,
            staff,
            run_id=run_id,
            item_id=item_id,
            payment_id=payment_id,
            reason=reason,
            via="test",
        )


async def decide(
    ctx: Context, approval_id: str, by: str = APPROVER, approve: bool = True
) -> StaffApproval:
    async with ctx.db.transaction() as session:
        staff = await corrections.staff_by_email(session, by)
        return await corrections.decide_correction(
            session, ctx, staff, approval_id, approve=approve
        )


async def counts(ctx: Context) -> dict[str, Any]:
    """What a correction writes, to show a refusal wrote nothing."""
    async with ctx.db.read() as session:

        async def n(model: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

        statuses = dict((await session.execute(select(Payment.id, Payment.status))).all())
        pending = await session.scalar(
            select(func.count()).where(StaffApproval.status == "pending")
        )
        return {
            "inbox": await n(InboxEntry),
            "attempts": await n(Attempt),
            "journals": await n(Journal),
            "webhooks": await n(WebhookEvent),
            "events": await n(PaymentEvent),
            "resolutions": await n(Resolution),
            "audit": await n(AuditEntry),
            "pending": pending,
            "statuses": statuses,
        }


async def classes(ctx: Context, run_id: str) -> tuple[list[tuple[Any, ...]], dict[str, Any]]:
    """The run's items (item, class, line, attempt) and its counts per class."""
    async with ctx.db.read() as session:
        run = await session.get(ReconRun, run_id)
        assert run is not None
        rows = await session.execute(
            select(ReconItem.item_no, ReconItem.cls, ReconItem.line_no, ReconItem.attempt_id)
            .where(ReconItem.run_id == run_id)
            .order_by(ReconItem.item_no)
        )
        return [tuple(row) for row in rows.all()], run.counts


async def discrepancy(ctx: Context, run_id: str, item_id: int) -> dict[str, Any]:
    async with ctx.db.read() as session:
        run = await service.get_run(session, run_id)
        row = await repository.discrepancy(session, run, item_id)
    assert row is not None
    return dict(zip(repository.DISCREPANCY_COLUMNS, row, strict=True))


async def audit_of(ctx: Context, action: str) -> list[AuditEntry]:
    async with ctx.db.read() as session:
        return list(
            await session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )


async def webhooks_of(ctx: Context, payment_id: str) -> list[str]:
    async with ctx.db.read() as session:
        return list(
            await session.scalars(
                select(WebhookEvent.type).where(WebhookEvent.subject_id == payment_id)
            )
        )


class TestFourEyes:
    async def test_a_second_person_books_the_line_once(
        self, ctx: Context, api: httpx.AsyncClient, day: Day, agency: AgencyKeys
    ) -> None:
        before = await counts(ctx)
        asked = await ask(ctx, day.run.id, ORPHAN, day.order, reason="Người nộp gõ sai mã")
        assert asked.status == "pending"
        assert asked.amount == 25_000
        assert asked.payload["effect"] == "payment"
        # Asking changes nothing but the request and its audit entry.
        after_ask = await counts(ctx)
        assert after_ask == {**before, "audit": before["audit"] + 1, "pending": 1}
        assert (await read(api, day.order))["status"] == "expired"

        approved = await decide(ctx, asked.id)
        assert approved.status == "approved"
        txn_ref = approved.outcome
        assert txn_ref is not None

        payment = await read(api, day.order)
        assert payment["status"] == "succeeded"
        assert payment["provider"] == CODE
        assert payment["late"] is True  # its 15 minutes were long over: money still counts
        assert payment["paid_at"] == "2026-11-20T03:00:00.000Z"  # the bank's booking time
        async with ctx.db.read() as session:
            attempt = await session.scalar(select(Attempt).where(Attempt.txn_ref == txn_ref))
            assert attempt is not None
            assert (attempt.status, attempt.amount, attempt.provider) == ("succeeded", 25_000, CODE)
            assert attempt.succeeded_via == "reconciliation"
            assert attempt.next_poll_at is None
            assert await ledger.unbalanced_journals(session) == []
            postings = await ledger.postings_of(session, day.order)
            inbox = list(
                await session.scalars(
                    select(InboxEntry.dedupe_key).where(InboxEntry.txn_ref == txn_ref)
                )
            )
        assert sorted(postings) == [
            ("payment", f"clearing:{CODE}", 25_000),
            ("payment", f"payable:{agency.agency.id}:0011001234567", -25_000),
        ]
        assert inbox == ["statement-manual:2026-11-20:line:M1"]
        assert await webhooks_of(ctx, day.order) == ["payment.succeeded"]

        found = await discrepancy(ctx, day.run.id, ORPHAN)
        assert found["class"] == "missing_at_paygov"
        assert found["resolved_by"] == f"staff:{APPROVER}"
        assert asked.id in found["resolution"]
        assert day.order in found["resolution"]
        assert f"asked by {ASKER}" in found["resolution"]
        assert "Người nộp gõ sai mã" in found["resolution"]

        [requested] = await audit_of(ctx, "approval.requested")
        [approval] = await audit_of(ctx, "approval.approved")
        [corrected] = await audit_of(ctx, "reconciliation.manually_corrected")
        assert requested.actor == f"staff:{ASKER}"
        assert approval.actor == corrected.actor == f"staff:{APPROVER}"
        assert (corrected.subject_type, corrected.subject_id) == ("payment", day.order)
        assert corrected.details["requested_by"] == ASKER
        assert corrected.details["txn_ref"] == txn_ref

        with pytest.raises(approvals.ApprovalDecided):
            await decide(ctx, asked.id, by=ASKER)  # nor may anyone approve it again
        assert await webhooks_of(ctx, day.order) == ["payment.succeeded"]

    async def test_the_asker_cannot_approve_their_own_request(self, ctx: Context, day: Day) -> None:
        asked = await ask(ctx, day.run.id, ORPHAN, day.order)
        before = await counts(ctx)
        with pytest.raises(approvals.OwnApproval):
            await decide(ctx, asked.id, by=ASKER)
        assert await counts(ctx) == before

    async def test_a_rejected_request_books_nothing_and_cannot_be_approved(
        self, ctx: Context, day: Day
    ) -> None:
        asked = await ask(ctx, day.run.id, ORPHAN, day.order)
        before = await counts(ctx)
        rejected = await decide(ctx, asked.id, approve=False)
        assert rejected.status == "rejected"
        after = await counts(ctx)
        assert after == {**before, "audit": before["audit"] + 1, "pending": 0}
        with pytest.raises(approvals.ApprovalDecided):
            await decide(ctx, asked.id)
        assert (await discrepancy(ctx, day.run.id, ORPHAN))["resolution"] is None

    async def test_roles_without_the_resolve_permission_may_neither_ask_nor_decide(
        self, ctx: Context, day: Day
    ) -> None:
        await staff_token(ctx, role="viewer", email="viewer@stc.gov.vn")
        await create_agency(ctx, code="dvc-hn", name="Cổng DVC Hà Nội")
        await staff_token(ctx, role="agency_finance", email="hn@stc.gov.vn", agency="dvc-hn")
        await staff_token(ctx, role="agency_finance", email="hcm@stc.gov.vn", agency="dvc-hcm")
        with pytest.raises(Forbidden):
            await ask(ctx, day.run.id, ORPHAN, day.order, by="viewer@stc.gov.vn")
        with pytest.raises(Forbidden):
            await ask(ctx, day.run.id, ORPHAN, day.order, by="hcm@stc.gov.vn")
        asked = await ask(ctx, day.run.id, ORPHAN, day.order)
        before = await counts(ctx)
        with pytest.raises(Forbidden):
            await decide(ctx, asked.id, by="viewer@stc.gov.vn")
        with pytest.raises(Forbidden):  # the order's own agency: still not a finance role
            await decide(ctx, asked.id, by="hcm@stc.gov.vn")
        with pytest.raises(approvals.ApprovalNotFound):  # another agency's: not even seen
            await decide(ctx, asked.id, by="hn@stc.gov.vn")
        assert await counts(ctx) == before


class TestStaleRequests:
    async def test_a_discrepancy_resolved_meanwhile_is_refused(
        self, ctx: Context, api: httpx.AsyncClient, day: Day
    ) -> None:
        asked = await ask(ctx, day.run.id, ORPHAN, day.order)
        async with ctx.db.transaction() as session:
            run = await service.get_run(session, day.run.id)
            await service.resolve(session, ctx, run, ORPHAN, "Tiền lãi, không phải lệ phí", "x")
        before = await counts(ctx)
        with pytest.raises(corrections.CorrectionStale) as stale:
            await decide(ctx, asked.id)
        assert "resolved meanwhile" in str(stale.value)
        assert "Tiền lãi" in str(stale.value)
        assert await counts(ctx) == before
        assert (await read(api, day.order))["status"] == "expired"

    async def test_an_order_paid_meanwhile_is_refused(
        self, ctx: Context, api: httpx.AsyncClient, day: Day
    ) -> None:
        asked = await ask(ctx, day.run.id, ORPHAN, day.order)
        bank = ctx.providers.get(CODE)
        async with ctx.db.transaction() as session:  # the citizen's own payment comes in
            payment = await session.get(Payment, day.order)
            assert payment is not None
            payment.expires_at = ctx.clock.now() + timedelta(hours=1)
        await tell(ctx, bank, await start(ctx, day.order, bank), amount=25_000)
        before = await counts(ctx)
        with pytest.raises(corrections.CorrectionStale) as stale:
            await decide(ctx, asked.id)
        assert "overpayment" in str(stale.value)
        assert await counts(ctx) == before

    async def test_a_rerun_of_the_day_before_approval_does_not_make_the_request_stale(
        self, ctx: Context, api: httpx.AsyncClient, day: Day
    ) -> None:
        asked = await ask(ctx, day.run.id, ORPHAN, day.order)
        rerun = await reconcile(ctx, day.path)
        await decide(ctx, asked.id)
        assert (await read(api, day.order))["status"] == "succeeded"
        assert asked.id in (await discrepancy(ctx, rerun.id, ORPHAN))["resolution"]


class TestReruns:
    async def test_reruns_neither_undo_nor_repeat_a_correction(
        self, ctx: Context, api: httpx.AsyncClient, day: Day
    ) -> None:
        approved = await decide(ctx, (await ask(ctx, day.run.id, ORPHAN, day.order)).id)
        before = await classes(ctx, day.run.id)
        payment = await read(api, day.order)

        rerun = await reconcile(ctx, day.path)
        again = await reconcile(ctx, day.path)
        assert await classes(ctx, rerun.id) == await classes(ctx, again.id) == before
        assert asked_in(await discrepancy(ctx, again.id, ORPHAN), approved.id)
        assert await read(api, day.order) == payment  # same version: nothing happened
        assert await webhooks_of(ctx, day.order) == ["payment.succeeded"]
        assert len(await audit_of(ctx, "reconciliation.manually_corrected")) == 1
        async with ctx.db.read() as session:
            assert (
                await session.scalar(
                    select(func.count()).where(InboxEntry.dedupe_key.like("statement-manual:%"))
                )
                == 1
            )

        # The day the money was booked: PayGov has a success no line of that day names
        # (the line is on DAY's statement). It is a discrepancy, resolved already.
        at(ctx, local(DAY + timedelta(days=2), 1, 30))
        booked_day = await reconcile(
            ctx, camt.write(day.path.parent / "e.xml", []), DAY + timedelta(days=1)
        )
        manual = await attempt_id(ctx, str(approved.outcome))
        assert (await classes(ctx, booked_day.id))[0] == [(1, "missing_at_bank", None, manual)]
        found = await discrepancy(ctx, booked_day.id, 1)
        assert asked_in(found, approved.id)
        assert found["corrected"]

    async def test_booked_in_the_last_hour_it_is_resolved_on_the_day_after_too(
        self, ctx: Context, day: Day
    ) -> None:
        at(ctx, local(DAY + timedelta(days=1), 23, 30))
        approved = await decide(ctx, (await ask(ctx, day.run.id, ORPHAN, day.order)).id)
        manual = await attempt_id(ctx, str(approved.outcome))
        at(ctx, local(DAY + timedelta(days=3), 1, 30))
        empty = camt.write(day.path.parent / "e.xml", [])
        held = await reconcile(ctx, empty, DAY + timedelta(days=1))
        assert (await classes(ctx, held.id))[0] == [(1, "held", None, manual)]
        after = await reconcile(ctx, empty, DAY + timedelta(days=2))
        assert (await classes(ctx, after.id))[0] == [(1, "missing_at_bank", None, manual)]
        assert asked_in(await discrepancy(ctx, after.id, 1), approved.id)


def asked_in(found: dict[str, Any], approval_id: str) -> bool:
    return found["resolution"] is not None and approval_id in found["resolution"]


class TestWhatCanBeBooked:
    async def test_an_amount_mismatch_is_booked_to_the_order_it_pays(
        self, ctx: Context, api: httpx.AsyncClient, day: Day
    ) -> None:
        approved = await decide(ctx, (await ask(ctx, day.run.id, OPEN_MISMATCH, day.other)).id)
        assert (await read(api, day.other))["status"] == "succeeded"
        # The order the line's reference names keeps its own (open) attempt and status.
        assert (await read(api, day.mismatched))["status"] == "expired"
        assert approved.outcome is not None

    async def test_an_unrelated_credit_is_booked(
        self, ctx: Context, api: httpx.AsyncClient, day: Day
    ) -> None:
        order = (await new_payment(api, amount=12_345))["payment_id"]
        await decide(ctx, (await ask(ctx, day.run.id, UNRELATED, order)).id)
        assert (await read(api, order))["status"] == "succeeded"

    async def test_money_for_a_paid_order_is_an_overpayment(
        self, ctx: Context, api: httpx.AsyncClient, day: Day, agency: AgencyKeys
    ) -> None:
        asked = await ask(ctx, day.run.id, ORPHAN, day.paid_order)
        assert asked.payload["effect"] == "overpayment"
        await decide(ctx, asked.id)
        payment = await read(api, day.paid_order)
        assert payment["status"] == "succeeded"
        assert payment["refund_summary"]["amount_overpaid"] == 25_000
        assert payment["refund_summary"]["amount_available"] == 70_000 + 25_000
        assert await webhooks_of(ctx, day.paid_order) == ["payment.succeeded", "payment.overpaid"]
        async with ctx.db.read() as session:
            balances = await ledger.balances(session)
            assert await ledger.unbalanced_journals(session) == []
        assert balances[f"overpaid:{agency.agency.id}"] == -25_000

    @pytest.mark.parametrize(
        ("item", "refusal"),
        [
            (PAID_MISMATCH, "already recorded this transfer"),
            (FEE, "not a fee, debit or reversal"),
            (CORRECTED, "booked this line itself"),
        ],
    )
    async def test_lines_that_are_not_missing_money_are_refused(
        self, ctx: Context, day: Day, item: int, refusal: str
    ) -> None:
        before = await counts(ctx)
        with pytest.raises(corrections.DiscrepancyNotCorrectable) as refused:
            await ask(ctx, day.run.id, item, day.order)
        assert refusal in str(refused.value)
        assert await counts(ctx) == before

    async def test_an_unpaid_order_is_paid_only_by_its_full_amount(
        self, ctx: Context, day: Day
    ) -> None:
        with pytest.raises(corrections.CorrectionAmountMismatch) as refused:
            await ask(ctx, day.run.id, OPEN_MISMATCH, day.mismatched)
        assert "59000 VND is not the 60000 VND" in str(refused.value)

    async def test_a_live_order_never_takes_test_money(
        self, ctx: Context, client: httpx.AsyncClient, day: Day
    ) -> None:
        live = await create_agency(ctx, code="dvc-live", mode="live")
        created = await client.post(
            "/v1/payments", json=payment_body(amount=25_000), headers=live.auth
        )
        assert created.status_code == 201, created.text
        with pytest.raises(corrections.CorrectionPaymentRefused):
            await ask(ctx, day.run.id, ORPHAN, created.json()["payment_id"])

    async def test_unknown_things_and_second_requests_are_refused(
        self, ctx: Context, day: Day
    ) -> None:
        with pytest.raises(PaymentNotFound):
            await ask(ctx, day.run.id, ORPHAN, "pay_01JDQ5Z6R4N7X2K9W3B8C5V1TM")
        with pytest.raises(service.DiscrepancyNotFound):
            await ask(ctx, day.run.id, 99, day.order)
        with pytest.raises(service.RunNotFound):
            await ask(ctx, "rec_nope", ORPHAN, day.order)
        await ask(ctx, day.run.id, ORPHAN, day.order)
        with pytest.raises(approvals.ApprovalPending):
            await ask(ctx, day.run.id, ORPHAN, day.paid_order)
        async with ctx.db.transaction() as session:
            run = await service.get_run(session, day.run.id)
            await service.resolve(session, ctx, run, UNRELATED, "Lãi tiền gửi", "x")
        with pytest.raises(service.AlreadyResolved):
            await ask(ctx, day.run.id, UNRELATED, day.order)
        superseded = day.run.id
        await reconcile(ctx, day.path)
        with pytest.raises(corrections.CorrectionStale):
            await ask(ctx, superseded, UNRELATED, day.order)


class TestFinanceApi:
    async def test_ask_list_and_approve_over_http(
        self, ctx: Context, client: httpx.AsyncClient, day: Day
    ) -> None:
        asker, approver = day.tokens[ASKER], day.tokens[APPROVER]
        viewer = await staff_token(ctx, role="viewer")
        agency_staff = await staff_token(ctx, role="agency_finance", agency="dvc-hcm")
        base = "/v1/finance/reconciliation"
        url = f"{base}/runs/{day.run.id}/discrepancies/{ORPHAN}/correct"
        body = {"payment_id": day.order, "reason": "Biên lai của người nộp"}

        for who in (viewer, agency_staff):
            refused = await client.post(url, json=body, headers=who)
            assert refused.status_code == 403, refused.text
        asked = await client.post(url, json=body, headers=asker)
        assert asked.status_code == 202, asked.text
        request = asked.json()
        assert request["status"] == "pending"
        assert (request["class"], request["amount"], request["effect"]) == (
            "missing_at_paygov",
            25_000,
            "payment",
        )
        assert (request["requested_by"], request["txn_ref"]) == (ASKER, None)
        approval_id = request["approval_id"]

        listed = await client.get(f"{base}/approvals", headers=viewer)
        assert [item["approval_id"] for item in listed.json()["items"]] == [approval_id]

        decide = f"{base}/approvals/{approval_id}/approve"
        own = await client.post(decide, headers=asker)
        assert (own.status_code, own.json()["error"]["code"]) == (403, "own_approval")
        for who in (viewer, agency_staff):
            assert (await client.post(decide, headers=who)).status_code == 403
        before = await counts(ctx)
        assert before["statuses"][day.order] == "created"

        approved = await client.post(decide, headers=approver)
        assert approved.status_code == 200, approved.text
        done = approved.json()
        assert (done["status"], done["decided_by"]) == ("approved", APPROVER)
        assert done["txn_ref"] is not None
        assert (await counts(ctx))["statuses"][day.order] == "succeeded"
        again = await client.post(decide, headers=approver)
        assert (again.status_code, again.json()["error"]["code"]) == (
            409,
            "approval_already_decided",
        )
        rejected = await client.post(f"{base}/approvals/{approval_id}/reject", headers=approver)
        assert rejected.status_code == 409
        pending = await client.get(f"{base}/approvals", headers=viewer)
        assert pending.json()["items"] == []
        everything = await client.get(f"{base}/approvals?status=all", headers=viewer)
        assert [item["status"] for item in everything.json()["items"]] == ["approved"]

    async def test_bad_requests_are_4xx_and_write_nothing(
        self, ctx: Context, client: httpx.AsyncClient, day: Day
    ) -> None:
        asker, approver = day.tokens[ASKER], day.tokens[APPROVER]
        base = "/v1/finance/reconciliation"
        url = f"{base}/runs/{day.run.id}/discrepancies/{{item}}/correct"
        before = await counts(ctx)
        cases = [
            (ORPHAN, {"payment_id": "pay bad\u0000"}, 422, "validation_error"),
            (ORPHAN, {"payment_id": day.order, "amount": 1}, 422, "validation_error"),
            (ORPHAN, {"payment_id": "pay_01JDQ5Z6R4N7X2K9W3B8C5V1TM"}, 404, "payment_not_found"),
            (99, {"payment_id": day.order}, 404, "discrepancy_not_found"),
            (FEE, {"payment_id": day.order}, 409, "discrepancy_not_correctable"),
            (OPEN_MISMATCH, {"payment_id": day.mismatched}, 409, "correction_amount_mismatch"),
        ]
        for item, body, status, code in cases:
            reply = await client.post(url.format(item=item), json=body, headers=asker)
            assert reply.status_code == status, (item, body, reply.text)
            if status != 422:
                assert reply.json()["error"]["code"] == code
        unknown = await client.post(f"{base}/approvals/apr_nope/approve", headers=approver)
        assert (unknown.status_code, unknown.json()["error"]["code"]) == (
            404,
            "approval_not_found",
        )
        assert (
            await client.post(f"{base}/approvals/a%00b/approve", headers=approver)
        ).status_code == 422
        assert await counts(ctx) == before
        # Only corrections are decided here: a refund waits for the back office's re-check.
        async with ctx.db.transaction() as session:
            staff = await corrections.staff_by_email(session, ASKER)
            paid_order = await session.get(Payment, day.paid_order)
            assert paid_order is not None
            refund = await approvals.record_request(
                session,
                ctx,
                staff,
                kind="refund",
                agency_id=paid_order.agency_id,
                subject_id=paid_order.id,
                amount=70_000,
                payload={"reason": "hoàn tiền"},
            )
        before = await counts(ctx)
        not_here = await client.post(f"{base}/approvals/{refund.id}/approve", headers=approver)
        assert not_here.status_code == 404
        assert await counts(ctx) == before


class TestCommandLine:
    async def test_ask_and_approve_with_one_line_errors(
        self, sandbox_providers: Context, api: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        ctx = sandbox_providers
        order = (await new_payment(api, amount=45_000))["payment_id"]
        path = camt.write(
            tmp_path / "s.xml",
            [credit(datetime.now(UTC), 45_000, "PGQQQQQQQQQQQQQQ", bank_ref="C1")],
        )
        run = await service.reconcile(
            ctx, provider_code=PROVIDER, day=date.fromisoformat(today()), actor="t", path=path
        )
        for email in (ASKER, APPROVER):
            await staff_token(ctx, role="finance", email=email)
        correct = ["reconciliation", "correct", run.id, "1", "--payment", order, "--by"]

        assert "'x' is not an item number of a run" in one_line_error(
            paygov(ctx, "reconciliation", "correct", run.id, "x", "--payment", order, "--by", ASKER)
        )
        nobody = one_line_error(paygov(ctx, *correct, "nobody@stc.gov.vn"))
        assert nobody == "paygov: No staff user 'nobody@stc.gov.vn'."
        no_run = paygov(ctx, *correct[:2], "rec_nope", *correct[3:], ASKER)
        assert one_line_error(no_run) == "paygov: No reconciliation run with this id."
        no_payment = paygov(ctx, *correct[:5], "pay_nope", "--by", ASKER)
        assert one_line_error(no_payment) == "paygov: No payment with this id."
        async with ctx.db.read() as session:
            assert await session.scalar(select(func.count()).select_from(StaffApproval)) == 0

        asked = paygov(ctx, *correct, ASKER, "--reason", "Khách ghi sai nội dung")
        assert asked.returncode == 0, asked.stderr
        approval_id = json.loads(asked.stdout)["approval_id"]
        own = paygov(ctx, "reconciliation", "approve", approval_id, "--by", ASKER)
        assert one_line_error(own) == "paygov: A second person must approve what you asked for."
        approved = paygov(ctx, "reconciliation", "approve", approval_id, "--by", APPROVER)
        assert approved.returncode == 0, approved.stderr
        assert json.loads(approved.stdout)["status"] == "approved"
        assert (await read(api, order))["status"] == "succeeded"
        again = paygov(ctx, "reconciliation", "approve", approval_id, "--by", APPROVER)
        assert one_line_error(again) == f"paygov: Request {approval_id} was already approved."
        [entry] = await audit_of(ctx, "approval.approved")
        assert entry.actor == f"staff:{APPROVER}"
        assert str(entry.details["via"]).startswith("cli:")
        assert paygov(ctx, "audit", "verify").returncode == 0
