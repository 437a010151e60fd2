"""`paygov reconcile` as a real process: files, reports, one-line errors, and a run killed
half-way that a restart finishes with every correction made exactly once."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest
from sqlalchemy import func, select

from paygov.audit.models import AuditEntry
from paygov.callbacks.models import InboxEntry
from paygov.kit.context import Context
from paygov.payments.models import Payment
from paygov.reconciliation.models import ReconRun
from paygov.webhooks.models import WebhookEvent
from tests.conftest import cli_env
from tests.payments_flow.test_attempts import new_payment, start
from tests.reconciliation import camt
from tests.reconciliation.camt import credit
from tests.test_cli import one_line_error, paygov

PROVIDER = "vcb-direct-sandbox"


async def open_attempts(ctx: Context, api: httpx.AsyncClient, amounts: list[int]) -> list[str]:
    async with ctx.db.read() as session:
        await ctx.providers.refresh(session, ctx.box)
    via = ctx.providers.get(PROVIDER)
    refs = []
    for amount in amounts:
        created = await new_payment(api, amount=amount)
        refs.append(await start(ctx, created["payment_id"], via))
    return refs


def today() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()


async def scalar(ctx: Context, query: object) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(query) or 0)  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("point", "corrected_when_killed"),
    [
        ("reconcile_after_load", 0),
        ("reconcile_after_classify", 0),
        ("reconcile_after_correction", 2),
    ],
)
async def test_a_run_killed_half_way_is_finished_by_the_next_with_no_second_effect(
    sandbox_providers: Context,
    api: httpx.AsyncClient,
    tmp_path: Path,
    point: str,
    corrected_when_killed: int,
) -> None:
    ctx = sandbox_providers
    refs = await open_attempts(ctx, api, [30_000, 40_000])
    now = datetime.now(UTC)
    path = camt.write(
        tmp_path / "s.xml", [credit(now, 30_000, refs[0]), credit(now, 40_000, refs[1])]
    )
    args = ["reconcile", "--date", today(), "--provider", PROVIDER, "--file", str(path)]

    killed = paygov(cli_env(ctx, PAYGOV_TEST_CRASH_AT=point), *args)
    assert killed.returncode == -9
    succeeded = select(func.count()).select_from(Payment).where(Payment.status == "succeeded")
    assert await scalar(ctx, succeeded) == corrected_when_killed
    # The dead run holds the day until its lease runs out; then a new run takes over.
    busy = paygov(ctx, *args)
    assert "is still running" in one_line_error(busy)
    finished = paygov(cli_env(ctx, PAYGOV_RECONCILE_LEASE_SECONDS="0"), *args)
    assert finished.returncode == 0, finished.stderr
    summary = json.loads(finished.stdout)
    assert summary["status"] == "completed"
    assert summary["classes"]["missing_at_paygov"]["lines"] == 2

    assert await scalar(ctx, succeeded) == 2
    for ref in refs:
        assert await scalar(ctx, select(func.count()).where(InboxEntry.txn_ref == ref)) == 1
    webhooks = select(func.count()).where(WebhookEvent.type == "payment.succeeded")
    assert await scalar(ctx, webhooks) == 2
    corrected = select(func.count()).where(AuditEntry.action == "reconciliation.corrected")
    assert await scalar(ctx, corrected) == 2
    async with ctx.db.read() as session:
        statuses = sorted((await session.scalars(select(ReconRun.status))).all())
    assert statuses == ["completed", "failed"]
    assert paygov(ctx, "audit", "verify").returncode == 0


async def test_reports_open_in_excel_with_vietnamese_text(
    sandbox_providers: Context, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    ctx = sandbox_providers
    now = datetime.now(UTC)
    memo = "Nộp lệ phí hộ tịch — không rõ mã"
    path = camt.write(tmp_path / "s.xml", [credit(now, 55_000, "PGABCDEFGHJKMNPQ", memo=memo)])
    ran = paygov(ctx, "reconcile", "--date", today(), "--provider", PROVIDER, "--file", str(path))
    assert ran.returncode == 0, ran.stderr
    run_id = json.loads(ran.stdout)["run_id"]

    out = tmp_path / "report.csv"
    assert paygov(ctx, "reconciliation", "report", run_id, "--output", str(out)).returncode == 0
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    discrepancies = [row for row in rows if row["section"] == "discrepancy"]
    assert [(r["class"], r["bank_amount"], r["memo"]) for r in discrepancies] == [
        ("missing_at_paygov", "55000", memo)
    ]
    summary = {row["class"]: row for row in rows if row["section"] == "summary"}
    assert summary["missing_at_paygov"]["lines"] == "1"

    book_path = tmp_path / "report.xlsx"
    assert (
        paygov(ctx, "reconciliation", "report", run_id, "--output", str(book_path)).returncode == 0
    )
    sheet = openpyxl.load_workbook(book_path, read_only=True).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    header = list(values[0])
    last = dict(zip(header, values[-1], strict=True))
    assert last["memo"] == memo
    assert last["bank_amount"] == 55_000


async def test_bad_input_is_one_line(sandbox_providers: Context, tmp_path: Path) -> None:
    ctx = sandbox_providers
    missing = paygov(
        ctx, "reconcile", "--date", "2026-11-20", "--provider", PROVIDER, "--file", "/nope.xml"
    )
    assert one_line_error(missing) == "paygov: no such file: /nope.xml"
    assert "is not a date" in one_line_error(paygov(ctx, "reconcile", "--date", "20/11/2026"))
    no_provider = paygov(ctx, "reconcile", "--date", "2026-11-20", "--file", "/nope.xml")
    assert "--file needs --provider" in one_line_error(no_provider)
    vietqr = paygov(ctx, "reconcile", "--date", "2026-11-20", "--provider", "vietqr-sandbox")
    assert "has no statement API" in one_line_error(vietqr)
    broken = tmp_path / "broken.xml"
    broken.write_bytes(b"<Document><BkToCstmrStmt>")
    refused = one_line_error(
        paygov(
            ctx, "reconcile", "--date", "2026-11-20", "--provider", PROVIDER, "--file", str(broken)
        )
    )
    assert refused.startswith("paygov: broken.xml: ")
    unknown = paygov(
        ctx, "reconciliation", "report", "rec_nope", "--output", str(tmp_path / "r.csv")
    )
    assert one_line_error(unknown) == "paygov: No reconciliation run with this id."
    assert not (tmp_path / "r.csv").exists()
