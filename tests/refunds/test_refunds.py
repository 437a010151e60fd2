"""Refunds through the API and the worker (DESIGN.md §4, §5, §8), on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bank_adapters.base import RefundResult
from paygov.kit.context import Context
from paygov.ledger import repository as ledger
from paygov.ledger.models import Journal
from paygov.providers.live import LiveProvider
from paygov.refunds.models import Refund
from paygov.refunds.processing import process_refunds
from paygov.webhooks.models import WebhookEvent
from tests.factories import create_agency
from tests.payments_flow.test_attempts import (
    assert_ledger_balanced,
    new_payment,
    provider,
    read,
    start,
    tell,
)

ITEMS = [
    {"code": "LEPHI", "name": "Lệ phí", "amount": 100_000},
    {"code": "PHI", "name": "Phí", "amount": 50_000, "beneficiary_account": "1234567890"},
]


def install(ctx: Context, manual: bool = False, code: str = "bank-a") -> LiveProvider:
    """A fake provider the app and the worker will use (refresh will not replace it)."""
    bank = provider(code)
    bank.adapter.refunds_manual = manual
    ctx.providers.by_code[code] = bank
    ctx.providers.loaded_at = float("inf")
    return bank


async def paid(
    ctx: Context,
    api: httpx.AsyncClient,
    bank: LiveProvider,
    *,
    amount: int = 150_000,
    items: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    created = await new_payment(api, amount=amount, items=items or ITEMS)
    txn_ref = await start(ctx, created["payment_id"], bank)
    await tell(ctx, bank, txn_ref, amount=amount)
    payment = await read(api, created["payment_id"])
    assert payment["status"] == "succeeded"
    return payment


async def refund(
    api: httpx.AsyncClient,
    payment_id: str,
    amount: int,
    available: int,
    key: str | None = None,
    **extra: Any,
) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return await api.post(
        f"/v1/payments/{payment_id}/refunds",
        json={"amount": amount, "reason": "Hồ sơ bị từ chối", "refund_amount_available": available}
        | extra,
        headers=headers,
    )


async def count(ctx: Context, model: Any) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def payables(ctx: Context) -> dict[str, int]:
    async with ctx.db.read() as session:
        return await ledger.balances(session, "payable:")


async def webhook_types(ctx: Context, subject_id: str) -> list[str]:
    async with ctx.db.read() as session:
        rows = await session.scalars(
            select(WebhookEvent.type).where(WebhookEvent.subject_id == subject_id)
        )
        return list(rows)


class TestRequest:
    async def test_full_refund_succeeds_and_reverses_the_ledger(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = install(ctx)
        payment = await paid(ctx, api, bank)
        before = await payables(ctx)
        assert sum(before.values()) == -150_000

        response = await refund(api, payment["payment_id"], 150_000, 150_000)
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["refund_id"].startswith("rfd_")
        assert body["status"] == "pending"
        assert body["payment_id"] == payment["payment_id"]
        assert body["items"] == [
            {"code": "LEPHI", "amount": 100_000},
            {"code": "PHI", "amount": 50_000},
        ]
        after_request = await read(api, payment["payment_id"])
        assert after_request["refund_summary"] == {
            "amount_refunded": 150_000,
            "amount_available": 0,
            "amount_overpaid": 0,
        }
        assert after_request["version"] == payment["version"] + 1

        bank.adapter.refund.return_value = RefundResult("succeeded", provider_refund_id="R-1")
        assert await process_refunds(ctx) == 1
        request = bank.adapter.refund.call_args.args[0]
        assert request.refund_id == body["refund_id"]
        assert request.amount == 150_000
        assert request.provider_txn_id == "T1"

        done = (await api.get(f"/v1/refunds/{body['refund_id']}")).json()
        assert done["status"] == "succeeded"
        assert done["provider_refund_id"] == "R-1"
        balances = await assert_ledger_balanced(ctx)
        assert balances["clearing:bank-a"] == 0
        assert all(amount == 0 for amount in (await payables(ctx)).values())
        assert await webhook_types(ctx, body["refund_id"]) == ["refund.succeeded"]
        assert await process_refunds(ctx) == 0  # done once

    async def test_partial_refunds_by_item(self, ctx: Context, api: httpx.AsyncClient) -> None:
        bank = install(ctx)
        payment = await paid(ctx, api, bank)
        pid = payment["payment_id"]
        first = await refund(api, pid, 20_000, 150_000, items=[{"code": "PHI", "amount": 20_000}])
        assert first.status_code == 201, first.text
        assert first.json()["items"] == [{"code": "PHI", "amount": 20_000}]

        too_much = await refund(
            api, pid, 40_000, 130_000, items=[{"code": "PHI", "amount": 40_000}]
        )
        assert too_much.status_code == 422
        assert too_much.json()["error"]["code"] == "refund_item_amount_too_high"
        assert too_much.json()["error"]["field"] == "items[0].amount"
        unknown = await refund(api, pid, 1_000, 130_000, items=[{"code": "NOPE", "amount": 1_000}])
        assert unknown.json()["error"]["code"] == "unknown_refund_item"
        no_sum = await refund(api, pid, 2_000, 130_000, items=[{"code": "PHI", "amount": 1_000}])
        assert no_sum.json()["error"]["code"] == "refund_items_sum_mismatch"
        extra = await refund(api, pid, 1_000, 130_000, status="succeeded")
        assert extra.status_code == 422

        # Without items, the rest is split over what remains of each item.
        second = await refund(api, pid, 130_000, 130_000)
        assert second.status_code == 201, second.text
        assert second.json()["items"] == [
            {"code": "LEPHI", "amount": 100_000},
            {"code": "PHI", "amount": 30_000},
        ]
        listed = (await api.get(f"/v1/payments/{pid}/refunds")).json()["items"]
        assert [r["refund_id"] for r in listed] == [
            second.json()["refund_id"],
            first.json()["refund_id"],
        ]

        bank.adapter.refund.return_value = RefundResult("succeeded", provider_refund_id="R")
        assert await process_refunds(ctx) == 2
        await assert_ledger_balanced(ctx)
        assert all(amount == 0 for amount in (await payables(ctx)).values())

    async def test_pro_rata_by_largest_remainder(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = install(ctx)
        items = [
            {"code": "A", "name": "A", "amount": 49_999},
            {"code": "B", "name": "B", "amount": 50_000},
            {"code": "C", "name": "C", "amount": 50_001},
        ]
        payment = await paid(ctx, api, bank, items=items)
        before = await payables(ctx)
        response = await refund(api, payment["payment_id"], 100_000, 150_000)
        assert response.status_code == 201, response.text
        parts = response.json()["items"]
        assert parts == [
            {"code": "A", "amount": 33_333},
            {"code": "B", "amount": 33_333},
            {"code": "C", "amount": 33_334},
        ]
        bank.adapter.refund.return_value = RefundResult("succeeded")
        assert await process_refunds(ctx) == 1
        await assert_ledger_balanced(ctx)
        after = await payables(ctx)
        assert sum(after.values()) - sum(before.values()) == 100_000

    async def test_stale_available_amount_is_a_conflict_and_writes_nothing(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = install(ctx)
        payment = await paid(ctx, api, bank)
        pid = payment["payment_id"]
        assert (await refund(api, pid, 50_000, 150_000)).status_code == 201
        version = (await read(api, pid))["version"]

        stale = await refund(api, pid, 50_000, 150_000)
        assert stale.status_code == 409
        assert stale.json()["error"]["code"] == "refund_amount_mismatch"
        assert stale.json()["error"]["field"] == "refund_amount_available"
        assert await count(ctx, Refund) == 1
        now = await read(api, pid)
        assert now["version"] == version
        assert now["refund_summary"] == {
            "amount_refunded": 50_000,
            "amount_available": 100_000,
            "amount_overpaid": 0,
        }

    async def test_more_than_available_is_refused(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = install(ctx)
        payment = await paid(ctx, api, bank)
        response = await refund(api, payment["payment_id"], 150_001, 150_000)
        assert response.status_code == 422
        assert response.json()["error"] == {
            "code": "refund_amount_too_high",
            "message": response.json()["error"]["message"],
            "field": "amount",
        }
        assert await count(ctx, Refund) == 0

    async def test_unpaid_payment_is_not_refundable(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        created = await new_payment(api)
        response = await refund(api, created["payment_id"], 1_000, 0)
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "payment_not_refundable"
        assert await count(ctx, Refund) == 0

    async def test_idempotent_replay(self, ctx: Context, api: httpx.AsyncClient) -> None:
        bank = install(ctx)
        payment = await paid(ctx, api, bank)
        pid = payment["payment_id"]
        first = await refund(api, pid, 10_000, 150_000, key="rf-1")
        assert first.status_code == 201
        again = await refund(api, pid, 10_000, 150_000, key="rf-1")
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.content == first.content
        other = await refund(api, pid, 20_000, 140_000, key="rf-1")
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "idempotency_key_reused"
        assert await count(ctx, Refund) == 1
        assert (await read(api, pid))["refund_summary"]["amount_refunded"] == 10_000

    async def test_another_agency_sees_not_found(
        self, ctx: Context, api: httpx.AsyncClient, client: httpx.AsyncClient
    ) -> None:
        bank = install(ctx)
        payment = await paid(ctx, api, bank)
        pid = payment["payment_id"]
        mine = (await refund(api, pid, 10_000, 150_000)).json()
        stranger = (await create_agency(ctx, code="dvc-hn")).auth
        response = await client.post(
            f"/v1/payments/{pid}/refunds",
            json={"amount": 1_000, "reason": "x", "refund_amount_available": 140_000},
            headers=stranger,
        )
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "payment_not_found"
        listed = await client.get(f"/v1/payments/{pid}/refunds", headers=stranger)
        assert listed.status_code == 404
        one = await client.get(f"/v1/refunds/{mine['refund_id']}", headers=stranger)
        assert one.status_code == 404
        assert one.json()["error"]["code"] == "refund_not_found"
        assert await count(ctx, Refund) == 1


class TestProcessing:
    async def test_failed_refund_restores_the_available_amount(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = install(ctx)
        payment = await paid(ctx, api, bank)
        pid = payment["payment_id"]
        before = await payables(ctx)
        created = (await refund(api, pid, 60_000, 150_000)).json()
        bank.adapter.refund.return_value = RefundResult("failed", message="card closed")
        assert await process_refunds(ctx) == 1

        failed = (await api.get(f"/v1/refunds/{created['refund_id']}")).json()
        assert failed["status"] == "failed"
        assert failed["failure_message"] == "card closed"
        now = await read(api, pid)
        assert now["refund_summary"] == {
            "amount_refunded": 0,
            "amount_available": 150_000,
            "amount_overpaid": 0,
        }
        assert await webhook_types(ctx, created["refund_id"]) == ["refund.failed"]
        await assert_ledger_balanced(ctx)
        assert await payables(ctx) == before
        async with ctx.db.read() as session:
            kinds = list(await session.scalars(select(Journal.kind)))
        assert "refund" not in kinds
        # The whole amount can be asked for again.
        assert (await refund(api, pid, 150_000, 150_000)).status_code == 201

    async def test_manual_provider_gives_pending_manual(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        bank = install(ctx, manual=True, code="vietqr-demo")
        payment = await paid(ctx, api, bank)
        response = await refund(api, payment["payment_id"], 150_000, 150_000)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "pending_manual"
        assert await process_refunds(ctx) == 0
        bank.adapter.refund.assert_not_called()


@pytest.mark.parametrize("amount", [0, -5, "100"])
async def test_bad_amounts_are_422(ctx: Context, api: httpx.AsyncClient, amount: Any) -> None:
    bank = install(ctx)
    payment = await paid(ctx, api, bank)
    response = await refund(api, payment["payment_id"], amount, 150_000)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_amount"
    assert await count(ctx, Refund) == 0


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"reason": " "}, "invalid_reason"),
        ({"refund_amount_available": "150000"}, "invalid_refund_amount_available"),
        ({"items": []}, "invalid_items"),
        ({"items": [{"code": "PHI", "amount": 1_000, "name": "x"}]}, "unknown_field"),
    ],
)
async def test_bad_fields_are_422(
    ctx: Context, api: httpx.AsyncClient, extra: dict[str, Any], code: str
) -> None:
    bank = install(ctx)
    payment = await paid(ctx, api, bank)
    response = await refund(api, payment["payment_id"], 1_000, 150_000, **extra)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == code
    assert await count(ctx, Refund) == 0


async def test_racing_refunds_take_the_money_once(ctx: Context, api: httpx.AsyncClient) -> None:
    """Ten portals read the same available amount; the guard lets exactly one through."""
    bank = install(ctx)
    payment = await paid(ctx, api, bank)
    pid = payment["payment_id"]
    answers = await asyncio.gather(*(refund(api, pid, 100_000, 150_000) for _ in range(10)))
    assert sorted(answer.status_code for answer in answers) == [201] + [409] * 9
    assert (await read(api, pid))["refund_summary"]["amount_refunded"] == 100_000
    assert await count(ctx, Refund) == 1


async def test_racing_duplicates_replay_the_first(ctx: Context, api: httpx.AsyncClient) -> None:
    bank = install(ctx)
    payment = await paid(ctx, api, bank)
    pid = payment["payment_id"]
    answers = await asyncio.gather(
        *(refund(api, pid, 100_000, 150_000, key="same") for _ in range(10))
    )
    assert {answer.status_code for answer in answers} == {201}
    assert len({answer.content for answer in answers}) == 1
    assert await count(ctx, Refund) == 1
