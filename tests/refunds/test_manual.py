"""Finance staff record a `pending_manual` refund (VietQR) they paid back by bank transfer:
`paygov refunds record-manual` (DESIGN.md §4), once, with the ledger, webhook and audit."""

from __future__ import annotations

import json

import httpx
from sqlalchemy import func, select

from paygov.audit import service as audit
from paygov.audit.models import AuditEntry
from paygov.kit.context import Context
from paygov.ledger.models import Journal
from tests.payments_flow.test_attempts import assert_ledger_balanced, read
from tests.refunds.test_refunds import install, paid, payables, refund, webhook_types
from tests.test_cli import one_line_error, paygov


async def written(ctx: Context) -> tuple[int, int]:
    """(audit entries, ledger journals): what a refused command must leave unchanged."""
    async with ctx.db.read() as session:
        entries = await session.scalar(select(func.count()).select_from(AuditEntry))
        journals = await session.scalar(select(func.count()).select_from(Journal))
        return int(entries or 0), int(journals or 0)


async def last_audit(ctx: Context) -> AuditEntry:
    async with ctx.db.read() as session:
        entry = await session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
        assert entry is not None
        return entry


async def manual_refund(ctx: Context, api: httpx.AsyncClient) -> tuple[str, str]:
    """A VietQR-paid order with a 60 000 VND refund waiting for staff: (payment, refund)."""
    bank = install(ctx, manual=True, code="vietqr-demo")
    payment_id = (await paid(ctx, api, bank))["payment_id"]
    created = (await refund(api, payment_id, 60_000, 150_000)).json()
    assert created["status"] == "pending_manual"
    return payment_id, created["refund_id"]


class TestRecordManual:
    async def test_staff_record_a_refund_paid_back_by_hand_once(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        payment_id, refund_id = await manual_refund(ctx, api)
        listed = paygov(ctx, "refunds", "list", "--status", "pending_manual")
        assert listed.returncode == 0, listed.stderr
        assert [r["refund_id"] for r in json.loads(listed.stdout)] == [refund_id]
        before = sum((await payables(ctx)).values())

        done = paygov(
            ctx,
            *("refunds", "record-manual", refund_id),
            *("--bank-reference", "FT26112300731", "--note", "Chuyển khoản hoàn phí"),
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["status"] == "succeeded"

        shown = (await api.get(f"/v1/refunds/{refund_id}")).json()
        assert (shown["status"], shown["provider_refund_id"]) == ("succeeded", "FT26112300731")
        assert (await read(api, payment_id))["refund_summary"]["amount_refunded"] == 60_000
        balances = await assert_ledger_balanced(ctx)
        assert balances["clearing:vietqr-demo"] == 90_000
        assert sum((await payables(ctx)).values()) - before == 60_000
        assert await webhook_types(ctx, refund_id) == ["refund.succeeded"]
        entry = await last_audit(ctx)
        assert (entry.action, entry.subject_id) == ("refund.recorded_manually", refund_id)
        assert entry.actor.startswith("cli:")
        assert entry.details["bank_reference"] == "FT26112300731"
        assert entry.details["note"] == "Chuyển khoản hoàn phí"
        async with ctx.db.read() as session:
            assert (await audit.verify(session)).ok

        count = await written(ctx)
        again = paygov(ctx, "refunds", "record-manual", refund_id, "--bank-reference", "FT2")
        assert "'pending_manual'" in one_line_error(again)
        assert await written(ctx) == count
        assert (await api.get(f"/v1/refunds/{refund_id}")).json()["provider_refund_id"] == (
            "FT26112300731"
        )
        assert await webhook_types(ctx, refund_id) == ["refund.succeeded"]

    async def test_bad_input_is_one_line_and_writes_nothing(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        _, manual_id = await manual_refund(ctx, api)
        bank = install(ctx)  # a provider with a refund API: its refunds are never manual
        other_payment = (await paid(ctx, api, bank))["payment_id"]
        pending_id = (await refund(api, other_payment, 1_000, 150_000)).json()["refund_id"]
        count = await written(ctx)

        cases = {
            ("rfd_01NOSUCHREFUND", "FT1"): "No refund with this id.",
            (pending_id, "FT1"): "It is 'pending'.",
            (manual_id, "   "): "bank reference",
        }
        for (refund_id, reference), expected in cases.items():
            result = paygov(
                ctx, "refunds", "record-manual", refund_id, "--bank-reference", reference
            )
            assert expected in one_line_error(result)
        assert "--bank-reference" in one_line_error(
            paygov(ctx, "refunds", "record-manual", manual_id)
        )
        assert await written(ctx) == count
        assert (await api.get(f"/v1/refunds/{manual_id}")).json()["status"] == "pending_manual"
        assert (await api.get(f"/v1/refunds/{pending_id}")).json()["status"] == "pending"
