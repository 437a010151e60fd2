"""Expiry as portals see it, cancelling, and a payment's history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from paygov.kit.clock import FrozenClock
from paygov.kit.context import Context
from tests.factories import payment_body


def assert_error(response: httpx.Response, status: int, code: str, field: str | None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["message"]
    assert (body["error"]["code"], body["error"]["field"]) == (code, field)


async def create(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/v1/payments", json=payment_body(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def fetch(api: httpx.AsyncClient, payment_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/payments/{payment_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def listed_ids(api: httpx.AsyncClient, **params: str) -> list[str]:
    response = await api.get("/v1/payments", params=params)
    assert response.status_code == 200, response.text
    return [payment["payment_id"] for payment in response.json()["items"]]


async def events(api: httpx.AsyncClient, payment_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/payments/{payment_id}/events")
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["items"]
    items: list[dict[str, Any]] = body["items"]
    return items


@pytest.fixture
def frozen(ctx: Context) -> FrozenClock:
    """Stop time for the app, so a test can stand a millisecond before a deadline."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    ctx.clock = clock
    return clock


class TestExpiry:
    async def test_past_the_deadline_reads_expired_without_any_job(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        payment = await create(api)

        ctx.clock.advance(timedelta(seconds=901))

        assert (await fetch(api, payment["payment_id"]))["status"] == "expired"

    async def test_a_millisecond_before_the_deadline_is_still_created(
        self, api: httpx.AsyncClient, frozen: FrozenClock
    ) -> None:
        payment = await create(api)
        frozen.advance(timedelta(seconds=900) - timedelta(milliseconds=1))
        before = await fetch(api, payment["payment_id"])
        frozen.advance(timedelta(milliseconds=2))
        after = await fetch(api, payment["payment_id"])

        assert before["status"] == "created"
        assert after["status"] == "expired"

    async def test_expires_in_sets_when(self, api: httpx.AsyncClient, ctx: Context) -> None:
        short = await create(api, expires_in=60)
        long = await create(api, expires_in=3600)

        ctx.clock.advance(timedelta(seconds=61))

        assert (await fetch(api, short["payment_id"]))["status"] == "expired"
        assert (await fetch(api, long["payment_id"]))["status"] == "created"

    async def test_search_by_status_sees_the_expiry(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        old = await create(api, expires_in=60)
        ctx.clock.advance(timedelta(seconds=120))
        fresh = await create(api, expires_in=60)

        assert await listed_ids(api, status="expired") == [old["payment_id"]]
        assert await listed_ids(api, status="created") == [fresh["payment_id"]]
        everything = (await api.get("/v1/payments")).json()["items"]
        assert [p["status"] for p in everything] == ["created", "expired"]

    async def test_a_cancelled_payment_stays_cancelled_after_its_deadline(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        payment = await create(api)
        cancelled = await api.post(f"/v1/payments/{payment['payment_id']}/cancel")
        assert cancelled.status_code == 200

        ctx.clock.advance(timedelta(days=2))

        assert (await fetch(api, payment["payment_id"]))["status"] == "cancelled"
        assert await listed_ids(api, status="cancelled") == [payment["payment_id"]]
        assert await listed_ids(api, status="expired") == []


class TestCancel:
    async def test_cancel_while_created(self, api: httpx.AsyncClient) -> None:
        payment = await create(api)

        response = await api.post(f"/v1/payments/{payment['payment_id']}/cancel")

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "cancelled"
        assert body["version"] == 2
        assert body["payment_id"] == payment["payment_id"]
        assert body["amount"] == payment["amount"]
        assert body["items"] == payment["items"]
        assert await fetch(api, payment["payment_id"]) == body

    async def test_cancel_twice_is_409(self, api: httpx.AsyncClient) -> None:
        payment = await create(api)
        first = await api.post(f"/v1/payments/{payment['payment_id']}/cancel")
        assert first.status_code == 200

        second = await api.post(f"/v1/payments/{payment['payment_id']}/cancel")

        assert_error(second, 409, "payment_not_cancellable", None)
        after = await fetch(api, payment["payment_id"])
        assert (after["status"], after["version"]) == ("cancelled", 2)

    async def test_cancel_expired_is_409(self, api: httpx.AsyncClient, ctx: Context) -> None:
        payment = await create(api)
        ctx.clock.advance(timedelta(seconds=901))

        response = await api.post(f"/v1/payments/{payment['payment_id']}/cancel")

        assert_error(response, 409, "payment_not_cancellable", None)
        after = await fetch(api, payment["payment_id"])
        assert (after["status"], after["version"]) == ("expired", 1)

    async def test_cancel_unknown_payment_is_404(self, api: httpx.AsyncClient) -> None:
        response = await api.post("/v1/payments/pay_01JDQ5Z6R4N7X2K9W3B8C5V1TM/cancel")

        assert_error(response, 404, "payment_not_found", "payment_id")

    async def test_cancel_leaves_other_payments_alone(self, api: httpx.AsyncClient) -> None:
        kept = await create(api)
        dropped = await create(api)

        await api.post(f"/v1/payments/{dropped['payment_id']}/cancel")

        assert await fetch(api, kept["payment_id"]) == kept


class TestEvents:
    async def test_a_new_payment_has_its_created_event(self, api: httpx.AsyncClient) -> None:
        payment = await create(api)

        history = await events(api, payment["payment_id"])

        assert len(history) == 1
        event = history[0]
        assert set(event) == {"event_id", "type", "version", "created_at", "data"}
        assert event["type"] == "payment.created"
        assert event["version"] == 1
        assert event["created_at"] == payment["created_at"]
        assert event["data"]["status"] == "created"

    async def test_created_then_cancelled_oldest_first(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        payment = await create(api)
        ctx.clock.advance(timedelta(minutes=5))
        cancelled = (await api.post(f"/v1/payments/{payment['payment_id']}/cancel")).json()

        history = await events(api, payment["payment_id"])

        assert [(e["type"], e["version"]) for e in history] == [
            ("payment.created", 1),
            ("payment.cancelled", 2),
        ]
        assert history[1]["data"]["status"] == "cancelled"
        assert history[0]["created_at"] < history[1]["created_at"]
        assert history[1]["version"] == cancelled["version"]
        assert len({e["event_id"] for e in history}) == 2

    async def test_a_refused_cancel_adds_no_event(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        payment = await create(api)
        ctx.clock.advance(timedelta(seconds=901))
        refused = await api.post(f"/v1/payments/{payment['payment_id']}/cancel")
        assert refused.status_code == 409

        history = await events(api, payment["payment_id"])

        assert [e["type"] for e in history] == ["payment.created"]

    async def test_events_of_unknown_payment_is_404(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/v1/payments/pay_01JDQ5Z6R4N7X2K9W3B8C5V1TM/events")

        assert_error(response, 404, "payment_not_found", "payment_id")


class TestUnknownPaymentId:
    @pytest.mark.parametrize(
        "payment_id",
        [
            pytest.param("pay_01JDQ5Z6R4N7X2K9W3B8C5V1TM", id="well formed"),
            pytest.param("not-a-payment", id="malformed"),
            pytest.param("pay_%00x", id="NUL"),
        ],
    )
    @pytest.mark.parametrize(
        ("method", "suffix"),
        [("GET", ""), ("POST", "/cancel"), ("GET", "/events")],
        ids=["get", "cancel", "events"],
    )
    async def test_is_404(
        self, api: httpx.AsyncClient, payment_id: str, method: str, suffix: str
    ) -> None:
        await create(api)

        response = await api.request(method, f"/v1/payments/{payment_id}{suffix}")

        assert_error(response, 404, "payment_not_found", "payment_id")
