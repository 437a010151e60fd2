"""Reconciliation runs and discrepancies as JSON for the API and the CLI, and as files."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from paygov.kit.context import Context
from paygov.reconciliation import repository, service
from paygov.reconciliation.models import ReconRun
from paygov.reconciliation.repository import DISCREPANCY_COLUMNS
from paygov.reports.writers import Column, Format, Kind, render

REPORT_BATCH = 1_000


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def run_summary(run: ReconRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "provider": run.provider,
        "date": run.day.isoformat(),
        "status": run.status,
        "source": run.source,
        "input_name": run.input_name,
        "input_sha256": run.input_sha256,
        "started_by": run.started_by,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "lines": run.lines,
        "fees": run.fees,
        "classes": run.counts,
        "error": run.error,
    }


def discrepancy_view(row: Sequence[Any] | Mapping[str, Any]) -> dict[str, Any]:
    found = (
        dict(row) if isinstance(row, Mapping) else dict(zip(DISCREPANCY_COLUMNS, row, strict=True))
    )
    return {
        "item_id": found["item_id"],
        "class": found["class"],
        "line_no": found["line_no"],
        "booked_at": _iso(found["booked_at"]),
        "bank_amount": found["bank_amount"],
        "paygov_amount": found["paygov_amount"],
        "fee": found["fee"],
        "statement_ref": found["statement_ref"],
        "bank_ref": found["bank_ref"],
        "memo": found["memo"],
        "txn_ref": found["txn_ref"],
        "payment_id": found["payment_id"],
        "refund_id": found["refund_id"],
        "corrected": bool(found["corrected"]),
        "subject": found["subject"],
        "resolution": None
        if found["resolution"] is None
        else {
            "reason": found["resolution"],
            "resolved_by": found["resolved_by"],
            "resolved_at": _iso(found["resolved_at"]),
        },
    }


# --- the run report (CSV or XLSX): the summary per class, then every discrepancy -------

REPORT_COLUMNS = (
    Column("section", Kind.CODE, 12),
    Column("class", Kind.CODE, 18),
    Column("lines", Kind.COUNT, 8),
    Column("attempts", Kind.COUNT, 9),
    Column("bank_amount", Kind.AMOUNT, 14),
    Column("paygov_amount", Kind.AMOUNT, 14),
    Column("fee", Kind.AMOUNT, 10),
    Column("line_no", Kind.COUNT, 8),
    Column("booked_at", Kind.TIME, 20),
    Column("statement_ref", Kind.TEXT, 22),
    Column("bank_ref", Kind.TEXT, 18),
    Column("memo", Kind.TEXT, 36),
    Column("txn_ref", Kind.CODE, 18),
    Column("payment_id", Kind.CODE, 30),
    Column("refund_id", Kind.CODE, 30),
    Column("corrected", Kind.FLAG, 10),
    Column("resolution", Kind.TEXT, 36),
    Column("resolved_by", Kind.TEXT, 22),
)


def _summary_rows(run: ReconRun) -> list[list[Any]]:
    rows = []
    for cls, count in run.counts.items():
        row: list[Any] = [None] * len(REPORT_COLUMNS)
        row[:6] = [
            "summary",
            cls,
            count["lines"],
            count["attempts"],
            count["bank_amount"],
            count["paygov_amount"],
        ]
        rows.append(row)
    fees: list[Any] = [None] * len(REPORT_COLUMNS)
    fees[:3], fees[6] = ["summary", "fees", run.lines], run.fees
    return [*rows, fees]


def _discrepancy_row(found: Mapping[str, Any]) -> list[Any]:
    return [
        "discrepancy",
        found["class"],
        None,
        None,
        found["bank_amount"],
        found["paygov_amount"],
        found["fee"],
        found["line_no"],
        found["booked_at"],
        found["statement_ref"],
        found["bank_ref"],
        found["memo"],
        found["txn_ref"],
        found["payment_id"],
        found["refund_id"],
        bool(found["corrected"]),
        found["resolution"],
        found["resolved_by"],
    ]


async def _report_batches(ctx: Context, run_id: str) -> AsyncIterator[Sequence[Sequence[Any]]]:
    async with ctx.db.read() as session:
        run = await service.get_run(session, run_id)
        yield _summary_rows(run)
        batch: list[Sequence[Any]] = []
        async for row in repository.discrepancies(session, run):
            batch.append(_discrepancy_row(dict(zip(DISCREPANCY_COLUMNS, row, strict=True))))
            if len(batch) == REPORT_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


def report_chunks(ctx: Context, run_id: str, fmt: Format) -> AsyncIterator[bytes]:
    zone = ZoneInfo(ctx.settings.business_timezone)
    return render(fmt, REPORT_COLUMNS, _report_batches(ctx, run_id), zone, sheet="Reconciliation")


def report_filename(run_id: str, fmt: Format) -> str:
    return f"reconciliation-{run_id}.{fmt}"
