"""Idempotency keys are kept `PAYGOV_IDEMPOTENCY_RETENTION_HOURS` (≥ 24 h, DESIGN.md §5),
then the worker deletes them in bounded batches, several workers sharing the work."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import select

from paygov.idempotency.models import IdempotencyKey
from paygov.idempotency.service import purge_expired
from paygov.kit.context import Context
from paygov.worker.runner import Worker
from tests.factories import payment_body


async def create(api: httpx.AsyncClient, key: str) -> httpx.Response:
    response = await api.post(
        "/v1/payments", json=payment_body(reference=key), headers={"Idempotency-Key": key}
    )
    assert response.status_code == 201, response.text
    return response


async def stored_keys(ctx: Context) -> list[str]:
    async with ctx.db.read() as session:
        return sorted(await session.scalars(select(IdempotencyKey.key)))


class TestPurge:
    async def test_keys_past_retention_go_in_batches_and_fresh_ones_stay(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        ctx.settings.idempotency_purge_batch_size = 2
        old = [await create(api, f"old-{n}") for n in range(5)]
        ctx.clock.advance(timedelta(hours=23))
        await create(api, "recent")
        assert await purge_expired(ctx) == 0  # nothing is 24 h old yet

        ctx.clock.advance(timedelta(hours=1, seconds=1))
        rounds = [(await Worker(ctx).run_once())["purge_idempotency_keys"] for _ in range(4)]
        assert rounds == [2, 2, 1, 0]
        assert await stored_keys(ctx) == ["recent"]

        # An expired key is a new request; a kept one still replays.
        again = await create(api, "old-0")
        assert "Idempotent-Replayed" not in again.headers
        assert again.json()["payment_id"] != old[0].json()["payment_id"]
        replayed = await create(api, "recent")
        assert replayed.headers["Idempotent-Replayed"] == "true"

    async def test_workers_purging_together_delete_each_key_once(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        ctx.settings.idempotency_purge_batch_size = 3
        for n in range(10):
            await create(api, f"k-{n}")
        ctx.clock.advance(timedelta(hours=ctx.settings.idempotency_retention_hours, seconds=1))

        done = await asyncio.gather(*(purge_expired(ctx) for _ in range(4)))

        assert sorted(done) == [1, 3, 3, 3]  # each worker its own batch, no key twice
        assert await stored_keys(ctx) == []
