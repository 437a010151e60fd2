"""Who may download which report, and how bad parameters are refused (never a 500)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from paygov.kit.context import Context
from tests.factories import AgencyKeys, create_agency
from tests.reports.conftest import staff_headers

SETTLEMENT = "/v1/finance/reports/settlement"
TRANSACTIONS = "/v1/finance/reports/transactions"
A_DAY = {"agency": "dvc-hcm", "date": "2026-11-23"}
A_MONTH = {"from": "2026-11-01", "to": "2026-11-30"}


def error(reply: httpx.Response, status: int) -> dict[str, Any]:
    assert reply.status_code == status, reply.text
    assert reply.headers["content-type"] == "application/json"
    body: dict[str, Any] = reply.json()["error"]
    return body


@pytest.fixture
async def agencies(ctx: Context) -> None:
    await create_agency(ctx, code="dvc-hcm")
    await create_agency(ctx, code="dvc-hn")


class TestWalls:
    async def test_no_token_or_an_agency_key_is_401(
        self, client: httpx.AsyncClient, agency: AgencyKeys
    ) -> None:
        assert error(await client.get(SETTLEMENT, params=A_DAY), 401)["code"] == "unauthorized"
        bad_date = {**A_DAY, "date": "2026-02-30"}  # the token is checked first
        assert error(await client.get(SETTLEMENT, params=bad_date), 401)["code"] == "unauthorized"
        reply = await client.get(TRANSACTIONS, params=A_MONTH, headers=agency.auth)
        assert error(reply, 401)["code"] == "invalid_staff_token"

    async def test_a_viewer_may_not_download(
        self, ctx: Context, client: httpx.AsyncClient, agencies: None
    ) -> None:
        viewer = await staff_headers(ctx, "viewer")
        for url, params in ((SETTLEMENT, A_DAY), (TRANSACTIONS, A_MONTH)):
            assert error(await client.get(url, params=params, headers=viewer), 403)["code"] == (
                "forbidden"
            )

    async def test_another_agency_looks_like_no_agency(
        self, ctx: Context, client: httpx.AsyncClient, agencies: None
    ) -> None:
        hanoi = await staff_headers(ctx, "agency_finance", "dvc-hn")
        other = await client.get(SETTLEMENT, params=A_DAY, headers=hanoi)
        unknown = await client.get(SETTLEMENT, params={**A_DAY, "agency": "nope"}, headers=hanoi)
        assert (
            error(other, 404)
            == error(unknown, 404)
            == {
                "code": "agency_not_found",
                "message": "No agency with this code.",
                "field": "agency",
            }
        )
        reply = await client.get(
            TRANSACTIONS, params={**A_MONTH, "agency": "dvc-hcm"}, headers=hanoi
        )
        assert error(reply, 404)["code"] == "agency_not_found"
        own = await client.get(SETTLEMENT, params={**A_DAY, "agency": "dvc-hn"}, headers=hanoi)
        assert own.status_code == 200, own.text

    async def test_finance_and_admin_see_every_agency(
        self, ctx: Context, client: httpx.AsyncClient, agencies: None
    ) -> None:
        for role in ("finance", "admin"):
            headers = await staff_headers(ctx, role)
            for code in ("dvc-hcm", "dvc-hn"):
                reply = await client.get(
                    SETTLEMENT, params={**A_DAY, "agency": code}, headers=headers
                )
                assert reply.status_code == 200, reply.text


class TestBadParameters:
    @pytest.mark.parametrize(
        ("url", "params", "code", "field"),
        [
            (SETTLEMENT, {"agency": "dvc-hcm"}, "missing_field", "date"),
            (SETTLEMENT, {**A_DAY, "date": "2026-02-30"}, "invalid_date", "date"),
            (SETTLEMENT, {**A_DAY, "date": "23/11/2026"}, "invalid_date", "date"),
            (SETTLEMENT, {**A_DAY, "date": "0001-01-01"}, "invalid_date", "date"),
            (SETTLEMENT, {**A_DAY, "format": "pdf"}, "invalid_format", "format"),
            (SETTLEMENT, {**A_DAY, "agency": "x" * 33}, "invalid_agency", "agency"),
            (TRANSACTIONS, {"from": "2026-11-30", "to": "2026-11-01"}, "invalid_date_range", "to"),
            (TRANSACTIONS, {**A_MONTH, "to": "9999-12-31"}, "invalid_to", "to"),
            (TRANSACTIONS, {**A_MONTH, "status": "paid"}, "invalid_status", "status"),
            (TRANSACTIONS, {**A_MONTH, "by": "refunded"}, "invalid_by", "by"),
            (TRANSACTIONS, {**A_MONTH, "provider": "no-such-bank"}, "unknown_provider", "provider"),
            (TRANSACTIONS, {"to": "2026-11-30"}, "missing_field", "from"),
        ],
    )
    async def test_is_a_422_with_the_error_body(
        self,
        ctx: Context,
        client: httpx.AsyncClient,
        agencies: None,
        url: str,
        params: dict[str, str],
        code: str,
        field: str,
    ) -> None:
        headers = await staff_headers(ctx, "finance")
        body = error(await client.get(url, params=params, headers=headers), 422)
        assert (body["code"], body["field"]) == (code, field)
