"""A refund reaches its provider's money once: one sent before is looked up, never blindly
sent again (DESIGN.md §9), and a refund in doubt holds back the payment's other refunds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from bank_adapters.base import RefundResult
from paygov.kit.context import Context
from paygov.ledger.models import Journal
from paygov.providers.live import LiveProvider
from paygov.refunds.processing import process_refunds
from tests.payments_flow.test_attempts import assert_ledger_balanced
from tests.refunds.test_refunds import install, paid, refund, webhook_types


async def status_of(api: httpx.AsyncClient, refund_id: str) -> dict[str, Any]:
    return dict((await api.get(f"/v1/refunds/{refund_id}")).json())


async def refund_journals(ctx: Context) -> list[str]:
    async with ctx.db.read() as session:
        rows = await session.scalars(select(Journal.reference).where(Journal.kind == "refund"))
        return list(rows)


async def in_doubt(ctx: Context, api: httpx.AsyncClient) -> tuple[LiveProvider, str]:
    """A refund sent once whose answer was lost (the bank may or may not have refunded)."""
    bank = install(ctx)
    payment = await paid(ctx, api, bank)
    created = (await refund(api, payment["payment_id"], 150_000, 150_000)).json()
    bank.adapter.refund.side_effect = TimeoutError()
    assert await process_refunds(ctx) == 1
    assert (await status_of(api, created["refund_id"]))["status"] == "pending"
    assert await process_refunds(ctx) == 0  # not due again yet
    bank.adapter.refund.side_effect = None
    ctx.clock.advance(timedelta(minutes=2))
    return bank, created["refund_id"]


class TestLookupBeforeResend:
    async def test_a_refund_the_bank_made_is_recorded_without_a_second_send(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank, refund_id = await in_doubt(ctx, api)
        bank.adapter.query_refund.return_value = RefundResult("unknown")
        assert await process_refunds(ctx) == 1  # the bank cannot tell yet: ask again later
        assert (await status_of(api, refund_id))["status"] == "pending"

        bank.adapter.query_refund.return_value = RefundResult("succeeded", provider_refund_id="R-9")
        ctx.clock.advance(timedelta(minutes=2))
        assert await process_refunds(ctx) == 1

        done = await status_of(api, refund_id)
        assert (done["status"], done["provider_refund_id"]) == ("succeeded", "R-9")
        assert bank.adapter.refund.await_count == 1
        assert bank.adapter.query_refund.await_count == 2
        assert await refund_journals(ctx) == [refund_id]
        assert await webhook_types(ctx, refund_id) == ["refund.succeeded"]
        await assert_ledger_balanced(ctx)

    async def test_a_refund_the_bank_never_got_is_sent_again(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank, refund_id = await in_doubt(ctx, api)
        bank.adapter.query_refund.return_value = RefundResult("not_found")
        bank.adapter.refund.return_value = RefundResult("succeeded", provider_refund_id="R-2")
        assert await process_refunds(ctx) == 1

        assert (await status_of(api, refund_id))["status"] == "succeeded"
        assert bank.adapter.refund.await_count == 2
        first, second = (call.args[0] for call in bank.adapter.refund.await_args_list)
        assert first.refund_id == second.refund_id == refund_id
        assert await refund_journals(ctx) == [refund_id]
        assert await webhook_types(ctx, refund_id) == ["refund.succeeded"]

    @pytest.mark.parametrize(
        ("answer", "status"),
        [
            (RefundResult("failed", message="09: refused"), "failed"),
            (RefundResult("unknown"), "pending"),
        ],
    )
    async def test_other_lookups_send_nothing(
        self, ctx: Context, api: httpx.AsyncClient, answer: RefundResult, status: str
    ) -> None:
        bank, refund_id = await in_doubt(ctx, api)
        bank.adapter.query_refund.return_value = answer
        assert await process_refunds(ctx) == 1
        assert (await status_of(api, refund_id))["status"] == status
        assert bank.adapter.refund.await_count == 1

    async def test_each_send_is_in_the_payments_history_before_the_call(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank, refund_id = await in_doubt(ctx, api)
        request = bank.adapter.refund.await_args.args[0]
        payment_id = (await status_of(api, refund_id))["payment_id"]
        events = (await api.get(f"/v1/payments/{payment_id}/events")).json()["items"]
        sent = [e["data"] for e in events if e["type"] == "payment.refund_sent"]
        assert sent == [{"refund_id": refund_id, "amount": 150_000}]
        assert request.refund_id == refund_id


class TestOneRefundInDoubtAtATime:
    async def test_a_refund_in_doubt_holds_back_the_payments_others(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = install(ctx)
        pid = (await paid(ctx, api, bank))["payment_id"]
        first = (await refund(api, pid, 50_000, 150_000)).json()["refund_id"]
        ctx.clock.advance(timedelta(seconds=1))  # due after the first
        second = (await refund(api, pid, 30_000, 100_000)).json()["refund_id"]
        bank.adapter.refund.side_effect = TimeoutError()
        assert await process_refunds(ctx) == 2
        [sent] = [call.args[0].refund_id for call in bank.adapter.refund.await_args_list]
        assert sent == first  # the second waits while the bank may hold the first

        bank.adapter.refund.side_effect = None
        bank.adapter.refund.return_value = RefundResult("succeeded", provider_refund_id="R-2")
        bank.adapter.query_refund.return_value = RefundResult("succeeded", provider_refund_id="R-1")
        for _ in range(2):
            ctx.clock.advance(timedelta(minutes=2))
            await process_refunds(ctx)

        assert (await status_of(api, first))["provider_refund_id"] == "R-1"
        assert (await status_of(api, second))["provider_refund_id"] == "R-2"
        assert [c.args[0].refund_id for c in bank.adapter.refund.await_args_list] == [
            first,
            second,
        ]
        assert sorted(await refund_journals(ctx)) == sorted([first, second])

    async def test_a_lookup_knows_the_payments_recorded_refunds(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = install(ctx)
        pid = (await paid(ctx, api, bank))["payment_id"]
        await refund(api, pid, 50_000, 150_000)
        bank.adapter.refund.return_value = RefundResult("succeeded", provider_refund_id="R-1")
        assert await process_refunds(ctx) == 1
        later = (await refund(api, pid, 50_000, 100_000)).json()["refund_id"]
        bank.adapter.refund.return_value = RefundResult("unknown")
        assert await process_refunds(ctx) == 1

        bank.adapter.query_refund.return_value = RefundResult("not_found")
        ctx.clock.advance(timedelta(minutes=2))
        assert await process_refunds(ctx) == 1
        request = bank.adapter.query_refund.await_args.args[0]
        assert (request.refund_id, request.known_refund_ids) == (later, ("R-1",))
