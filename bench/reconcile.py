"""Reconciliation at 10k, 100k and 1M beside its floor (DESIGN.md §13, fourth row).

For each size N, on a throwaway PostgreSQL (tests.pg) with production settings:

1. seed N succeeded attempts of one provider and one day with SQL (setup, not timed) and
   write the day's statement as a CSV file in PayGov's layout with 1 % planted
   discrepancies spread over every class: missing at the bank, amount mismatches,
   duplicates at the bank, orphans, money for open attempts (corrected by the run),
   refunds the bank made alone, and unrelated lines;
2. **ours**: `paygov reconcile --file` end to end in a child process (ingest, classify,
   corrections, fees, then the discrepancy report written as CSV), its wall time and
   peak RSS;
3. **floor**: PostgreSQL alone: `COPY` of the same file into a bare table, then one
   full join of it with the day's attempts materialised (CREATE TABLE AS);
4. **DuckDB** (reference): the same full join of the statement file and the attempts
   exported to a CSV file, both read by DuckDB;
5. checks that our run found exactly the planted classes (else the run is invalid).

Ours and the floor run in turn, three times each, and their medians are compared (the
floor alone varies by a quarter from run to run on this machine); the day's first run is
also shown. Only the first run makes corrections, timed apart.

    .venv/bin/python -m bench.reconcile [--sizes 10000,100000,1000000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bank_adapters.statements import PAYGOV_STATEMENT_COLUMNS
from paygov.kit import migrations
from paygov.kit.settings import Settings, new_key
from tests.pg import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "reconcile.md"
DAY = date(2026, 11, 20)
PROVIDER = "bench-bank"
AGENCY = "agy_BENCH"
SHARE = 0.01  # planted discrepancies, spread over the groups below
GROUPS = (
    "missing_at_bank",
    "amount_mismatch",
    "duplicate_at_bank",
    "orphan",
    "correctable",
    "refund_mismatch",
    "unrelated",
)
RATIO_TARGET = 2.0
ROUNDS = 3  # ours and the floor in turn; the medians are compared
RSS_TARGET_MB = 512


class BenchError(Exception):
    """The run is not valid: no figure should be trusted."""


def day_start() -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh")).astimezone(
        UTC
    )


def txn_ref(i: int) -> str:
    return f"PG{i:014d}"


# --- seeding (not timed) --------------------------------------------------------------------


# $2: the day's start; $3/$4: every $3-th attempt from $4 on is left open (corrected by
# the run); $5: seconds between attempts; $6: how many.
SERIES = """
    SELECT i, $2::timestamptz + i * $5::float8 * interval '1 second' AS at,
           i % $3 = $4 AS open
    FROM generate_series(1, $6) AS i
"""
SEED_PAYMENTS = f"""
INSERT INTO payments (id, agency_id, reference, description, amount, status, version,
    attempt_open, declines, late, language, return_url, checkout_token, metadata,
    amount_refunded, amount_overpaid, expires_at, paid_at, created_at, updated_at)
SELECT 'pay_' || lpad(i::text, 26, '0'), $1, 'HS-' || i, 'Lệ phí', 100000 + i % 1000,
    CASE WHEN open THEN 'pending' ELSE 'succeeded' END, 2, open, 0, false, 'vi',
    'https://dvc.example.gov.vn/kq', 'tok' || i, '{{}}', 0, 0, at + interval '2 days',
    CASE WHEN open THEN NULL ELSE at END, at, at
FROM ({SERIES}) s
"""
SEED_ITEMS = """
INSERT INTO payment_items (payment_id, position, code, name, amount, beneficiary_account)
SELECT 'pay_' || lpad(i::text, 26, '0'), 0, 'LEPHI', 'Lệ phí', 100000 + i % 1000, NULL
FROM generate_series(1, $1) AS i
"""
SEED_ATTEMPTS = f"""
INSERT INTO attempts (id, payment_id, txn_ref, provider, bank, amount, status, raw, polls,
    transfers, succeeded_at, succeeded_via, created_at, updated_at)
SELECT 'att_' || lpad(i::text, 26, '0'), 'pay_' || lpad(i::text, 26, '0'),
    'PG' || lpad(i::text, 14, '0'), $1, 'VCB', 100000 + i % 1000,
    CASE WHEN open THEN 'open' ELSE 'succeeded' END, '{{}}', 0,
    CASE WHEN open THEN 0 ELSE 1 END, CASE WHEN open THEN NULL ELSE at END,
    CASE WHEN open THEN NULL ELSE 'callback' END, at, at
FROM ({SERIES}) s
"""


@dataclass(frozen=True)
class Plan:
    """Which attempt numbers carry which planted discrepancy: every `every`-th attempt,
    at offset `group index`, takes that group's discrepancy."""

    size: int
    every: int

    def group(self, i: int) -> str | None:
        slot = i % self.every
        return GROUPS[slot] if slot < len(GROUPS) else None

    @property
    def correctable_slot(self) -> int:
        return GROUPS.index("correctable")

    def expected(self) -> dict[str, tuple[int, int]]:
        """Per class, (lines, attempts) the run must report."""
        counts = {g: sum(1 for i in range(1, self.size + 1) if self.group(i) == g) for g in GROUPS}
        n = self.size
        missing = counts["missing_at_bank"] + counts["amount_mismatch"] + counts["correctable"]
        return {
            "matched": (n - missing, 0),
            "missing_at_bank": (0, counts["missing_at_bank"]),
            "amount_mismatch": (counts["amount_mismatch"], 0),
            "duplicate_at_bank": (counts["duplicate_at_bank"], 0),
            "missing_at_paygov": (counts["orphan"] + counts["correctable"], 0),
            "refund_mismatch": (counts["refund_mismatch"], 0),
            "unrelated": (counts["unrelated"], 0),
        }


def spacing(size: int) -> float:
    """Seconds between attempts: the day from 00:00 to 22:00, clear of the midnight hold."""
    return 22 * 3600 / size


async def seed(connection: asyncpg.Connection, plan: Plan) -> None:
    start = day_start()
    step = spacing(plan.size)
    await connection.execute(
        "INSERT INTO agencies (id, code, name, mode, return_hosts, webhook_url,"
        " webhook_secrets, created_at, updated_at)"
        " VALUES ($1, 'bench', 'Benchmark', 'live', '[]', NULL, 'x', $2, $2)",
        AGENCY,
        start,
    )
    slot = plan.correctable_slot
    await connection.execute(SEED_PAYMENTS, AGENCY, start, plan.every, slot, step, plan.size)
    await connection.execute(SEED_ITEMS, plan.size)
    await connection.execute(SEED_ATTEMPTS, PROVIDER, start, plan.every, slot, step, plan.size)
    # As a night's attempts are by the time their day is reconciled: vacuumed (hint bits
    # set, visibility map written) and analysed.
    await connection.execute("VACUUM ANALYZE")


def write_statement(path: Path, plan: Plan) -> int:
    """The bank's day in PayGov's CSV layout; returns the number of lines."""
    start = day_start()
    step = spacing(plan.size)
    lines = 0
    with path.open("w", newline="", encoding="utf-8") as file:
        out = csv.writer(file)
        out.writerow(PAYGOV_STATEMENT_COLUMNS)
        for i in range(1, plan.size + 1):
            group = plan.group(i)
            booked = (start + timedelta(seconds=i * step + 30)).isoformat()
            amount = 100_000 + i % 1000
            ref = txn_ref(i)
            if group == "missing_at_bank":
                continue
            if group == "amount_mismatch":
                amount -= 1_000
            out.writerow((booked, amount, ref, "", f"B{i}", 0))
            lines += 1
            if group == "orphan":  # money with a PayGov-looking reference nobody issued
                out.writerow((booked, amount, f"PGX{i:013d}", "", f"O{i}", 0))
                lines += 1
            if group == "duplicate_at_bank":
                out.writerow((booked, amount, ref, "", f"D{i}", 0))
                lines += 1
            if group == "refund_mismatch":
                out.writerow((booked, -amount, ref, "", f"R{i}", 0))
                lines += 1
            if group == "unrelated":
                out.writerow((booked, 5_000, "", "Lãi tiền gửi", f"U{i}", 0))
                lines += 1
    return lines


# --- the three measurements -----------------------------------------------------------------


async def ours_child(url: str, path: Path, report: Path) -> dict[str, float]:
    """Runs in a child process: reconcile and write the discrepancy report."""
    from unittest.mock import MagicMock

    from bank_adapters.base import Adapter
    from paygov.kit.context import Context
    from paygov.providers.live import LiveProvider
    from paygov.reconciliation import service, views
    from paygov.reports.cli import write_file

    settings = Settings(
        environment="production",
        database_url=url,
        master_key=new_key(),
        api_key_secret=new_key(),
        var_dir=Path(tempfile.gettempdir()),
    )
    ctx = Context.build(settings)
    adapter = MagicMock(spec=Adapter)
    adapter.each_callback_is_a_transfer = False
    adapter.statement_file_only = True
    ctx.providers.by_code[PROVIDER] = LiveProvider(
        PROVIDER, "signed_json", PROVIDER, "live", True, 10**12, adapter, {"format": "csv"}
    )
    ctx.providers.loaded_at = float("inf")
    # Corrections are side effects (each a payment success: ledger, webhook, audit), not
    # ingest/classify/report: timed apart, around the service's own correction step.
    correcting = [0.0]
    correct = service._correct

    async def timed_correct(*args: Any) -> None:
        began = time.perf_counter()
        await correct(*args)
        correcting[0] += time.perf_counter() - began

    service._correct = timed_correct  # type: ignore[assignment]
    began = time.perf_counter()
    run = await service.reconcile(ctx, provider_code=PROVIDER, day=DAY, actor="bench", path=path)
    classified = time.perf_counter()
    await write_file(report, views.report_chunks(ctx, run.id, "csv"))
    done = time.perf_counter()
    await ctx.close()
    return {
        "seconds": done - began,
        "reconcile_seconds": classified - began,
        "report_seconds": done - classified,
        "correction_seconds": correcting[0],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "classes": run.counts,  # type: ignore[dict-item]
    }


FLOOR_TABLE = """
CREATE TABLE floor_lines (booked_at timestamptz, amount bigint, txn_ref text, memo text,
                          bank_reference text, fee bigint)
"""
FLOOR_JOIN = """
CREATE TABLE floor_result AS
SELECT l.txn_ref AS line_ref, l.amount AS bank_amount, a.id AS attempt_id, a.amount
FROM floor_lines l
FULL JOIN (SELECT id, txn_ref, amount FROM attempts
           WHERE provider = $1 AND status = 'succeeded'
             AND succeeded_at >= $2 AND succeeded_at < $3) a ON a.txn_ref = l.txn_ref
"""


async def floor(pg: PostgresServer, database: str, path: Path) -> float:
    connection = await asyncpg.connect(
        host="127.0.0.1", port=pg.port, user="postgres", database=database
    )
    try:
        await connection.execute("DROP TABLE IF EXISTS floor_lines, floor_result")
        await connection.execute(FLOOR_TABLE)
        start = day_start()
        began = time.perf_counter()
        await connection.copy_to_table("floor_lines", source=str(path), format="csv", header=True)
        await connection.execute(FLOOR_JOIN, PROVIDER, start, start + timedelta(days=1))
        return time.perf_counter() - began
    finally:
        await connection.close()


async def export_attempts(pg: PostgresServer, database: str, path: Path) -> None:
    connection = await asyncpg.connect(
        host="127.0.0.1", port=pg.port, user="postgres", database=database
    )
    try:
        await connection.copy_from_query(
            "SELECT id, txn_ref, amount FROM attempts WHERE status = 'succeeded'",
            output=str(path),
            format="csv",
            header=True,
        )
    finally:
        await connection.close()


def duckdb_join(statement: Path, attempts: Path) -> float:
    import duckdb

    began = time.perf_counter()
    connection = duckdb.connect()
    connection.execute(
        f"CREATE TABLE result AS SELECT l.txn_ref, l.amount, a.id, a.amount AS ours"
        f" FROM read_csv('{statement}', header=true) l"
        f" FULL JOIN read_csv('{attempts}', header=true) a ON a.txn_ref = l.txn_ref"
    )
    connection.close()
    return time.perf_counter() - began


# --- the run --------------------------------------------------------------------------------


@dataclass
class Result:
    size: int
    lines: int
    compared: float  # ingest, classify, write the discrepancy report: DESIGN.md §13's figure
    first: float  # the same for the day's first run
    corrections: float
    floor: float
    duckdb: float
    rss_mb: float

    @property
    def ratio(self) -> float:
        return self.compared / self.floor


async def create_database(pg: PostgresServer, name: str) -> str:
    admin = await asyncpg.connect(host="127.0.0.1", port=pg.port, user="postgres")
    try:
        await admin.execute(f"CREATE DATABASE {name}")
        await admin.execute(f"ALTER DATABASE {name} SET synchronous_commit = on")
    finally:
        await admin.close()
    url = pg.url(name)
    await asyncio.to_thread(migrations.upgrade, url)
    return url


def check(plan: Plan, classes: dict[str, dict[str, int]]) -> None:
    for cls, (lines, attempts) in plan.expected().items():
        got = classes.get(cls, {})
        if (got.get("lines", 0), got.get("attempts", 0)) != (lines, attempts):
            raise BenchError(f"{cls}: expected {lines} lines/{attempts} attempts, got {got}")


async def measure(pg: PostgresServer, size: int, workdir: Path) -> Result:
    database = f"recon_{size}"
    url = await create_database(pg, database)
    plan = Plan(size, every=round(len(GROUPS) / SHARE))
    connection = await asyncpg.connect(
        host="127.0.0.1", port=pg.port, user="postgres", database=database
    )
    try:
        await seed(connection, plan)
    finally:
        await connection.close()
    statement = workdir / f"statement-{size}.csv"
    lines = write_statement(statement, plan)
    attempts_csv = workdir / f"attempts-{size}.csv"
    await export_attempts(pg, database, attempts_csv)

    runs, floors = [], []
    for _ in range(ROUNDS):  # a re-run of the day does the same work, corrections aside
        runs.append(ours(url, statement))
        check(plan, runs[-1]["classes"])
        floors.append(await floor(pg, database, statement))
    duck = await asyncio.to_thread(duckdb_join, statement, attempts_csv)
    compared = [run["seconds"] - run["correction_seconds"] for run in runs]
    return Result(
        size=size,
        lines=lines,
        compared=statistics.median(compared),
        first=compared[0],
        corrections=runs[0]["correction_seconds"],
        floor=statistics.median(floors),
        duckdb=duck,
        rss_mb=max(run["peak_rss_mb"] for run in runs),
    )


def ours(url: str, statement: Path) -> dict[str, Any]:
    """One run of `service.reconcile` in a child process (its peak RSS is the figure)."""
    child = subprocess.run(
        [sys.executable, "-m", "bench.reconcile", "--child", url, str(statement)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if child.returncode != 0:
        raise BenchError(f"our run failed:\n{child.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def table(results: list[Result]) -> str:
    head = (
        f"| attempts | lines | ingest + classify + report (s), median of {ROUNDS}"
        f" | floor: COPY + join (s), median of {ROUNDS} | ratio | first run (s)"
        " | corrections, first run (s) | peak RSS (MB) | DuckDB join (s) |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = "".join(
        f"| {r.size:,} | {r.lines:,} | {r.compared:.2f} | {r.floor:.2f} | **{r.ratio:.2f}x**"
        f" | {r.first:.2f} | {r.corrections:.2f} | {r.rss_mb:.0f} | {r.duckdb:.2f} |\n"
        for r in results
    )
    return head + rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        url, path = args.child
        report = Path(tempfile.mkdtemp()) / "report.csv"
        print(json.dumps(asyncio.run(ours_child(url, Path(path), report))))
        return
    sizes = [int(size) for size in args.sizes.split(",")]
    pg = PostgresServer.start()
    results: list[Result] = []
    try:
        with tempfile.TemporaryDirectory() as workdir:
            for size in sizes:
                result = asyncio.run(measure(pg, size, Path(workdir)))
                results.append(result)
                print(table([result]).splitlines()[-1], flush=True)
    except BenchError as exc:
        print(f"INVALID RUN: {exc}", file=sys.stderr)
        sys.exit(2)
    finally:
        pg.stop()
    text = table(results)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        f"# Reconciliation benchmark\n\n`python -m bench.reconcile --sizes {args.sizes}`"
        f" on {machine}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.\n\n{text}",
        encoding="utf-8",
    )
    print(text)
    # The ratio target is for a day at scale, the largest size measured: at 10k the floor
    # takes 40 ms and a run's fixed costs (its transactions, statistics, temporary tables
    # and report query, about 0.1 s) are most of ours.
    largest = max(results, key=lambda r: r.size)
    peak = max(r.rss_mb for r in results)
    sys.exit(0 if largest.ratio <= RATIO_TARGET and peak <= RSS_TARGET_MB else 1)


if __name__ == "__main__":
    main()
