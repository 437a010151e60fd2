"""Provider callbacks through the inbox, with real VNPay signatures (DESIGN.md §12)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import func, select

from bank_adapters.vnpay import signing
from paygov.callbacks.models import InboxEntry
from paygov.kit.context import Context
from paygov.ledger.models import Journal
from paygov.payments import attempts
from paygov.payments.models import Payment
from tests.factories import payment_body

SECRET = "SANDBOXHASHSECRETPAYGOV0123456789"
IPN = "/callbacks/vnpay-sandbox"


def ipn(txn_ref: str, amount: int, *, code: str = "00", status: str = "00") -> dict[str, str]:
    return signing.sign(
        {
            "vnp_Amount": str(amount * 100),
            "vnp_BankCode": "VCB",
            "vnp_CardType": "ATM",
            "vnp_OrderInfo": "Le phi cap giay phep",
            "vnp_PayDate": "20261123093000",
            "vnp_ResponseCode": code,
            "vnp_TmnCode": "PAYGOV01",
            "vnp_TransactionNo": "14422574",
            "vnp_TransactionStatus": status,
            "vnp_TxnRef": txn_ref,
            "vnp_BankTranNo": "VNP1",
        },
        SECRET,
    )


async def pay_order(ctx: Context, api: httpx.AsyncClient, **body: Any) -> tuple[str, str]:
    """A payment with an open VNPay attempt: (payment id, txn_ref)."""
    created = (await api.post("/v1/payments", json=payment_body(**body))).json()
    async with ctx.db.transaction() as session:
        payment = await session.get(Payment, created["payment_id"])
        assert payment is not None
        await ctx.providers.refresh(session, ctx.box)
        _, attempt = await attempts.open_attempt(
            session,
            ctx,
            token=payment.checkout_token,
            mode="test",
            provider=ctx.providers.get("vnpay-sandbox"),
            bank_code="VCB",
        )
    return created["payment_id"], attempt.txn_ref


async def count(ctx: Context, model: type[Any]) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def payment(api: httpx.AsyncClient, payment_id: str) -> dict[str, Any]:
    return dict((await api.get(f"/v1/payments/{payment_id}")).json())


class TestIpn:
    async def test_success_then_duplicate(
        self, sandbox_providers: Context, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, txn_ref = await pay_order(ctx, api)
        first = await api.get(IPN, params=ipn(txn_ref, 150_000))
        assert first.status_code == 200
        assert first.json() == {"RspCode": "00", "Message": "Confirm Success"}
        again = await api.get(IPN, params=ipn(txn_ref, 150_000))
        assert again.json()["RspCode"] == "02"
        paid = await payment(api, payment_id)
        assert paid["status"] == "succeeded"
        assert paid["provider"] == "vnpay-sandbox"
        assert await count(ctx, Journal) == 1
        assert await count(ctx, InboxEntry) == 1  # the duplicate is acknowledged, not stored twice

    async def test_bad_signature_is_rejected_and_changes_nothing(
        self, sandbox_providers: Context, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, txn_ref = await pay_order(ctx, api)
        forged = {**ipn(txn_ref, 150_000), "vnp_Amount": "100"}
        reply = await api.get(IPN, params=forged)
        assert reply.json()["RspCode"] == "97"
        missing = {k: v for k, v in ipn(txn_ref, 150_000).items() if k != "vnp_SecureHash"}
        assert (await api.get(IPN, params=missing)).json()["RspCode"] == "97"
        assert (await payment(api, payment_id))["status"] == "pending"
        assert await count(ctx, Journal) == 0
        async with ctx.db.read() as session:
            stored = list(await session.scalars(select(InboxEntry)))
        assert [entry.verified for entry in stored] == [False, False]
        assert stored[0].raw["query"]["vnp_Amount"] == "100"  # kept raw, for people to look at

        # The real callback still goes through afterwards: a forgery cannot block it.
        assert (await api.get(IPN, params=ipn(txn_ref, 150_000))).json()["RspCode"] == "00"

    async def test_twenty_concurrent_copies_change_the_payment_once(
        self, sandbox_providers: Context, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, txn_ref = await pay_order(ctx, api)
        params = ipn(txn_ref, 150_000)
        replies = await asyncio.gather(*[api.get(IPN, params=params) for _ in range(20)])
        codes = sorted(reply.json()["RspCode"] for reply in replies)
        assert codes == ["00"] + ["02"] * 19
        paid = await payment(api, payment_id)
        assert paid["version"] == 3
        assert await count(ctx, Journal) == 1
        events = (await api.get(f"/v1/payments/{payment_id}/events")).json()["items"]
        assert [e["type"] for e in events].count("payment.succeeded") == 1

    async def test_unknown_order_and_wrong_amount(
        self, sandbox_providers: Context, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, txn_ref = await pay_order(ctx, api)
        assert (await api.get(IPN, params=ipn("PGNOSUCHORDER000", 150_000))).json()[
            "RspCode"
        ] == "01"
        assert (await api.get(IPN, params=ipn(txn_ref, 149_000))).json()["RspCode"] == "04"
        assert (await payment(api, payment_id))["status"] == "pending"

    async def test_cancel_at_the_bank_keeps_the_payment_payable(
        self, sandbox_providers: Context, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, txn_ref = await pay_order(ctx, api)
        reply = await api.get(IPN, params=ipn(txn_ref, 150_000, code="24", status="02"))
        assert reply.json()["RspCode"] == "00"
        after = await payment(api, payment_id)
        assert after["status"] == "pending"
        _, second = await pay_order_again(ctx, payment_id)
        assert (await api.get(IPN, params=ipn(second, 150_000))).json()["RspCode"] == "00"
        assert (await payment(api, payment_id))["status"] == "succeeded"

    async def test_late_success_is_confirmed_to_the_bank(
        self, sandbox_providers: Context, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, txn_ref = await pay_order(ctx, api, expires_in=60)
        ctx.clock.advance(timedelta(seconds=60 + ctx.settings.expiry_grace_seconds))
        assert (await api.get(IPN, params=ipn(txn_ref, 150_000))).json()["RspCode"] == "00"
        paid = await payment(api, payment_id)
        assert paid["status"] == "succeeded"
        assert paid["late"] is True

    async def test_unknown_provider_is_a_404(self, api: httpx.AsyncClient) -> None:
        reply = await api.get("/callbacks/no-such-provider", params={"a": "b"})
        assert reply.status_code == 404
        assert reply.json()["error"]["code"] == "provider_not_found"


async def pay_order_again(ctx: Context, payment_id: str) -> tuple[str, str]:
    async with ctx.db.transaction() as session:
        payment = await session.get(Payment, payment_id)
        assert payment is not None
        _, attempt = await attempts.open_attempt(
            session,
            ctx,
            token=payment.checkout_token,
            mode="test",
            provider=ctx.providers.get("vnpay-sandbox"),
            bank_code="VCB",
        )
    return payment_id, attempt.txn_ref
