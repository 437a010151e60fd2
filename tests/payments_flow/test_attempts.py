"""What a provider's word does to a payment and the ledger (DESIGN.md §4, §12)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from unittest.mock import MagicMock

import httpx
import pytest

from bank_adapters.base import AckResult, Adapter, ProviderEvent
from paygov.kit.context import Context
from paygov.ledger import repository as ledger
from paygov.payments import attempts
from paygov.payments.models import Payment
from paygov.providers.live import LiveProvider
from tests.factories import payment_body


def provider(code: str = "bank-a", max_amount: int = 10**9) -> LiveProvider:
    adapter = MagicMock(spec=Adapter)
    adapter.each_callback_is_a_transfer = False
    return LiveProvider(
        code=code,
        protocol="fake",
        name=code,
        mode="test",
        enabled=True,
        max_amount=max_amount,
        adapter=adapter,
    )


async def new_payment(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/v1/payments", json=payment_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def token_of(ctx: Context, payment_id: str) -> str:
    async with ctx.db.read() as session:
        payment = await session.get(Payment, payment_id)
        assert payment is not None
        return payment.checkout_token


async def start(ctx: Context, payment_id: str, via: LiveProvider) -> str:
    """Open an attempt the way checkout does; returns its txn_ref."""
    async with ctx.db.transaction() as session:
        _, attempt = await attempts.open_attempt(
            session,
            ctx,
            token=await token_of(ctx, payment_id),
            mode="test",
            provider=via,
            bank_code="VCB",
        )
        return attempt.txn_ref


async def tell(
    ctx: Context,
    via: LiveProvider,
    txn_ref: str,
    outcome: str = "succeeded",
    amount: int = 150_000,
    key: str | None = None,
) -> AckResult:
    event = ProviderEvent(
        txn_ref=txn_ref,
        outcome=outcome,
        amount=amount,  # type: ignore[arg-type]
        dedupe_key=key or f"{txn_ref}:{outcome}",
        provider_txn_id="T1",
    )
    async with ctx.db.transaction() as session:
        return await attempts.apply_event(session, ctx, via, event)


async def read(api: httpx.AsyncClient, payment_id: str) -> dict[str, Any]:
    return dict((await api.get(f"/v1/payments/{payment_id}")).json())


async def assert_ledger_balanced(ctx: Context) -> dict[str, int]:
    async with ctx.db.read() as session:
        assert await ledger.unbalanced_journals(session) == []
        return await ledger.balances(session)


class TestSuccess:
    async def test_success_records_money_once(self, ctx: Context, api: httpx.AsyncClient) -> None:
        bank = provider()
        created = await new_payment(
            api,
            amount=150_000,
            items=[
                {"code": "LEPHI", "name": "Lệ phí", "amount": 100_000},
                {
                    "code": "PHI",
                    "name": "Phí",
                    "amount": 50_000,
                    "beneficiary_account": "1234567890",
                },
            ],
        )
        txn_ref = await start(ctx, created["payment_id"], bank)
        assert (await read(api, created["payment_id"]))["status"] == "pending"

        assert await tell(ctx, bank, txn_ref) is AckResult.CONFIRMED
        assert await tell(ctx, bank, txn_ref) is AckResult.DUPLICATE

        paid = await read(api, created["payment_id"])
        assert paid["status"] == "succeeded"
        assert paid["provider"] == "bank-a"
        assert paid["bank"] == "VCB"
        assert paid["late"] is False
        assert paid["version"] == 3  # created, attempt started, succeeded
        assert paid["refund_summary"] == {
            "amount_refunded": 0,
            "amount_available": 150_000,
            "amount_overpaid": 0,
        }
        balances = await assert_ledger_balanced(ctx)
        assert balances["clearing:bank-a"] == 150_000
        payable = {k: v for k, v in balances.items() if k.startswith("payable:")}
        assert sorted(payable.values()) == [-100_000, -50_000]

    async def test_late_success_after_expiry_is_recorded_as_late(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = provider()
        created = await new_payment(api, expires_in=60)
        txn_ref = await start(ctx, created["payment_id"], bank)
        ctx.clock.advance(timedelta(seconds=60 + ctx.settings.expiry_grace_seconds + 1))
        assert (await read(api, created["payment_id"]))["status"] == "expired"
        assert await tell(ctx, bank, txn_ref) is AckResult.CONFIRMED
        paid = await read(api, created["payment_id"])
        assert paid["status"] == "succeeded"
        assert paid["late"] is True

    async def test_second_success_is_an_overpayment(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = provider()
        created = await new_payment(api)
        first = await start(ctx, created["payment_id"], bank)
        second = await start(ctx, created["payment_id"], bank)
        assert await tell(ctx, bank, first) is AckResult.CONFIRMED
        assert await tell(ctx, bank, second) is AckResult.CONFIRMED
        events = (await api.get(f"/v1/payments/{created['payment_id']}/events")).json()["items"]
        assert [e["type"] for e in events][-2:] == ["payment.succeeded", "payment.overpaid"]
        balances = await assert_ledger_balanced(ctx)
        assert balances["clearing:bank-a"] == 300_000
        assert sum(v for k, v in balances.items() if k.startswith("overpaid:")) == -150_000


class TestRefusals:
    async def test_wrong_amount_changes_nothing(self, ctx: Context, api: httpx.AsyncClient) -> None:
        bank = provider()
        created = await new_payment(api)
        txn_ref = await start(ctx, created["payment_id"], bank)
        assert await tell(ctx, bank, txn_ref, amount=1_000) is AckResult.INVALID_AMOUNT
        assert (await read(api, created["payment_id"]))["status"] == "pending"
        assert await assert_ledger_balanced(ctx) == {}

    async def test_unknown_reference_or_other_provider(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        created = await new_payment(api)
        txn_ref = await start(ctx, created["payment_id"], provider("bank-a"))
        assert await tell(ctx, provider("bank-a"), "PGNOSUCHREF00000") is AckResult.NOT_FOUND
        assert await tell(ctx, provider("bank-b"), txn_ref) is AckResult.NOT_FOUND

    async def test_unknown_outcome_is_never_guessed(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = provider()
        created = await new_payment(api)
        txn_ref = await start(ctx, created["payment_id"], bank)
        assert await tell(ctx, bank, txn_ref, outcome="unknown") is AckResult.CONFIRMED
        assert (await read(api, created["payment_id"]))["status"] == "pending"

    async def test_finished_payment_cannot_start_an_attempt(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = provider()
        created = await new_payment(api)
        await tell(ctx, bank, await start(ctx, created["payment_id"], bank))
        with pytest.raises(attempts.PaymentNotPayable):
            await start(ctx, created["payment_id"], bank)

    async def test_provider_limit_is_enforced(self, ctx: Context, api: httpx.AsyncClient) -> None:
        created = await new_payment(api, amount=150_000)
        with pytest.raises(attempts.ProviderNotOffered):
            await start(ctx, created["payment_id"], provider(max_amount=100_000))


class TestDeclines:
    async def test_fifth_decline_fails_the_payment(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = provider()
        created = await new_payment(api)
        for round_ in range(1, 6):
            txn_ref = await start(ctx, created["payment_id"], bank)
            assert await tell(ctx, bank, txn_ref, outcome="failed") is AckResult.CONFIRMED
            status = (await read(api, created["payment_id"]))["status"]
            assert status == ("failed" if round_ == 5 else "pending")
        failed = await read(api, created["payment_id"])
        assert failed["failure"]["code"] == "too_many_declines"

    async def test_declined_payment_past_deadline_reads_expired_at_once(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = provider()
        created = await new_payment(api, expires_in=60)
        await tell(ctx, bank, await start(ctx, created["payment_id"], bank), outcome="failed")
        ctx.clock.advance(timedelta(seconds=61))
        assert (await read(api, created["payment_id"]))["status"] == "expired"

    async def test_open_attempt_waits_for_the_grace_period(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        created = await new_payment(api, expires_in=60)
        await start(ctx, created["payment_id"], provider())
        ctx.clock.advance(timedelta(seconds=61))
        assert (await read(api, created["payment_id"]))["status"] == "pending"
        ctx.clock.advance(timedelta(seconds=ctx.settings.expiry_grace_seconds))
        assert (await read(api, created["payment_id"]))["status"] == "expired"


async def test_attempt_refs_are_short_uppercase_and_unique() -> None:
    refs = {attempts.new_txn_ref() for _ in range(2000)}
    assert len(refs) == 2000
    assert all(len(ref) <= 20 and ref.isalnum() and ref.isupper() for ref in refs)


async def test_ledger_totals_equal_succeeded_payments(ctx: Context, api: httpx.AsyncClient) -> None:
    bank = provider()
    for amount in (10_000, 25_000, 40_000):
        created = await new_payment(api, amount=amount)
        await tell(ctx, bank, await start(ctx, created["payment_id"], bank), amount=amount)
    await new_payment(api, amount=99_000)  # never paid: not in the ledger
    succeeded = (await api.get("/v1/payments", params={"status": "succeeded"})).json()["items"]
    total = sum(payment["amount"] for payment in succeeded)
    assert total == 75_000
    balances = await assert_ledger_balanced(ctx)
    assert balances["clearing:bank-a"] == total
    assert -sum(v for k, v in balances.items() if k.startswith("payable:")) == total
