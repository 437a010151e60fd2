"""Searching payments: the list envelope, newest first, cursor pages, filters, bounds."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from paygov.kit.clock import FrozenClock
from paygov.kit.context import Context
from tests.factories import create_agency, payment_body


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


async def create_hourly(api: httpx.AsyncClient, ctx: Context, count: int) -> list[dict[str, Any]]:
    """`count` payments an hour apart, oldest first, references HS-0, HS-1, ..."""
    created = []
    for n in range(count):
        created.append(await create(api, reference=f"HS-{n}"))
        ctx.clock.advance(timedelta(hours=1))
    return created


async def search(api: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await api.get("/v1/payments", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def walk(api: httpx.AsyncClient, cursor: str | None = None, **params: Any) -> list[list[str]]:
    """Every page of a search from `cursor` on, following next_cursor, as lists of ids."""
    pages: list[list[str]] = []
    while True:
        page = await search(api, **params, **({"cursor": cursor} if cursor else {}))
        pages.append([payment["payment_id"] for payment in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 20, "pagination does not end"


def ids(payments: list[dict[str, Any]]) -> list[str]:
    return [payment["payment_id"] for payment in payments]


def shifted(stamp: str, delta: timedelta) -> str:
    return (datetime.fromisoformat(stamp) + delta).isoformat()


class TestListEnvelope:
    async def test_empty_list(self, api: httpx.AsyncClient) -> None:
        assert await search(api) == {"items": [], "next_cursor": None}

    async def test_items_are_full_payment_objects(self, api: httpx.AsyncClient) -> None:
        created = await create(api, metadata={"ho_so": "1"})

        listed = await search(api)

        assert listed == {"items": [created], "next_cursor": None}


class TestNewestFirst:
    async def test_newest_payment_comes_first(self, api: httpx.AsyncClient, ctx: Context) -> None:
        created = await create_hourly(api, ctx, 4)

        listed = await search(api)

        assert ids(listed["items"]) == ids(created)[::-1]

    async def test_only_the_callers_payments_are_listed(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        other = await create_agency(ctx, code="other-agency")
        theirs = await api.post("/v1/payments", json=payment_body(), headers=other.auth)
        assert theirs.status_code == 201
        mine = await create(api)

        assert ids((await search(api))["items"]) == [mine["payment_id"]]


class TestCursorPagination:
    async def test_walks_every_payment_exactly_once(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        created = await create_hourly(api, ctx, 7)

        pages = await walk(api, limit=3)

        assert [len(page) for page in pages] == [3, 3, 1]
        assert [pid for page in pages for pid in page] == ids(created)[::-1]

    async def test_payments_created_in_the_same_instant_are_each_listed_once(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        ctx.clock = FrozenClock(datetime.now(UTC))
        created = [await create(api) for _ in range(7)]
        assert len({payment["created_at"] for payment in created}) == 1

        pages = await walk(api, limit=3)

        flat = [pid for page in pages for pid in page]
        assert [len(page) for page in pages] == [3, 3, 1]
        assert sorted(flat) == sorted(ids(created))
        assert flat == sorted(flat, reverse=True)

    async def test_exact_multiple_of_the_limit_ends_without_an_empty_page(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        await create_hourly(api, ctx, 6)

        pages = await walk(api, limit=3)

        assert [len(page) for page in pages] == [3, 3]

    async def test_new_payments_do_not_shift_later_pages(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        created = await create_hourly(api, ctx, 5)
        first = await search(api, limit=2)
        await create_hourly(api, ctx, 3)

        rest = await walk(api, limit=2, cursor=first["next_cursor"])

        seen = ids(first["items"]) + [pid for page in rest for pid in page]
        assert seen == ids(created)[::-1]

    async def test_default_page_is_50(self, api: httpx.AsyncClient) -> None:
        for _ in range(51):
            await create(api)

        page = await search(api)

        assert len(page["items"]) == 50
        assert page["next_cursor"] is not None
        assert len((await search(api, cursor=page["next_cursor"]))["items"]) == 1

    @pytest.mark.parametrize("limit", [1, 500])
    async def test_limit_bounds_are_accepted(self, api: httpx.AsyncClient, limit: int) -> None:
        await create(api)
        await create(api)

        page = await search(api, limit=limit)

        assert len(page["items"]) == min(limit, 2)
        assert (page["next_cursor"] is None) == (limit == 500)


class TestFilters:
    async def test_reference_is_an_exact_match(self, api: httpx.AsyncClient) -> None:
        wanted = [
            await create(api, reference="HS-2026-7"),
            await create(api, reference="HS-2026-7"),
        ]
        await create(api, reference="HS-2026-70")
        await create(api, reference="hs-2026-7")

        listed = await search(api, reference="HS-2026-7")

        assert sorted(ids(listed["items"])) == sorted(ids(wanted))
        assert (await search(api, reference="HS-2026"))["items"] == []

    async def test_status(self, api: httpx.AsyncClient) -> None:
        kept = await create(api)
        dropped = await create(api)
        cancelled = await api.post(f"/v1/payments/{dropped['payment_id']}/cancel")
        assert cancelled.status_code == 200

        created_only = await search(api, status="created")
        cancelled_only = await search(api, status="cancelled")

        assert ids(created_only["items"]) == [kept["payment_id"]]
        assert ids(cancelled_only["items"]) == [dropped["payment_id"]]
        assert cancelled_only["items"][0]["status"] == "cancelled"
        assert (await search(api, status="succeeded"))["items"] == []

    async def test_created_from_and_created_to(self, api: httpx.AsyncClient, ctx: Context) -> None:
        created = await create_hourly(api, ctx, 5)
        half_hour = timedelta(minutes=30)
        after_first = shifted(created[0]["created_at"], half_hour)
        before_last = shifted(created[4]["created_at"], -half_hour)

        since = await search(api, created_from=after_first)
        until = await search(api, created_to=before_last)
        between = await search(api, created_from=after_first, created_to=before_last)

        assert ids(since["items"]) == ids(created[1:])[::-1]
        assert ids(until["items"]) == ids(created[:4])[::-1]
        assert ids(between["items"]) == ids(created[1:4])[::-1]

    async def test_window_is_from_inclusive_to_exclusive(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        """Back-to-back windows [a, b) and [b, c) never list a payment twice."""
        created = await create_hourly(api, ctx, 3)
        middle = created[1]["created_at"]

        before = await search(api, created_to=middle)
        after = await search(api, created_from=middle)

        assert ids(before["items"]) == [created[0]["payment_id"]]
        assert ids(after["items"]) == ids(created[1:])[::-1]

    async def test_times_in_another_timezone(self, api: httpx.AsyncClient, ctx: Context) -> None:
        created = await create_hourly(api, ctx, 3)
        middle = datetime.fromisoformat(created[1]["created_at"])
        hanoi = middle.astimezone(timezone(timedelta(hours=7)))

        listed = await search(api, created_from=hanoi.isoformat())

        assert ids(listed["items"]) == ids(created[1:])[::-1]

    async def test_filters_combine_and_survive_pagination(
        self, api: httpx.AsyncClient, ctx: Context
    ) -> None:
        wanted = []
        for n in range(5):
            wanted.append(await create(api, reference="HS-A"))
            await create(api, reference="HS-B")
            ctx.clock.advance(timedelta(seconds=n + 1))
        cancelled = await api.post(f"/v1/payments/{wanted[0]['payment_id']}/cancel")
        assert cancelled.status_code == 200

        pages = await walk(api, limit=2, reference="HS-A", status="created")

        assert [pid for page in pages for pid in page] == ids(wanted[1:])[::-1]


class TestQueryValidation:
    @pytest.mark.parametrize(
        ("params", "code", "field"),
        [
            pytest.param({"limit": 0}, "invalid_limit", "limit", id="limit 0"),
            pytest.param({"limit": 501}, "invalid_limit", "limit", id="limit 501"),
            pytest.param({"limit": -1}, "invalid_limit", "limit", id="limit negative"),
            pytest.param({"limit": "ten"}, "invalid_limit", "limit", id="limit word"),
            pytest.param({"status": "paid"}, "invalid_status", "status", id="unknown status"),
            pytest.param(
                {"reference": "a" * 65}, "invalid_reference", "reference", id="reference 65"
            ),
            pytest.param({"reference": "a\x00b"}, "invalid_reference", "reference", id="NUL"),
            pytest.param({"reference": "a b"}, "invalid_reference", "reference", id="space"),
            pytest.param(
                {"created_from": "yesterday"},
                "invalid_created_from",
                "created_from",
                id="created_from word",
            ),
            pytest.param(
                {"created_to": "2026-13-01T00:00:00Z"},
                "invalid_created_to",
                "created_to",
                id="created_to month 13",
            ),
            pytest.param(
                {"created_from": "0001-01-01T00:00:00+14:00"},
                "invalid_created_from",
                "created_from",
                id="created_from before year 1 in UTC",
            ),
            pytest.param(
                {"created_to": "9999-12-31T23:59:59-14:00"},
                "invalid_created_to",
                "created_to",
                id="created_to after year 9999 in UTC",
            ),
        ],
    )
    async def test_refused_with_422(
        self, api: httpx.AsyncClient, params: dict[str, Any], code: str, field: str
    ) -> None:
        await create(api)

        response = await api.get("/v1/payments", params=params)

        assert_error(response, 422, code, field)


def forged(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class TestCursorValidation:
    @pytest.mark.parametrize(
        "cursor",
        [
            pytest.param("garbage", id="garbage"),
            pytest.param("!!!!", id="punctuation"),
            pytest.param("ủa", id="not ascii"),
            pytest.param(forged(b"{}"), id="object"),
            pytest.param(forged(b"null"), id="null"),
            pytest.param(forged(b"[1, 2]"), id="numbers"),
            pytest.param(forged(b'["2026-01-01T00:00:00", "pay_x"]'), id="naive time"),
            pytest.param(forged(b'["2026-01-01T00:00:00+00:00", 5]'), id="id not a string"),
            pytest.param(forged(b'["a", "b", "c"]'), id="three parts"),
            pytest.param(forged(b'["2026-01-01T00:00:00+00:00", "\\u0000"]'), id="NUL id"),
            pytest.param(forged(b'["0001-01-01T00:00:00+14:00", "x"]'), id="before year 1"),
            pytest.param(forged(b'["9999-12-31T23:59:59-14:00", "x"]'), id="after year 9999"),
        ],
    )
    async def test_a_cursor_this_api_did_not_return_is_422(
        self, api: httpx.AsyncClient, cursor: str
    ) -> None:
        await create(api)

        response = await api.get("/v1/payments", params={"cursor": cursor})

        assert_error(response, 422, "invalid_cursor", "cursor")

    async def test_cursor_longer_than_200_chars_is_422(self, api: httpx.AsyncClient) -> None:
        response = await api.get("/v1/payments", params={"cursor": "a" * 201})

        assert_error(response, 422, "invalid_cursor", "cursor")
