"""Idempotency-Key semantics of DESIGN.md §5, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from paygov.app import create_app
from paygov.idempotency import repository
from paygov.idempotency.service import request_hash
from paygov.kit.context import Context
from tests.conftest import make_settings
from tests.factories import AgencyKeys, create_agency, payment_body

ROUTE = "payments.create"


async def payment_count(api: httpx.AsyncClient) -> int:
    listed = await api.get("/v1/payments", params={"limit": 500})
    return len(listed.json()["items"])


@asynccontextmanager
async def key_held_by_another_request(
    ctx: Context, agency: AgencyKeys, key: str, body: dict[str, object], seconds: float
) -> AsyncIterator[None]:
    """A first request that has claimed `key` and is still running for `seconds`."""
    claimed = asyncio.Event()

    async def first_request() -> None:
        async with ctx.db.transaction() as session:
            await repository.claim(
                session,
                {
                    "agency_id": agency.agency.id,
                    "route": ROUTE,
                    "key": key,
                    "body_hash": request_hash(body),
                    "status_code": 201,
                    "response_body": b'{"first": true}',
                    "created_at": ctx.clock.now(),
                },
            )
            claimed.set()
            await asyncio.sleep(seconds)

    task = asyncio.create_task(first_request())
    await claimed.wait()
    try:
        yield
    finally:
        await task


class TestReplay:
    async def test_same_key_same_body_replays_the_first_response(
        self, api: httpx.AsyncClient
    ) -> None:
        first = await api.post(
            "/v1/payments", json=payment_body(), headers={"Idempotency-Key": "k-1"}
        )
        again = await api.post(
            "/v1/payments", json=payment_body(), headers={"Idempotency-Key": "k-1"}
        )
        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        assert again.headers["Idempotent-Replayed"] == "true"
        assert "Idempotent-Replayed" not in first.headers
        assert await payment_count(api) == 1

    async def test_same_key_different_body_is_refused(self, api: httpx.AsyncClient) -> None:
        await api.post("/v1/payments", json=payment_body(), headers={"Idempotency-Key": "k-2"})
        other = await api.post(
            "/v1/payments", json=payment_body(amount=99_000), headers={"Idempotency-Key": "k-2"}
        )
        assert other.status_code == 409
        assert other.json()["error"]["code"] == "idempotency_key_reused"
        assert await payment_count(api) == 1

    async def test_keys_are_scoped_to_the_agency(
        self, ctx: Context, api: httpx.AsyncClient
    ) -> None:
        other = await create_agency(ctx, code="other-agency")
        mine = await api.post(
            "/v1/payments", json=payment_body(), headers={"Idempotency-Key": "k-3"}
        )
        theirs = await api.post(
            "/v1/payments", json=payment_body(), headers={"Idempotency-Key": "k-3", **other.auth}
        )
        assert theirs.status_code == 201
        assert theirs.json()["payment_id"] != mine.json()["payment_id"]

    async def test_without_a_key_each_request_creates(self, api: httpx.AsyncClient) -> None:
        await api.post("/v1/payments", json=payment_body())
        await api.post("/v1/payments", json=payment_body())
        assert await payment_count(api) == 2

    async def test_rejected_request_does_not_consume_the_key(self, api: httpx.AsyncClient) -> None:
        bad = await api.post(
            "/v1/payments", json=payment_body(amount=0), headers={"Idempotency-Key": "k-4"}
        )
        assert bad.status_code == 422
        good = await api.post(
            "/v1/payments", json=payment_body(), headers={"Idempotency-Key": "k-4"}
        )
        assert good.status_code == 201


class TestConcurrentDuplicates:
    async def test_fifty_identical_requests_create_one_payment(
        self, api: httpx.AsyncClient
    ) -> None:
        responses = await asyncio.gather(
            *[
                api.post("/v1/payments", json=payment_body(), headers={"Idempotency-Key": "burst"})
                for _ in range(50)
            ]
        )
        assert {response.status_code for response in responses} == {201}
        assert len({response.content for response in responses}) == 1
        assert sum("Idempotent-Replayed" not in r.headers for r in responses) == 1
        assert await payment_count(api) == 1

    async def test_duplicate_waits_for_the_first_then_replays(
        self, ctx: Context, agency: AgencyKeys, api: httpx.AsyncClient
    ) -> None:
        body = payment_body()
        async with key_held_by_another_request(ctx, agency, "slow", body, seconds=0.5):
            duplicate = await api.post(
                "/v1/payments", json=body, headers={"Idempotency-Key": "slow"}
            )
        assert duplicate.status_code == 201
        assert duplicate.json() == {"first": True}
        assert duplicate.headers["Idempotent-Replayed"] == "true"

    async def test_first_still_running_after_the_wait_gives_409(
        self, database_url: str, tmp_path: Path
    ) -> None:
        ctx = Context.build(make_settings(database_url, tmp_path, db_lock_timeout_ms=300))
        try:
            agency = await create_agency(ctx)
            transport = httpx.ASGITransport(app=create_app(ctx))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://t", headers=agency.auth
            ) as api:
                body = payment_body()
                async with key_held_by_another_request(ctx, agency, "stuck", body, seconds=1.5):
                    duplicate = await api.post(
                        "/v1/payments", json=body, headers={"Idempotency-Key": "stuck"}
                    )
                assert duplicate.status_code == 409
                assert duplicate.json()["error"]["code"] == "idempotency_key_in_use"
                assert await payment_count(api) == 0
        finally:
            await ctx.close()


@pytest.mark.parametrize("header", ["", "x" * 256, "tab\there"])
async def test_malformed_key_is_a_400(api: httpx.AsyncClient, header: str) -> None:
    response = await api.post(
        "/v1/payments", json=payment_body(), headers={"Idempotency-Key": header}
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "invalid_header",
        "field": "Idempotency-Key",
        "message": "Idempotency-Key must be 1-255 visible ASCII characters.",
    }
