"""API keys as a portal meets them: missing, wrong, revoked, someone else's, too fast."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paygov.app import create_app
from paygov.auth import service as auth
from paygov.kit.clock import Clock
from paygov.kit.context import Context
from tests.conftest import make_settings
from tests.factories import AgencyKeys, create_agency, payment_body

UNKNOWN_PAYMENT = "pay_01JDQ5Z6R4N7X2K9W3B8C5V1TM"
# Every route of the portal payment API, with a body where it takes one.
ROUTES = [
    pytest.param("POST", "/v1/payments", payment_body(), id="create"),
    pytest.param("GET", "/v1/payments", None, id="search"),
    pytest.param("GET", f"/v1/payments/{UNKNOWN_PAYMENT}", None, id="get"),
    pytest.param("POST", f"/v1/payments/{UNKNOWN_PAYMENT}/cancel", None, id="cancel"),
    pytest.param("GET", f"/v1/payments/{UNKNOWN_PAYMENT}/events", None, id="events"),
]


def assert_error(response: httpx.Response, status: int, code: str, field: str | None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["error"]
    assert set(body["error"]) == {"code", "message", "field"}
    assert body["error"]["message"]
    assert (body["error"]["code"], body["error"]["field"]) == (code, field)


async def create(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    response = await api.post("/v1/payments", json=payment_body(), headers=headers)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def revoke_all_keys(ctx: Context, agency: AgencyKeys) -> None:
    async with ctx.db.transaction() as session:
        for key in await auth.keys_of(session, agency.agency.id):
            await auth.revoke_key(session, key.id, at=ctx.clock.now(), actor="test")


async def issue_key(ctx: Context, agency: AgencyKeys) -> str:
    async with ctx.db.transaction() as session:
        return await auth.issue_key(
            session,
            ctx.settings.api_key_secret_bytes,
            agency.agency,
            at=ctx.clock.now(),
            actor="test",
        )


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class TestMissingKey:
    @pytest.mark.parametrize(("method", "path", "body"), ROUTES)
    async def test_no_authorization_header_is_401(
        self, client: httpx.AsyncClient, agency: AgencyKeys, method: str, path: str, body: Any
    ) -> None:
        response = await client.request(method, path, json=body)

        assert_error(response, 401, "unauthorized", None)

    @pytest.mark.parametrize(
        "header",
        ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token pk_test_abc", "pk_test_abc"],
    )
    async def test_header_that_is_not_a_bearer_key_is_401(
        self, client: httpx.AsyncClient, agency: AgencyKeys, header: str
    ) -> None:
        response = await client.get("/v1/payments", headers={"Authorization": header})

        assert_error(response, 401, "unauthorized", None)

    async def test_an_invalid_body_without_a_key_is_401_and_stores_nothing(
        self, client: httpx.AsyncClient, agency: AgencyKeys
    ) -> None:
        response = await client.post("/v1/payments", json=payment_body(amount=0, status="x"))

        assert_error(response, 401, "unauthorized", None)
        listed = await client.get("/v1/payments", headers=agency.auth)
        assert listed.json()["items"] == []


class TestInvalidKey:
    @pytest.mark.parametrize(
        "key",
        [
            pytest.param("pk_test_" + "A" * 43, id="unknown test key"),
            pytest.param("pk_live_" + "A" * 43, id="unknown live key"),
            pytest.param("sk_test_" + "A" * 43, id="foreign prefix"),
            pytest.param("pk_test_" + "A" * 200, id="too long"),
            pytest.param("pk_test_", id="prefix only"),
        ],
    )
    @pytest.mark.parametrize(("method", "path", "body"), ROUTES)
    async def test_wrong_key_is_401(
        self,
        client: httpx.AsyncClient,
        agency: AgencyKeys,
        key: str,
        method: str,
        path: str,
        body: Any,
    ) -> None:
        response = await client.request(method, path, json=body, headers=bearer(key))

        assert_error(response, 401, "invalid_api_key", None)

    async def test_a_key_one_character_off_is_401(
        self, client: httpx.AsyncClient, agency: AgencyKeys
    ) -> None:
        last = agency.api_key[-1]
        near = agency.api_key[:-1] + ("B" if last != "B" else "C")

        response = await client.get("/v1/payments", headers=bearer(near))

        assert_error(response, 401, "invalid_api_key", None)

    async def test_the_scheme_is_case_insensitive(
        self, client: httpx.AsyncClient, agency: AgencyKeys
    ) -> None:
        response = await client.get(
            "/v1/payments", headers={"Authorization": f"bearer {agency.api_key}"}
        )

        assert response.status_code == 200, response.text


class TestRevokedKey:
    async def test_revoked_key_is_401(
        self, client: httpx.AsyncClient, ctx: Context, agency: AgencyKeys
    ) -> None:
        payment = await create(client, agency.auth)

        await revoke_all_keys(ctx, agency)

        get = await client.get(f"/v1/payments/{payment['payment_id']}", headers=agency.auth)
        post = await client.post("/v1/payments", json=payment_body(), headers=agency.auth)
        assert_error(get, 401, "invalid_api_key", None)
        assert_error(post, 401, "invalid_api_key", None)

    async def test_a_new_key_works_after_the_old_one_is_revoked(
        self, client: httpx.AsyncClient, ctx: Context, agency: AgencyKeys
    ) -> None:
        payment = await create(client, agency.auth)
        await revoke_all_keys(ctx, agency)
        new_key = await issue_key(ctx, agency)

        response = await client.get(
            f"/v1/payments/{payment['payment_id']}", headers=bearer(new_key)
        )
        old = await client.get("/v1/payments", headers=agency.auth)

        assert response.status_code == 200, response.text
        assert response.json() == payment
        assert_error(old, 401, "invalid_api_key", None)


class TestAnotherAgencysPayment:
    @pytest.fixture
    async def other(self, ctx: Context) -> AgencyKeys:
        return await create_agency(ctx, code="other-agency")

    @pytest.mark.parametrize(
        ("method", "suffix"),
        [("GET", ""), ("POST", "/cancel"), ("GET", "/events")],
        ids=["get", "cancel", "events"],
    )
    async def test_reads_as_not_found(
        self,
        client: httpx.AsyncClient,
        agency: AgencyKeys,
        other: AgencyKeys,
        method: str,
        suffix: str,
    ) -> None:
        theirs = await create(client, other.auth)

        response = await client.request(
            method, f"/v1/payments/{theirs['payment_id']}{suffix}", headers=agency.auth
        )
        unknown = await client.request(
            method, f"/v1/payments/{UNKNOWN_PAYMENT}{suffix}", headers=agency.auth
        )

        assert_error(response, 404, "payment_not_found", "payment_id")
        assert response.json() == unknown.json()

    async def test_their_payment_is_untouched_by_a_foreign_cancel(
        self, client: httpx.AsyncClient, agency: AgencyKeys, other: AgencyKeys
    ) -> None:
        theirs = await create(client, other.auth)

        await client.post(f"/v1/payments/{theirs['payment_id']}/cancel", headers=agency.auth)

        after = await client.get(f"/v1/payments/{theirs['payment_id']}", headers=other.auth)
        assert after.json() == theirs
        events = await client.get(f"/v1/payments/{theirs['payment_id']}/events", headers=other.auth)
        assert [e["type"] for e in events.json()["items"]] == ["payment.created"]

    async def test_search_never_shows_their_payments(
        self, client: httpx.AsyncClient, agency: AgencyKeys, other: AgencyKeys
    ) -> None:
        theirs = await create(client, other.auth)

        by_reference = await client.get(
            "/v1/payments", params={"reference": theirs["reference"]}, headers=agency.auth
        )

        assert by_reference.json() == {"items": [], "next_cursor": None}


@pytest.fixture
async def slow_ctx(database_url: str, tmp_path: Path) -> AsyncIterator[Context]:
    """A context allowing a burst of 2 requests per key and next to no refill, so the
    third request is refused however slowly the test runs."""
    settings = make_settings(
        database_url, tmp_path, rate_limit_per_second=0.001, rate_limit_burst=2
    )
    context = Context.build(settings, clock=Clock())
    yield context
    await context.db.dispose()


@pytest.fixture
async def slow_client(slow_ctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(slow_ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://paygov.test") as http:
        yield http


class TestRateLimit:
    async def test_third_request_in_a_burst_of_two_is_429(
        self, slow_client: httpx.AsyncClient, slow_ctx: Context
    ) -> None:
        agency = await create_agency(slow_ctx)

        first = await slow_client.get("/v1/payments", headers=agency.auth)
        second = await slow_client.get("/v1/payments", headers=agency.auth)
        third = await slow_client.get("/v1/payments", headers=agency.auth)

        assert (first.status_code, second.status_code) == (200, 200)
        assert_error(third, 429, "rate_limited", None)

    async def test_a_limited_create_stores_nothing(
        self, slow_client: httpx.AsyncClient, slow_ctx: Context
    ) -> None:
        agency = await create_agency(slow_ctx)
        await create(slow_client, agency.auth)
        await create(slow_client, agency.auth)

        refused = await slow_client.post("/v1/payments", json=payment_body(), headers=agency.auth)

        assert_error(refused, 429, "rate_limited", None)
        second_key = await issue_key(slow_ctx, agency)
        listed = await slow_client.get("/v1/payments", headers=bearer(second_key))
        assert len(listed.json()["items"]) == 2

    async def test_each_key_has_its_own_budget(
        self, slow_client: httpx.AsyncClient, slow_ctx: Context
    ) -> None:
        busy = await create_agency(slow_ctx)
        quiet = await create_agency(slow_ctx, code="other-agency")
        for _ in range(3):
            await slow_client.get("/v1/payments", headers=busy.auth)

        limited = await slow_client.get("/v1/payments", headers=busy.auth)
        allowed = await slow_client.get("/v1/payments", headers=quiet.auth)

        assert_error(limited, 429, "rate_limited", None)
        assert allowed.status_code == 200, allowed.text
