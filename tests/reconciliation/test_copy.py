"""A CSV statement in PayGov's layout is loaded by PostgreSQL's COPY when it is written the
plain way, and line by line in Python otherwise: the run must be the same either way, on
both databases (SQLite always reads in Python)."""

from __future__ import annotations

import logging
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from paygov.audit.models import AuditEntry
from paygov.kit.context import Context
from paygov.reconciliation import service
from paygov.reconciliation.models import FINAL_CLASSES, ReconItem, ReconRun, StatementLine
from tests.reconciliation.test_reconcile import DAY, at, classes, count, install, local
from tests.reconciliation.test_reconcile import reconcile as run_day

HEADER = "booked_at,amount,txn_ref,memo,bank_reference,fee"
NEXT_MORNING = local(DAY + timedelta(days=1), 1, 30)


def csv_bank(ctx: Context) -> None:
    bank = install(ctx)
    bank.statement = {"format": "csv", "layout": "paygov"}


def write(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def time_of(hour: int, minute: int = 0, day: date = DAY) -> str:
    return local(day, hour, minute).isoformat()


# Every line a discrepancy (no attempt exists), so the run keeps every line: the kept lines
# are what the statement was read as.
ROWS = [
    f"{time_of(9, 15)},150000,PG0123456789ABCD,,VCB1,0",
    f"{local(DAY, 9, 16).astimezone(UTC).isoformat().replace('+00:00', 'Z')},20000,,"
    '"Đóng lệ phí, mã PGABCDEFGHJKMNPQ ""gấp""",VCB2,0',
    f"{time_of(10)},-50000,rfd_01M8XYZ,Hoàn tiền,VCB3,0",
    f"{time_of(11)},-50000,PG0123456789ABCD,,VCB4,0",
    f"{time_of(23, 59)},-1100,,PHI DICH VU THU HO,FEEVCB20261120,1100",
    f"{time_of(12)},300000,,Lãi tiền gửi,,0",
    f"{time_of(12, 30)},75000,PGZZZZZZZZZZZZZZ,,VCB7,500",
]


async def kept(ctx: Context, run_id: str) -> list[tuple[Any, ...]]:
    async with ctx.db.read() as session:
        lines = (
            await session.execute(
                select(
                    StatementLine.line_no,
                    StatementLine.booked_at,
                    StatementLine.amount,
                    StatementLine.fee,
                    StatementLine.kind,
                    StatementLine.reversal,
                    StatementLine.txn_ref,
                    StatementLine.ref,
                    StatementLine.bank_ref,
                    StatementLine.memo,
                    ReconItem.cls,
                )
                .join(
                    ReconItem,
                    (ReconItem.run_id == StatementLine.run_id)
                    & (ReconItem.line_no == StatementLine.line_no),
                )
                .where(StatementLine.run_id == run_id)
                .order_by(StatementLine.line_no)
            )
        ).all()
    return [tuple(line) for line in lines]


async def test_a_plain_file_is_read_as_the_same_file_read_line_by_line(
    ctx: Context, tmp_path: Path, caplog: pytest.LogCaptureFixture, backend: str
) -> None:
    csv_bank(ctx)
    at(ctx, NEXT_MORNING)
    caplog.set_level(logging.INFO, logger=service.__name__)
    plain = await run_day(ctx, write(tmp_path / "plain.csv", ROWS))
    assert "read line by line" not in caplog.text
    # A header with a space read_csv strips: the same statement, off the plain grammar.
    spaced = write(tmp_path / "spaced.csv", ROWS, header=HEADER.replace(",fee", ", fee"))
    by_line = await run_day(ctx, spaced)
    if backend == "postgresql":  # SQLite always reads line by line
        assert "spaced.csv: not in the plain CSV grammar, read line by line" in caplog.text

    lines = await kept(ctx, plain.id)
    assert lines == await kept(ctx, by_line.id)
    assert [(line[0], line[7], line[-1]) for line in lines] == [
        (1, "PG0123456789ABCD", "missing_at_paygov"),
        (2, "PGABCDEFGHJKMNPQ", "missing_at_paygov"),  # found in the memo
        (3, None, "unrelated"),
        (4, "PG0123456789ABCD", "unrelated"),  # no such attempt
        (5, None, "unrelated"),
        (6, None, "unrelated"),
        (7, "PGZZZZZZZZZZZZZZ", "missing_at_paygov"),
    ]
    assert lines[1][9] == 'Đóng lệ phí, mã PGABCDEFGHJKMNPQ "gấp"'
    assert lines[1][1] == local(DAY, 9, 16).astimezone(UTC)
    assert [line[4] for line in lines] == [
        *("payment", "payment", "refund", "refund", "fee", "payment", "payment")
    ]
    assert (lines[0][6], lines[2][6], lines[4][8]) == (
        "PG0123456789ABCD",
        "rfd_01M8XYZ",
        "FEEVCB20261120",
    )
    assert (plain.lines, plain.fees, plain.counts) == (by_line.lines, by_line.fees, by_line.counts)
    assert plain.fees == 1_600


async def test_the_planted_day_as_a_csv_file_gives_the_classes_of_the_camt_file(
    ctx: Context, tmp_path: Path, api: Any
) -> None:
    from tests.reconciliation.test_reconcile import Day

    day = Day()
    camt_path = await day.plant(ctx, api, tmp_path)
    r = day.refs
    morning = time_of(10)
    five_past = time_of(10, 5)
    as_csv = write(
        tmp_path / "day.csv",
        [
            f"{morning},150000,{r['matched']},,B1,0",
            f"{morning},80000,,MBVCB.3278.{r['by_memo'].lower()}.CT tu 0123,,0",
            f"{morning},59000,{r['amount_mismatch']},,B3,0",
            f"{morning},50000,{r['duplicate']},,B4,0",
            f"{five_past},50000,{r['duplicate']},,B5,0",
            f"{morning},40000,{r['refunded_by_bank']},,B6,0",
            f"{morning},-40000,{r['refunded_by_bank']},,B7,0",
            f"{morning},1000000,{r['with_fee']},,B8,1100",
            f"{morning},30000,{r['correctable']},,B9,0",
            f"{morning},25000,PGZZZZZZZZZZZZZZ,,B10,0",
            f"{morning},12345,,Lãi tiền gửi tháng 11,B11,0",
            f"{morning},-5500,,,B12,5500",
        ],
    )
    bank = ctx.providers.get("bank-r")
    bank.statement = {"format": "csv", "layout": "paygov"}
    from_csv = await run_day(ctx, as_csv)
    found = await classes(ctx, from_csv.id, as_csv)
    bank.statement = {"format": "camt053"}
    from_camt = await run_day(ctx, camt_path)
    assert found == await classes(ctx, from_camt.id, camt_path)
    assert set(found) == {*FINAL_CLASSES, "held"}
    assert from_csv.counts == from_camt.counts
    assert from_csv.fees == from_camt.fees == 6_600


async def test_a_value_the_database_refuses_is_named_by_its_line(
    ctx: Context, tmp_path: Path
) -> None:
    csv_bank(ctx)
    at(ctx, NEXT_MORNING)
    rows = [ROWS[0], ROWS[0].replace("2026-11-20", "2026-02-30"), ROWS[0]]
    with pytest.raises(service.StatementRefused) as refused:
        await run_day(ctx, write(tmp_path / "bad.csv", rows))
    assert 'bad.csv: line 3, column "booked_at": "2026-02-30T09:15:00+07:00"' in str(refused.value)
    assert await count(ctx, StatementLine) == 0
    assert await count(ctx, ReconItem) == 0
    async with ctx.db.read() as session:
        assert (await session.scalars(select(ReconRun.status))).all() == ["failed"]


async def test_a_line_with_the_longest_bank_reference_can_be_resolved(
    ctx: Context, tmp_path: Path
) -> None:
    csv_bank(ctx)
    at(ctx, NEXT_MORNING)
    reference = "FT" + "9" * 62  # 64 characters: the audit entry cannot be named by it
    run = await run_day(ctx, write(tmp_path / "s.csv", [f"{time_of(9)},5000,,Lãi,{reference},0"]))
    async with ctx.db.transaction() as session:
        resolved = await service.resolve(session, ctx, run, 1, "Lãi tiền gửi", "an@stc.gov.vn")
    assert resolved["subject"] == f"line:{reference}"
    async with ctx.db.read() as session:
        entry = await session.scalar(
            select(AuditEntry).where(AuditEntry.action == "reconciliation.resolved")
        )
    assert entry is not None
    assert (entry.subject_id, entry.details["subject"]) == (f"{run.id}:1", f"line:{reference}")


async def test_an_attempt_named_only_by_a_debit_is_not_missing_at_the_bank(
    ctx: Context, tmp_path: Path, api: Any
) -> None:
    from tests.reconciliation.test_reconcile import paid

    csv_bank(ctx)
    at(ctx, local(DAY, 9))
    ref = await paid(ctx, api, ctx.providers.get("bank-r"), 40_000)
    at(ctx, NEXT_MORNING)
    path = write(tmp_path / "s.csv", [f"{time_of(10)},-40000,{ref},,R1,0"])
    run = await run_day(ctx, path)
    found = await classes(ctx, run.id, path)
    assert list(found) == ["refund_mismatch"]  # a debit with no refund PayGov made
    assert run.counts["missing_at_bank"]["attempts"] == 0
