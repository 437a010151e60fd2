"""The finance API for reconciliation: runs, discrepancies, resolutions, and who may."""

from __future__ import annotations

from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bank_adapters.base import StatementLine as Line
from paygov.audit.models import AuditEntry
from paygov.kit.context import Context
from tests.factories import staff_token
from tests.reconciliation.test_reconcile import DAY, at, install, local, paid


async def day_with_discrepancies(ctx: Context, api: httpx.AsyncClient) -> str:
    """A fetchable statement with one match, one amount mismatch and one orphan; a txn_ref."""
    bank = install(ctx)
    at(ctx, local(DAY, 9))
    good = await paid(ctx, api, bank, 150_000)
    short = await paid(ctx, api, bank, 90_000)

    async def fetch_statement(day: date) -> Any:
        booked = local(DAY, 10).astimezone(UTC)
        yield Line(booked, 150_000, good, None, "A1")
        yield Line(booked, 89_000, short, None, "A2")
        yield Line(booked, 7_000, "PGQQQQQQQQQQQQQQ", None, "A3")

    bank.adapter.fetch_statement = fetch_statement
    at(ctx, local(DAY + timedelta(days=1), 2))
    return short


async def test_finance_runs_reads_and_resolves(
    ctx: Context, api: httpx.AsyncClient, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    short = await day_with_discrepancies(ctx, api)
    finance = await staff_token(ctx)
    started = await client.post(
        "/v1/finance/reconciliation/runs",
        json={"provider": "bank-r", "date": DAY.isoformat()},
        headers=finance,
    )
    assert started.status_code == 201, started.text
    run = started.json()
    assert run["status"] == "completed"
    assert run["lines"] == 3
    assert run["started_by"] == "staff:finance@stc.gov.vn"
    assert run["classes"]["amount_mismatch"]["lines"] == 1

    listed = await client.get(
        f"/v1/finance/reconciliation/runs/{run['run_id']}/discrepancies", headers=finance
    )
    items = listed.json()["items"]
    assert [(i["class"], i["txn_ref"], i["bank_amount"]) for i in items] == [
        ("amount_mismatch", short, 89_000),
        ("missing_at_paygov", None, 7_000),
    ]
    mismatch = items[0]
    resolved = await client.post(
        f"/v1/finance/reconciliation/runs/{run['run_id']}/discrepancies/{mismatch['item_id']}/resolve",
        json={"reason": "Ngân hàng thu phí 1.000 ₫ trên giao dịch"},
        headers=finance,
    )
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["resolution"]["resolved_by"] == "staff:finance@stc.gov.vn"
    again = await client.post(
        f"/v1/finance/reconciliation/runs/{run['run_id']}/discrepancies/{mismatch['item_id']}/resolve",
        json={"reason": "twice"},
        headers=finance,
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "discrepancy_already_resolved"

    # A re-run of the day keeps the person's word.
    rerun = await client.post(
        "/v1/finance/reconciliation/runs",
        json={"provider": "bank-r", "date": DAY.isoformat()},
        headers=finance,
    )
    after = await client.get(
        f"/v1/finance/reconciliation/runs/{rerun.json()['run_id']}/discrepancies",
        headers=finance,
    )
    kept = after.json()["items"][0]
    assert kept["class"] == "amount_mismatch"
    assert kept["resolution"]["reason"] == "Ngân hàng thu phí 1.000 ₫ trên giao dịch"
    async with ctx.db.read() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions.count("reconciliation.resolved") == 1


async def test_the_walls(ctx: Context, api: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    await day_with_discrepancies(ctx, api)
    viewer = await staff_token(ctx, role="viewer")
    agency_staff = await staff_token(ctx, role="agency_finance", agency="dvc-hcm")
    body = {"provider": "bank-r", "date": DAY.isoformat()}
    url = "/v1/finance/reconciliation/runs"

    assert (await client.post(url, json=body)).status_code == 401
    bogus = {"Authorization": "Bearer st_not-a-real-token"}
    assert (await client.get(url, headers=bogus)).json()["error"]["code"] == "invalid_staff_token"
    refused = await client.post(url, json=body, headers=viewer)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert (await client.get(url, headers=viewer)).status_code == 200
    assert (await client.get(url, headers=agency_staff)).status_code == 403
    # An agency's own API key is not a staff token.
    portal = {"Authorization": api.headers["Authorization"]}
    assert (await client.get(url, headers=portal)).status_code == 401


async def test_bad_requests_are_clear(
    ctx: Context, api: httpx.AsyncClient, client: httpx.AsyncClient
) -> None:
    await day_with_discrepancies(ctx, api)
    finance = await staff_token(ctx)
    url = "/v1/finance/reconciliation/runs"
    unknown = await client.post(
        url, json={"provider": "nope", "date": "2026-11-20"}, headers=finance
    )
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "provider_not_found"
    bad_day = await client.post(
        url, json={"provider": "bank-r", "date": "20-11-2026"}, headers=finance
    )
    assert bad_day.status_code == 422
    missing = await client.get(f"{url}/rec_01JDQ5Z6R4N7X2K9W3B8C5V1TM", headers=finance)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "reconciliation_run_not_found"
