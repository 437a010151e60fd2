"""Refunds of an overpayment (DESIGN.md §4: a citizen who paid twice is recorded, flagged
with `payment.overpaid`, and offered a refund): what the API allows, the ledger's
`overpaid:{agency}` account given back, and the webhooks."""

from __future__ import annotations

import httpx
import pytest

from bank_adapters.base import RefundResult
from paygov.kit.context import Context
from paygov.refunds import service
from paygov.refunds.processing import process_refunds
from tests.callbacks.test_vietqr_credits import credit, post, qr_order
from tests.payments_flow.test_attempts import (
    assert_ledger_balanced,
    new_payment,
    read,
    start,
    tell,
)
from tests.refunds.test_refunds import install, payables, refund, webhook_types


async def paid_twice(ctx: Context, api: httpx.AsyncClient) -> str:
    """A 150 000 VND VietQR order whose QR the citizen scanned and paid twice."""
    payment_id, txn_ref = await qr_order(ctx, api)
    for transfer in ("FT001", "FT002"):
        reply = await post(api, credit(ctx, transfer, f"MBVCB.3301.{txn_ref} chuyen tien"))
        assert reply.status_code == 200, reply.text
    return payment_id


async def record_paid_back(ctx: Context, refund_id: str) -> None:
    async with ctx.db.transaction() as session:
        await service.record_manual_refund(
            session, ctx, refund_id, bank_reference="FT-BACK-1", note=None, actor="test"
        )


def overpaid_balance(balances: dict[str, int]) -> int:
    [account] = [name for name in balances if name.startswith("overpaid:")]
    return balances[account]


class TestOverpaidQr:
    async def test_the_overpayment_is_offered_and_given_back_first(
        self, sandbox_providers: Context, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id = await paid_twice(ctx, api)
        payment = await read(api, payment_id)
        assert payment["refund_summary"] == {
            "amount_refunded": 0,
            "amount_available": 300_000,
            "amount_overpaid": 150_000,
        }
        assert await webhook_types(ctx, payment_id) == ["payment.succeeded", "payment.overpaid"]
        balances = await assert_ledger_balanced(ctx)
        assert (balances["clearing:vietqr-sandbox"], overpaid_balance(balances)) == (
            300_000,
            -150_000,
        )

        too_much = await refund(api, payment_id, 300_001, 300_000)
        assert too_much.json()["error"]["code"] == "refund_amount_too_high"
        stale = await refund(api, payment_id, 150_000, 150_000)  # as if never overpaid
        assert stale.json()["error"]["code"] == "refund_amount_mismatch"

        back = await refund(api, payment_id, 150_000, 300_000)
        assert back.status_code == 201, back.text
        body = back.json()
        assert (body["status"], body["provider"]) == ("pending_manual", "vietqr-sandbox")
        assert (body["from_overpayment"], body["items"]) == (150_000, [])
        await record_paid_back(ctx, body["refund_id"])

        balances = await assert_ledger_balanced(ctx)
        assert (balances["clearing:vietqr-sandbox"], overpaid_balance(balances)) == (150_000, 0)
        assert sum((await payables(ctx)).values()) == -150_000  # the agency keeps its fee
        assert await webhook_types(ctx, body["refund_id"]) == ["refund.succeeded"]
        assert (await read(api, payment_id))["refund_summary"] == {
            "amount_refunded": 150_000,
            "amount_available": 150_000,
            "amount_overpaid": 150_000,
        }

        # What remains is the order itself: refunding it draws on the fee items.
        rest = (await refund(api, payment_id, 150_000, 150_000)).json()
        assert (rest["from_overpayment"], rest["items"]) == (
            0,
            [{"code": "FEE", "amount": 150_000}],
        )
        await record_paid_back(ctx, rest["refund_id"])
        balances = await assert_ledger_balanced(ctx)
        assert balances["clearing:vietqr-sandbox"] == 0
        assert all(amount == 0 for amount in (await payables(ctx)).values())
        assert (await read(api, payment_id))["refund_summary"]["amount_available"] == 0

    async def test_naming_items_refunds_the_order_and_leaves_the_overpayment(
        self, sandbox_providers: Context, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id = await paid_twice(ctx, api)
        named = await refund(
            api, payment_id, 50_000, 300_000, items=[{"code": "FEE", "amount": 50_000}]
        )
        assert (named.json()["from_overpayment"], named.json()["items"]) == (
            0,
            [{"code": "FEE", "amount": 50_000}],
        )
        # Without items: the overpayment first, then the rest of the order.
        mixed = (await refund(api, payment_id, 200_000, 250_000)).json()
        assert (mixed["from_overpayment"], mixed["items"]) == (
            150_000,
            [{"code": "FEE", "amount": 50_000}],
        )
        for refund_id in (named.json()["refund_id"], mixed["refund_id"]):
            await record_paid_back(ctx, refund_id)
        balances = await assert_ledger_balanced(ctx)
        assert (balances["clearing:vietqr-sandbox"], overpaid_balance(balances)) == (50_000, 0)


class TestOverpaidThroughAnotherAttempt:
    """The citizen finished two attempts through two providers: the second one's money goes
    back through that provider, not the one that was paid first."""

    @pytest.fixture
    async def paid_by_both(self, ctx: Context, api: httpx.AsyncClient) -> str:
        card, qr = install(ctx, code="bank-a"), install(ctx, manual=True, code="qr-b")
        payment_id = (await new_payment(api))["payment_id"]
        first, second = await start(ctx, payment_id, card), await start(ctx, payment_id, qr)
        await tell(ctx, card, first)
        await tell(ctx, qr, second)
        assert (await read(api, payment_id))["refund_summary"]["amount_overpaid"] == 150_000
        return payment_id

    async def test_each_part_goes_back_through_the_provider_that_took_it(
        self, ctx: Context, api: httpx.AsyncClient, paid_by_both: str
    ) -> None:
        payment_id = paid_by_both
        both = await refund(api, payment_id, 200_000, 300_000)
        assert both.status_code == 422
        assert both.json()["error"] == {
            "code": "refund_spans_attempts",
            "message": both.json()["error"]["message"],
            "field": "amount",
        }

        overpaid = (await refund(api, payment_id, 150_000, 300_000)).json()
        assert (overpaid["provider"], overpaid["status"]) == ("qr-b", "pending_manual")
        order = (await refund(api, payment_id, 150_000, 150_000)).json()
        assert (order["provider"], order["from_overpayment"]) == ("bank-a", 0)

        ctx.providers.by_code["bank-a"].adapter.refund.return_value = RefundResult("succeeded")
        assert await process_refunds(ctx) == 1
        await record_paid_back(ctx, overpaid["refund_id"])
        balances = await assert_ledger_balanced(ctx)
        assert (balances["clearing:bank-a"], balances["clearing:qr-b"]) == (0, 0)
        assert overpaid_balance(balances) == 0
        assert all(amount == 0 for amount in (await payables(ctx)).values())


async def test_the_attempt_that_succeeded_first_took_the_order(
    ctx: Context, api: httpx.AsyncClient
) -> None:
    """Started first is not paid first: the order's money is the first success's, the
    overpayment the later one's, whatever order the attempts were opened in."""
    card, qr = install(ctx, code="bank-a"), install(ctx, manual=True, code="qr-b")
    payment_id = (await new_payment(api))["payment_id"]
    opened_first, opened_second = (
        await start(ctx, payment_id, card),
        await start(ctx, payment_id, qr),
    )
    await tell(ctx, qr, opened_second)  # the QR transfer arrives first: the order is paid
    await tell(ctx, card, opened_first)  # then the card payment: an overpayment
    overpaid = (await refund(api, payment_id, 150_000, 300_000)).json()
    assert (overpaid["provider"], overpaid["from_overpayment"]) == ("bank-a", 150_000)
    order = (await refund(api, payment_id, 150_000, 150_000)).json()
    assert (order["provider"], order["status"]) == ("qr-b", "pending_manual")
