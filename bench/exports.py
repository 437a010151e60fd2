"""Transaction export of 1,000,000 payments beside its floors (DESIGN.md §13, last row).

One run does everything and cleans up after itself:

1. starts a throwaway PostgreSQL (tests.pg), creates and migrates a database, creates one
   agency through PayGov's service, then inserts the payments (with their succeeded or
   failed attempts and some refunds) with `generate_series` SQL, spread over November
   2026 in Asia/Ho_Chi_Minh, and ANALYZEs;
2. measures, each in a fresh Python process (so its peak RSS is its own), in turn:
   * `fetch`: the export's query streamed through the same server-side cursor, rows only
     looked at (how much of every figure is the database and the driver);
   * `csv-floor`: the same rows, same query, same cursor, written by `csv.writer`;
   * `csv`: `paygov report transactions … --format csv`, end to end as the CLI runs it
     (context, checks, query, our CSV writer, temporary file renamed at the end);
   * `xlsx-floor`: the same rows written by xlsxwriter in constant-memory mode
     (`write_row`, nothing else);
   * `xlsx`: `paygov report transactions … --format xlsx`, end to end;
   for the whole month (1,000,000 rows) and for its first three days (100,000 rows, to
   show memory does not grow with the rows), `--rounds` times, floors and ours alternating;
3. prints the table (medians) and writes it to bench/results/exports.md.

Exit status: 0 when both targets pass (CSV at most 2 x floor, XLSX 1.2 x floor), 1 when one
fails, 2 when the run is invalid (a measurement failed or wrote the wrong number of rows).

    .venv/bin/python -m bench.exports [--rows 1000000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from bench.run import BenchError, code_version, exit_with, machine, publish
from paygov.kit import migrations
from paygov.kit.settings import new_key
from tests.pg import PostgresServer

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "exports.md"
DATABASE = "paygov_bench_exports"
AGENCY = "bench-hcm"
MONTH = (date(2026, 11, 1), date(2026, 11, 30))
FIRST_DAYS = (date(2026, 11, 1), date(2026, 11, 3))
CSV_TARGET = 2.0
XLSX_TARGET = 1.2
KINDS = ("fetch", "csv-floor", "csv", "xlsx-floor", "xlsx")


# --- set-up ----------------------------------------------------------------------------------

SEED = """
INSERT INTO payments (id, agency_id, reference, description, amount, status, version,
    attempt_open, declines, late, language, return_url, checkout_token, metadata,
    payer_sealed, provider, bank, failure_code, failure_message, amount_refunded,
    amount_overpaid, expires_at, paid_at, created_at, updated_at)
SELECT 'pay_' || lpad(i::text, 26, '0'), $1, 'HS-2026-' || lpad(i::text, 7, '0'),
    'Lệ phí cấp giấy phép lái xe hạng A1', 10000 + (i % 50) * 10000, s.status, 3,
    false, 0, i % 1000 = 1, 'vi', 'https://dichvucong.example.gov.vn/ket-qua',
    'tok_' || i, '{}'::json, NULL,
    CASE WHEN s.status = 'succeeded'
         THEN (ARRAY['vnpay', 'vietqr', 'vcb-direct', 'bidv-direct'])[i % 4 + 1] END,
    CASE WHEN s.status = 'succeeded' THEN (ARRAY['VCB', 'BIDV', 'TCB', 'MB', 'ACB'])[i % 5 + 1] END,
    NULL, NULL, CASE WHEN s.status = 'succeeded' AND i % 50 = 0 THEN 10000 ELSE 0 END, 0,
    t.created + interval '15 minutes',
    CASE WHEN s.status = 'succeeded' THEN t.created + interval '61 seconds' END,
    t.created, t.created + interval '61 seconds'
FROM generate_series(1, $2) AS i,
    LATERAL (SELECT $3::timestamptz + (i - 1) * ($4::float8 / $2) * interval '1 second'
             AS created) AS t,
    LATERAL (SELECT CASE WHEN i % 20 < 17 THEN 'succeeded' WHEN i % 20 = 17 THEN 'expired'
                         WHEN i % 20 = 18 THEN 'failed' ELSE 'cancelled' END AS status) AS s
"""
SEED_ATTEMPTS = """
INSERT INTO attempts (id, payment_id, txn_ref, provider, bank, amount, status,
    failure_reason, provider_txn_id, raw, polls, next_poll_at, succeeded_at, succeeded_via,
    transfers, created_at, updated_at)
SELECT 'att_' || substr(p.id, 5), p.id, 'B' || substr(p.id, 18), p.provider, p.bank,
    p.amount, 'succeeded', NULL, 'P' || substr(p.id, 18), '{}'::json, 0, NULL::timestamptz,
    p.paid_at,
    'callback', 1, p.created_at + interval '5 seconds', p.paid_at
FROM payments p WHERE p.status = 'succeeded'
UNION ALL
SELECT 'atf_' || substr(p.id, 5), p.id, 'F' || substr(p.id, 18), 'vnpay', 'VCB', p.amount,
    'failed', 'declined', NULL, '{}'::json, 0, NULL, NULL, NULL, 0,
    p.created_at + interval '1 second', p.created_at + interval '3 seconds'
FROM payments p WHERE substr(p.id, 18)::bigint % 10 = 0
"""
SEED_REFUNDS = """
INSERT INTO refunds (id, payment_id, agency_id, attempt_id, provider, amount, reason,
    status, items, provider_refund_id, failure_message, next_attempt_at, created_at,
    updated_at)
SELECT 'rfd_' || substr(p.id, 5), p.id, p.agency_id, 'att_' || substr(p.id, 5), p.provider,
    10000, 'Hồ sơ bị từ chối', 'succeeded', '{"LEPHI": 10000}'::json, 'R1', NULL, NULL,
    p.paid_at + interval '1 day', p.paid_at + interval '1 day'
FROM payments p WHERE p.amount_refunded > 0
"""


def environment(url: str, var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYGOV_")}
    env.update(
        PAYGOV_ENVIRONMENT="production",
        PAYGOV_DATABASE_URL=url,
        PAYGOV_MASTER_KEY=new_key(),
        PAYGOV_API_KEY_SECRET=new_key(),
        PAYGOV_VAR_DIR=str(var_dir),
    )
    return env


def paygov(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "paygov.cli", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise BenchError(f"paygov {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


async def seed(pg: PostgresServer, rows: int) -> dict[str, str]:
    """Insert the payments; returns PostgreSQL's settings and the seeding time."""
    connection = await asyncpg.connect(
        host="127.0.0.1", port=pg.port, user="postgres", database=DATABASE
    )
    try:
        agency_id = await connection.fetchval("SELECT id FROM agencies WHERE code = $1", AGENCY)
        zone = ZoneInfo("Asia/Ho_Chi_Minh")
        start = datetime.combine(MONTH[0], datetime.min.time(), zone).astimezone(UTC)
        seconds = (MONTH[1] - MONTH[0] + timedelta(days=1)).total_seconds()
        began = time.perf_counter()
        await connection.execute(SEED, agency_id, rows, start, seconds)
        await connection.execute(SEED_ATTEMPTS)
        await connection.execute(SEED_REFUNDS)
        await connection.execute("ANALYZE")
        facts = {"seed_seconds": f"{time.perf_counter() - began:.1f}"}
        for name in ("server_version", "shared_buffers", "work_mem"):
            facts[name] = str(await connection.fetchval(f"SHOW {name}"))
        facts["payments"] = str(await connection.fetchval("SELECT count(*) FROM payments"))
        facts["attempts"] = str(await connection.fetchval("SELECT count(*) FROM attempts"))
        facts["refunds"] = str(await connection.fetchval("SELECT count(*) FROM refunds"))
    finally:
        await connection.close()
    return facts


# --- one measurement, in its own process --------------------------------------------------------


def memory_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def floor(kind: str, first: date, last: date, out: Path) -> int:
    """The same query through the same cursor, written by the plain library."""
    import xlsxwriter

    from paygov.kit.context import Context
    from paygov.reports import repository, service

    ctx = Context.build()
    zone = ZoneInfo(ctx.settings.business_timezone)
    count = 0
    try:
        async with ctx.db.read() as session:
            query = await service.transaction_query(
                session,
                staff=None,
                wanted=service.TransactionFilter(first, last, agency_code=AGENCY),
                zone=zone,
                now=ctx.clock.now(),
                grace=timedelta(seconds=ctx.settings.expiry_grace_seconds),
            )
            batches = repository.stream(session, repository.transactions(query))
            if kind == "fetch":
                async for batch in batches:
                    for _row in batch:
                        count += 1
            elif kind == "csv-floor":
                with out.open("w", newline="", encoding="utf-8") as file:
                    writer = csv.writer(file)
                    async for batch in batches:
                        writer.writerows(batch)
                        count += len(batch)
            else:
                book = xlsxwriter.Workbook(
                    str(out), {"constant_memory": True, "remove_timezone": True}
                )
                sheet = book.add_worksheet()
                async for batch in batches:
                    for row in batch:
                        sheet.write_row(count, 0, row)
                        count += 1
                book.close()
    finally:
        await ctx.close()
    return count


def ours(kind: str, first: date, last: date, out: Path) -> int:
    """`paygov report transactions`, as an operator runs it."""
    from paygov.cli import main

    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        main(
            [
                "report",
                "transactions",
                "--from",
                first.isoformat(),
                "--to",
                last.isoformat(),
                "--agency",
                AGENCY,
                "--format",
                kind,
                "--output",
                str(out),
            ]
        )
    return int(json.loads(captured.getvalue())["rows"])


def measure_here(kind: str, first: date, last: date, out: Path) -> dict[str, Any]:
    baseline = memory_kb("VmRSS")
    began, cpu = time.perf_counter(), time.process_time()
    if kind in ("csv", "xlsx"):
        rows = ours(kind, first, last, out)
    else:
        rows = asyncio.run(floor(kind, first, last, out))
    return {
        "kind": kind,
        "rows": rows,
        "seconds": time.perf_counter() - began,
        "cpu_seconds": time.process_time() - cpu,
        "bytes": out.stat().st_size if out.exists() else 0,
        "baseline_rss_mb": baseline / 1024,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure(env: dict[str, str], kind: str, days: tuple[date, date], tmp: Path) -> dict[str, Any]:
    out = tmp / f"export-{kind}.{'xlsx' if 'xlsx' in kind else 'csv'}"
    out.unlink(missing_ok=True)
    done = subprocess.run(
        [sys.executable, "-m", "bench.exports", "--measure", kind, "--days",
         days[0].isoformat(), days[1].isoformat(), "--out", str(out)],
        env=env, cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if done.returncode != 0:
        raise BenchError(f"{kind} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    out.unlink(missing_ok=True)
    return result


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    kind: str
    rows: int
    seconds: float
    cpu_seconds: float
    megabytes: float
    baseline_rss_mb: float
    peak_rss_mb: float


def median(results: list[dict[str, Any]]) -> Figure:
    rows = {r["rows"] for r in results}
    if len(rows) != 1:
        raise BenchError(f"{results[0]['kind']}: different row counts {rows}")
    return Figure(
        results[0]["kind"],
        rows.pop(),
        statistics.median(r["seconds"] for r in results),
        statistics.median(r["cpu_seconds"] for r in results),
        statistics.median(r["bytes"] for r in results) / 1e6,
        max(r["baseline_rss_mb"] for r in results),
        max(r["peak_rss_mb"] for r in results),
    )


@dataclass(frozen=True)
class Size:
    """One size's medians, and each round's ratio of ours to its floor (measured back to
    back, so load from other processes that comes and goes touches both sides alike)."""

    figures: dict[str, Figure]
    wall_ratios: dict[str, list[float]]
    cpu_ratios: dict[str, list[float]]


def run_size(env: dict[str, str], days: tuple[date, date], rounds: int, tmp: Path) -> Size:
    results: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for number in range(1, rounds + 1):
        for kind in KINDS:
            one = measure(env, kind, days, tmp)
            results[kind].append(one)
            print(
                f"  round {number} {kind:>10}: {one['rows']} rows {one['seconds']:.2f} s, "
                f"CPU {one['cpu_seconds']:.2f} s, peak RSS {one['peak_rss_mb']:.0f} MB",
                flush=True,
            )
    figures = {kind: median(found) for kind, found in results.items()}
    counts = {figure.rows for figure in figures.values()}
    if len(counts) != 1:
        raise BenchError(f"the measurements saw different rows: {counts}")

    def ratios(name: str, key: str) -> list[float]:
        pairs = zip(results[name], results[f"{name}-floor"], strict=True)
        return [ours[key] / floor[key] for ours, floor in pairs]

    return Size(
        figures,
        {name: ratios(name, "seconds") for name in ("csv", "xlsx")},
        {name: ratios(name, "cpu_seconds") for name in ("csv", "xlsx")},
    )


def report(sizes: dict[str, Size], facts: dict[str, str], rounds: int) -> tuple[str, bool]:
    ok = True
    lines = [
        f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `python -m bench.exports`, {rounds} "
        f"rounds, {code_version()}. Figures are medians over the rounds.",
        "",
        "| rows | measurement | seconds | CPU s (Python) | file MB | RSS before MB | peak RSS MB |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size in sizes.values():
        for f in size.figures.values():
            lines.append(
                f"| {f.rows:,} | {f.kind} | {f.seconds:.2f} | {f.cpu_seconds:.2f} | "
                f"{f.megabytes:.1f} | {f.baseline_rss_mb:.0f} | {f.peak_rss_mb:.0f} |"
            )
    lines += [
        "",
        "| rows | ratio | wall, median of rounds | each round | CPU | target | verdict |",
        "|---:|---|---:|---|---:|---:|---|",
    ]
    for size in sizes.values():
        for name, target in (("csv", CSV_TARGET), ("xlsx", XLSX_TARGET)):
            wall = statistics.median(size.wall_ratios[name])
            cpu = statistics.median(size.cpu_ratios[name])
            passed = wall <= target
            ok = ok and passed
            each = ", ".join(f"{ratio:.2f}" for ratio in size.wall_ratios[name])
            lines.append(
                f"| {size.figures[name].rows:,} | {name} / {name}-floor | {wall:.2f} | {each} | "
                f"{cpu:.2f} | ≤ {target} | {'**PASS**' if passed else '**FAIL**'} |"
            )
    lines += [
        "",
        f"Machine: {machine()}; PostgreSQL {facts['server_version']} (shared_buffers "
        f"{facts['shared_buffers']}, work_mem {facts['work_mem']}); Python "
        f"{platform.python_version()}, SQLAlchemy {version('sqlalchemy')}, asyncpg "
        f"{version('asyncpg')}, xlsxwriter {version('xlsxwriter')}. Seeded "
        f"{facts['payments']} payments, {facts['attempts']} attempts, {facts['refunds']} "
        f"refunds in {facts['seed_seconds']} s.",
    ]
    return "\n".join(lines) + "\n", ok


def run(rows: int, rounds: int) -> bool:
    tmp = Path(tempfile.mkdtemp(prefix="paygov-bench-exports-"))
    print("starting PostgreSQL ...", flush=True)
    pg = PostgresServer.start()
    try:
        url = pg.url(DATABASE)
        pg._run("createdb", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", DATABASE)
        migrations.upgrade(url)
        env = environment(url, tmp)
        paygov(env, "agency", "create", "--code", AGENCY, "--name", "Cổng DVC TP.HCM",
               "--return-host", "dichvucong.example.gov.vn",
               "--beneficiary", "0011001234567@970436")  # fmt: skip
        print(f"inserting {rows:,} payments ...", flush=True)
        facts = asyncio.run(seed(pg, rows))
        print(f"  done in {facts['seed_seconds']} s", flush=True)
        sizes: dict[str, Size] = {}
        for label, days in (("first three days", FIRST_DAYS), ("the month", MONTH)):
            print(f"measuring {label} ({days[0]} to {days[1]}) ...", flush=True)
            sizes[label] = run_size(env, days, rounds, tmp)
    except BenchError as exc:
        log = pg.datadir.parent / "log"
        lines = log.read_text(errors="replace").splitlines()[-20:] if log.exists() else []
        raise BenchError("\n".join([str(exc), "PostgreSQL's log ends:", *lines])) from None
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    text, ok = report(sizes, facts, rounds)
    publish(text, RESULTS)
    return ok


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench.exports", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="payments in the month")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--measure", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--days", nargs=2, type=date.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        first, last = args.days
        print(json.dumps(measure_here(args.measure, first, last, args.out)))
        return
    if args.rows < 1 or args.rounds < 1:
        parser.error("rows and rounds must be positive")
    exit_with(lambda: run(args.rows, args.rounds))


if __name__ == "__main__":
    main()
