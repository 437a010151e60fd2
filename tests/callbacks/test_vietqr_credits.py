"""VietQR credit notifications: each distinct credit is money, so a second one on a paid
order is an overpayment, and an exact repeat is a duplicate."""

from __future__ import annotations

import tomllib
from typing import Any

import httpx

from bank_adapters import signing
from paygov.kit.context import Context
from paygov.payments import attempts
from paygov.payments.models import Payment
from tests.conftest import SANDBOX_PROVIDERS
from tests.factories import payment_body

URL = "/callbacks/vietqr-sandbox"


def bank_key() -> str:
    document = tomllib.loads(SANDBOX_PROVIDERS.read_text(encoding="utf-8"))
    entry = next(p for p in document["provider"] if p["code"] == "vietqr-sandbox")
    return str(entry["sandbox"]["notification_private_key"])


def credit(
    ctx: Context, transaction_id: str, memo: str, amount: int = 150_000, key: str | None = None
) -> tuple[bytes, dict[str, str]]:
    body = signing.json_body(
        {
            "transaction_id": transaction_id,
            "account_number": "0071000888999",
            "amount": amount,
            "memo": memo,
            "booked_at": "2026-11-23T09:30:00+07:00",
            "direction": "credit",
        }
    )
    headers = signing.signed_headers("ecdsa-p256-sha256", key or bank_key(), body, ctx.clock.now())
    return body, {**headers, "Content-Type": "application/json"}


async def qr_order(ctx: Context, api: httpx.AsyncClient) -> tuple[str, str]:
    created = (await api.post("/v1/payments", json=payment_body())).json()
    async with ctx.db.transaction() as session:
        payment = await session.get(Payment, created["payment_id"])
        assert payment is not None
        await ctx.providers.refresh(session, ctx.box)
        _, attempt = await attempts.open_attempt(
            session,
            ctx,
            token=payment.checkout_token,
            mode="test",
            provider=ctx.providers.get("vietqr-sandbox"),
            bank_code=None,
        )
    return created["payment_id"], attempt.txn_ref


async def post(api: httpx.AsyncClient, message: tuple[bytes, dict[str, str]]) -> httpx.Response:
    body, headers = message
    return await api.post(URL, content=body, headers=headers)


async def events(api: httpx.AsyncClient, payment_id: str) -> list[str]:
    items: list[dict[str, Any]] = (await api.get(f"/v1/payments/{payment_id}/events")).json()[
        "items"
    ]
    return [item["type"] for item in items]


class TestCredits:
    async def test_two_scans_make_an_overpayment(
        self, sandbox_providers: Context, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, txn_ref = await qr_order(ctx, api)
        memo = f"MBVCB.3301.{txn_ref} chuyen tien"
        first = await post(api, credit(ctx, "FT001", memo))
        repeat = await post(api, credit(ctx, "FT001", memo))
        second = await post(api, credit(ctx, "FT002", memo))
        assert first.status_code == repeat.status_code == second.status_code == 200
        assert [first.json()["status"], repeat.json()["status"], second.json()["status"]] == [
            "accepted",
            "duplicate",
            "accepted",
        ]
        assert (await events(api, payment_id))[-2:] == ["payment.succeeded", "payment.overpaid"]

    async def test_credit_without_a_reference_is_kept_not_applied(
        self, sandbox_providers: Context, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, _ = await qr_order(ctx, api)
        reply = await post(api, credit(ctx, "FT003", "chuyen tien le phi"))
        assert reply.status_code == 404
        assert (await api.get(f"/v1/payments/{payment_id}")).json()["status"] == "pending"

    async def test_forged_notification_is_refused(
        self, sandbox_providers: Context, api: httpx.AsyncClient
    ) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        ctx = sandbox_providers
        payment_id, txn_ref = await qr_order(ctx, api)
        stranger = (
            ec.generate_private_key(ec.SECP256R1())
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode()
        )
        reply = await post(api, credit(ctx, "FT004", txn_ref, key=stranger))
        assert reply.status_code == 401
        assert (await api.get(f"/v1/payments/{payment_id}")).json()["status"] == "pending"
