"""Create-payment throughput and latency beside its floor (DESIGN.md §13, first row).

One run does everything and cleans up after itself:

1. starts a throwaway PostgreSQL (tests.pg), creates and migrates a database, adds the
   floor's bare table, and seeds one agency to get an API key;
2. serves `bench.floor:create_app` (PayGov plus POST /bench/floor) with uvicorn as in
   production: 2 worker processes, uvloop, httptools, no access log,
   PAYGOV_ENVIRONMENT=production with freshly generated secrets;
3. warms both endpoints up, then loads them in turn (floor, real, floor, real, ...) with
   32 keep-alive connections for a fixed time each, every request with a unique
   reference and Idempotency-Key;
4. checks that every response was a 2xx and that the rows in the database match the
   responses counted, prints the table, writes it to bench/results/create_payment.md.

Exit status: 0 when both targets pass, 1 when a target fails, 2 when the run itself is
invalid (an error response, a server that did not start, rows that do not match).

    .venv/bin/python -m bench.run [--seconds 15] [--rounds 3] [--client auto|wrk|python]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import NoReturn

import asyncpg
import orjson

from bench.floor import FLOOR_PATH
from bench.floor import metadata as floor_metadata
from bench.load import (
    LoadResult,
    Target,
    install_wrk,
    merged_percentile,
    run_python,
    run_wrk,
    wrk_path,
)
from paygov.agencies.service import create_agency
from paygov.kit import migrations
from paygov.kit.context import Context
from paygov.kit.db import create_engine
from paygov.kit.settings import Settings, new_key
from tests.pg import PostgresServer, free_port

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results" / "create_payment.md"
DATABASE = "paygov_bench"
REAL_PATH = "/v1/payments"
RETURN_HOST = "dichvucong.example.gov.vn"
BENEFICIARY = "0011001234567@970436"
THROUGHPUT_TARGET = 0.6  # real ≥ 0.6 x floor requests/s
P99_TARGET = 2.0  # real p99 ≤ 2 x floor p99
UNIQUE = "@@UNIQUE@@"


class BenchError(Exception):
    """The run is not valid: no figures should be trusted."""


# --- the request -----------------------------------------------------------------------------


def request_body() -> tuple[str, str]:
    """CreatePayment's documented example, its reference made unique per request."""
    body = {
        "amount": 150000,
        "reference": f"HS-{UNIQUE}",
        "description": "Lệ phí cấp giấy phép lái xe",
        "return_url": f"https://{RETURN_HOST}/ket-qua",
        "items": [{"code": "LEPHI", "name": "Lệ phí", "amount": 150000}],
        "metadata": {"ho_so": "000123"},
    }
    head, tail = orjson.dumps(body).decode().split(UNIQUE)
    return head, tail


def targets(port: int, api_key: str) -> dict[str, Target]:
    """Both endpoints get the very same request bytes; the floor ignores the headers."""
    head, tail = request_body()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"}
    return {
        name: Target("127.0.0.1", port, path, headers, head, tail)
        for name, path in (("floor", FLOOR_PATH), ("real", REAL_PATH))
    }


# --- database ------------------------------------------------------------------------------


def settings_for(url: str, master_key: str, api_key_secret: str, var_dir: Path) -> Settings:
    return Settings(
        environment="production",
        database_url=url,
        master_key=master_key,
        api_key_secret=api_key_secret,
        var_dir=var_dir,
    )


async def create_database(pg: PostgresServer) -> None:
    admin = await asyncpg.connect(host="127.0.0.1", port=pg.port, user="postgres")
    try:
        await admin.execute(f"CREATE DATABASE {DATABASE}")
        # The helper starts PostgreSQL with fsync=off and synchronous_commit=off; commits
        # here wait for their WAL write as in production (the flush to disk stays off).
        await admin.execute(f"ALTER DATABASE {DATABASE} SET synchronous_commit = on")
    finally:
        await admin.close()


async def prepare(settings: Settings) -> str:
    """The floor's bare table, and one live agency with a beneficiary: its API key."""
    engine = create_engine(settings.database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(floor_metadata.create_all)
    finally:
        await engine.dispose()
    ctx = Context.build(settings)
    try:
        async with ctx.db.transaction() as session:
            created = await create_agency(
                session,
                ctx.box,
                settings.api_key_secret_bytes,
                at=ctx.clock.now(),
                actor="bench",
                code="bench",
                name="Benchmark agency",
                mode="live",
                return_hosts=[RETURN_HOST],
                beneficiaries=[BENEFICIARY],
            )
    finally:
        await ctx.db.dispose()
    return created.api_key


@dataclass(frozen=True)
class Counts:
    floor_rows: int
    payments: int
    events: int
    idempotency_keys: int
    sessions: int
    commits: int


async def _counts(pg: PostgresServer) -> Counts:
    connection = await asyncpg.connect(
        host="127.0.0.1", port=pg.port, user="postgres", database=DATABASE
    )
    try:
        row = await connection.fetchrow(
            "SELECT (SELECT count(*) FROM bench_floor), (SELECT count(*) FROM payments),"
            " (SELECT count(*) FROM payment_events), (SELECT count(*) FROM idempotency_keys),"
            " sessions, xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
    finally:
        await connection.close()
    return Counts(*(int(value) for value in row))


def counts(pg: PostgresServer) -> Counts:
    return asyncio.run(_counts(pg))


def settled_counts(pg: PostgresServer) -> Counts:
    """Counts once requests still in flight when the client stopped have finished."""
    time.sleep(0.5)
    last = counts(pg)
    for _ in range(40):
        time.sleep(0.5)
        now = counts(pg)
        if (now.floor_rows, now.payments) == (last.floor_rows, last.payments):
            return now
        last = now
    return last


async def _server_facts(pg: PostgresServer) -> dict[str, str]:
    connection = await asyncpg.connect(host="127.0.0.1", port=pg.port, user="postgres")
    try:
        facts = {}
        for name in ("server_version", "fsync", "synchronous_commit", "shared_buffers"):
            facts[name] = str(await connection.fetchval(f"SHOW {name}"))
        facts["synchronous_commit"] = str(
            await connection.fetchval(
                "SELECT setconfig::text FROM pg_db_role_setting s JOIN pg_database d"
                " ON d.oid = s.setdatabase WHERE d.datname = $1",
                DATABASE,
            )
        )
    finally:
        await connection.close()
    return facts


# --- CPU accounting -------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds of the process and its reaped children)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    ticks = sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return int(fields[1]), ticks / CLOCK_TICKS


def tree_cpu_seconds(root: int) -> float:
    """CPU time of a process tree: live processes plus the children they reaped."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _stat(int(entry.name))) is not None:
            stats[int(entry.name)] = stat
    members = {root}
    grew = True
    while grew:
        grew = False
        for pid, (parent, _) in stats.items():
            if parent in members and pid not in members:
                members.add(pid)
                grew = True
    return sum(stats[pid][1] for pid in members if pid in stats)


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy since boot (user, nice, system, irq, softirq, steal)."""
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields)
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def own_cpu_seconds() -> float:
    """This process and the children it waited for (wrk)."""
    mine = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine.ru_utime + mine.ru_stime + children.ru_utime + children.ru_stime


def postmaster_pid(pg: PostgresServer) -> int:
    return int((pg.datadir / "postmaster.pid").read_text().splitlines()[0])


# --- the server -----------------------------------------------------------------------------


def server_environment(
    url: str, master_key: str, api_key_secret: str, var_dir: Path
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAYGOV_")}
    env.update(
        PAYGOV_ENVIRONMENT="production",
        PAYGOV_DATABASE_URL=url,
        PAYGOV_MASTER_KEY=master_key,
        PAYGOV_API_KEY_SECRET=api_key_secret,
        PAYGOV_VAR_DIR=str(var_dir),
        PAYGOV_PUBLIC_URL="https://pay.example.gov.vn",
        # One agency key drives all the load: the per-key token bucket still runs on every
        # request, only its threshold is out of the way (50/s would answer 429s).
        PAYGOV_RATE_LIMIT_PER_SECOND="1000000000",
        PAYGOV_RATE_LIMIT_BURST="1000000000",
    )
    return env


def server_command(port: int, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.floor:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
        "--proxy-headers",
        "--timeout-graceful-shutdown",
        "20",
    ]


def wait_ready(server: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchError(f"the server exited ({server.returncode}):\n{tail(log)}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise BenchError(f"the server was not ready within 60 s:\n{tail(log)}")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM to uvicorn's supervisor (it stops its workers); then the group, by force."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(server.pid, signal.SIGKILL)
    if server.poll() is None:
        server.wait(timeout=10)


def tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def smoke(target: Target, name: str) -> None:
    """One request by hand: a 201 with the shape we expect, or the run stops here."""
    url = f"http://{target.host}:{target.port}{target.path}"
    body = (target.body_head + f"smoke-{name}" + target.body_tail).encode()
    headers = {**target.headers, "Idempotency-Key": f"smoke-{name}"}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            status, payload = answer.status, orjson.loads(answer.read())
    except urllib.error.HTTPError as exc:
        raise BenchError(f"{name}: {exc.code} {exc.read()[:500]!r}") from exc
    expected = "payment_id" if name == "real" else "id"
    if status != 201 or expected not in payload:
        raise BenchError(f"{name}: unexpected answer {status} {payload!r}")


# --- running the load -----------------------------------------------------------------------


@dataclass
class Options:
    seconds: float
    warmup: float
    rounds: int
    connections: int
    workers: int
    client: str


def choose_client(wanted: str) -> str:
    if wanted == "python":
        return "python"
    if wrk_path() or install_wrk():
        return "wrk"
    if wanted == "wrk":
        raise BenchError("wrk is not installed and could not be installed (apt-get install wrk)")
    print("wrk not available: falling back to the asyncio client (it competes for CPU more)")
    return "python"


def load(
    client: str, name: str, target: Target, tag: str, options: Options, seconds: float, tmp: Path
) -> LoadResult:
    if client == "wrk":
        return run_wrk(
            name,
            target,
            tag=tag,
            connections=options.connections,
            threads=min(options.connections, max(2, os.cpu_count() or 2)),
            seconds=seconds,
            directory=tmp,
        )
    return run_python(name, target, tag=tag, connections=options.connections, seconds=seconds)


def check_errors(result: LoadResult, label: str) -> None:
    if result.error_count:
        raise BenchError(f"{label}: {result.error_count} failed requests {result.errors}")
    if result.requests == 0:
        raise BenchError(f"{label}: no request completed")


def check_rows(name: str, result: LoadResult, before: Counts, after: Counts, slack: int) -> None:
    """Every counted response stored its rows; at most `slack` more finished after the stop."""
    if name == "floor":
        stored = {"bench_floor": after.floor_rows - before.floor_rows}
        untouched = after.payments - before.payments
    else:
        stored = {
            "payments": after.payments - before.payments,
            "payment_events": after.events - before.events,
            "idempotency_keys": after.idempotency_keys - before.idempotency_keys,
        }
        untouched = after.floor_rows - before.floor_rows
    for table, rows in stored.items():
        if not result.requests <= rows <= result.requests + slack:
            raise BenchError(
                f"{name}: {result.requests} responses counted but {rows} rows in {table}"
            )
    if untouched:
        raise BenchError(f"{name}: the other endpoint's table changed during the round")


@dataclass
class Round:
    result: LoadResult
    rows: int
    server_cpu: float
    postgres_cpu: float
    sessions: int
    commits: int
    other_cpu: float  # CPU seconds the rest of the machine used meanwhile

    @property
    def other_cores(self) -> float:
        return self.other_cpu / self.result.seconds


def measure(
    client: str,
    name: str,
    target: Target,
    tag: str,
    options: Options,
    pg: PostgresServer,
    server: subprocess.Popen[bytes],
    tmp: Path,
) -> Round:
    before = counts(pg)
    server_cpu, pg_cpu = tree_cpu_seconds(server.pid), tree_cpu_seconds(postmaster_pid(pg))
    busy, own = machine_busy_seconds(), own_cpu_seconds()
    result = load(client, name, target, tag, options, options.seconds, tmp)
    busy, own = machine_busy_seconds() - busy, own_cpu_seconds() - own
    server_cpu = tree_cpu_seconds(server.pid) - server_cpu
    pg_cpu = tree_cpu_seconds(postmaster_pid(pg)) - pg_cpu
    other = busy - server_cpu - pg_cpu - own
    after = settled_counts(pg)
    check_errors(result, f"{name} {tag}")
    check_rows(name, result, before, after, slack=options.connections)
    if name == "floor":
        rows = after.floor_rows - before.floor_rows
    else:
        rows = after.payments - before.payments
    return Round(
        result,
        rows,
        server_cpu,
        pg_cpu,
        after.sessions - before.sessions,
        after.commits - before.commits,
        max(0.0, other),
    )


# --- the report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    requests: int
    rps: float
    p50: float
    p99: float
    server_cpu_ms: float
    postgres_cpu_ms: float
    client_cpu_ms: float
    sessions: int
    commits_per_request: float

    @property
    def total_cpu_ms(self) -> float:
        return self.server_cpu_ms + self.postgres_cpu_ms + self.client_cpu_ms


def figures(rounds: list[Round]) -> Figures:
    results = [r.result for r in rounds]
    requests = sum(r.requests for r in results)
    seconds = sum(r.seconds for r in results)
    rows = sum(r.rows for r in rounds)
    return Figures(
        requests=requests,
        rps=requests / seconds,
        p50=merged_percentile(results, 50),
        p99=merged_percentile(results, 99),
        server_cpu_ms=1000 * sum(r.server_cpu for r in rounds) / rows,
        postgres_cpu_ms=1000 * sum(r.postgres_cpu for r in rounds) / rows,
        client_cpu_ms=1000 * sum(r.client_cpu_seconds for r in results) / requests,
        sessions=sum(r.sessions for r in rounds),
        commits_per_request=sum(r.commits for r in rounds) / rows,
    )


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(
    floor: Figures,
    real: Figures,
    rounds: list[tuple[str, str, Round]],
    options: Options,
    client: str,
    facts: dict[str, str],
) -> tuple[str, bool]:
    rps_ratio = real.rps / floor.rps
    p99_ratio = real.p99 / floor.p99
    ok = rps_ratio >= THROUGHPUT_TARGET and p99_ratio <= P99_TARGET
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Create payment vs its floor",
        "",
        f"Run {now} on {code_version()}; {options.connections} connections, "
        f"{options.rounds} rounds of "
        f"{options.seconds:g} s per endpoint (alternating, after {options.warmup:g} s of "
        f"warm-up each); load generator: {client}.",
        "",
        "| endpoint | requests | requests/s | p50 ms | p99 ms |",
        "|---|---:|---:|---:|---:|",
        f"| floor: POST {FLOOR_PATH} (validate + 1 INSERT) | {floor.requests} | "
        f"{floor.rps:.0f} | {floor.p50:.1f} | {floor.p99:.1f} |",
        f"| real: POST {REAL_PATH} (auth, idempotency, insert, event) | {real.requests} | "
        f"{real.rps:.0f} | {real.p50:.1f} | {real.p99:.1f} |",
        "",
        "| ratio | measured | target | verdict |",
        "|---|---:|---:|---|",
        f"| throughput real/floor | {rps_ratio:.2f} | ≥ {THROUGHPUT_TARGET} | "
        f"{verdict(rps_ratio >= THROUGHPUT_TARGET)} |",
        f"| p99 real/floor | {p99_ratio:.2f} | ≤ {P99_TARGET} | "
        f"{verdict(p99_ratio <= P99_TARGET)} |",
        f"| p50 real/floor (not a target) | {real.p50 / floor.p50:.2f} | | |",
        "",
        "Rounds, in the order they ran:",
        "",
        "| round | endpoint | requests | requests/s | p50 ms | p99 ms | real/floor req/s "
        "| real/floor p99 | other processes' CPU (cores) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    floor_of: dict[str, LoadResult] = {}
    for tag, name, one in rounds:
        r = one.result
        p99 = merged_percentile([r], 99)
        pair = ["", ""]
        if name == "floor":
            floor_of[tag] = r
        elif tag in floor_of:
            base = floor_of[tag]
            pair = [
                f"{r.rps / base.rps:.2f}",
                f"{p99 / merged_percentile([base], 99):.2f}",
            ]
        lines.append(
            f"| {tag} | {name} | {r.requests} | {r.rps:.0f} | "
            f"{merged_percentile([r], 50):.1f} | {p99:.1f} | {pair[0]} | {pair[1]} | "
            f"{one.other_cores:.2f} |"
        )
    lines += [
        "",
        "Where the time goes (CPU per request, all rounds; 2 cores shared by all three):",
        "",
        "| endpoint | server CPU ms | PostgreSQL CPU ms | client CPU ms | commits/request "
        "| new DB sessions |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, f in (("floor", floor), ("real", real)):
        lines.append(
            f"| {name} | {f.server_cpu_ms:.2f} | {f.postgres_cpu_ms:.2f} | "
            f"{f.client_cpu_ms:.2f} | {f.commits_per_request:.2f} | {f.sessions} |"
        )
    cost_ratio = floor.total_cpu_ms / real.total_cpu_ms
    lines += [
        "",
        f"CPU cost ratio floor/real: {cost_ratio:.2f}. The load is CPU-bound (32 clients keep "
        "both cores busy), so the throughput ratio tends to this figure; unlike requests/s it "
        "does not move with what other processes on the machine take.",
        "",
        f"Machine: {machine()}; PostgreSQL {facts['server_version']}, fsync={facts['fsync']}, "
        f"database settings {facts['synchronous_commit']}, shared_buffers="
        f"{facts['shared_buffers']}; Python {platform.python_version()}, "
        + ", ".join(
            f"{pkg} {version(pkg)}"
            for pkg in ("fastapi", "uvicorn", "uvloop", "httptools", "sqlalchemy", "asyncpg")
        )
        + f"; uvicorn --workers {options.workers} --loop uvloop --http httptools "
        "--no-access-log, PAYGOV_ENVIRONMENT=production.",
        "",
    ]
    return "\n".join(lines), ok


def code_version() -> str:
    """The commit measured, and whether paygov/ had uncommitted changes at the time."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "paygov"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown commit"
    if not commit:
        return "unknown commit"
    return f"commit {commit}" + (" with uncommitted changes in paygov/" if dirty else "")


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} x {model}, {platform.system()} {platform.release()}"


# --- main -----------------------------------------------------------------------------------


def parse(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="per round and endpoint")
    parser.add_argument("--warmup", type=float, default=5, help="per endpoint, not counted")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    args = parser.parse_args(argv)
    if args.seconds < 1 or args.rounds < 1 or args.connections < 1 or args.workers < 1:
        parser.error("seconds, rounds, connections and workers must be positive")
    return Options(
        args.seconds, args.warmup, args.rounds, args.connections, args.workers, args.client
    )


def run(options: Options) -> bool:
    client = choose_client(options.client)
    master_key, api_key_secret = new_key(), new_key()
    tmp = Path(tempfile.mkdtemp(prefix="paygov-bench-"))
    print("starting PostgreSQL ...", flush=True)
    pg = PostgresServer.start()
    try:
        url = pg.url(DATABASE)
        asyncio.run(create_database(pg))
        migrations.upgrade(url)
        api_key = asyncio.run(prepare(settings_for(url, master_key, api_key_secret, tmp)))
        facts = asyncio.run(_server_facts(pg))
        port = free_port()
        log = tmp / "server.log"
        print(f"starting the server on 127.0.0.1:{port} ({options.workers} workers) ...")
        with log.open("wb") as out:
            server = subprocess.Popen(
                server_command(port, options.workers),
                cwd=ROOT,
                env=server_environment(url, master_key, api_key_secret, tmp),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_ready(server, port, log)
            by_name = targets(port, api_key)
            for name, target in by_name.items():
                smoke(target, name)
            if options.warmup > 0:
                for name, target in by_name.items():
                    print(f"warming up {name} for {options.warmup:g} s ...", flush=True)
                    warm = load(client, name, target, f"w{name}", options, options.warmup, tmp)
                    check_errors(warm, f"{name} warm-up")
                    settled_counts(pg)  # let requests still in flight finish first
            done: list[tuple[str, str, Round]] = []
            for number in range(1, options.rounds + 1):
                for name in ("floor", "real"):
                    tag = f"r{number}{name[0]}"
                    print(f"round {number}: {name} for {options.seconds:g} s ...", flush=True)
                    one = measure(client, name, by_name[name], tag, options, pg, server, tmp)
                    done.append((f"{number}", name, one))
                    print(
                        f"  {one.result.requests} requests, {one.result.rps:.0f}/s, p50 "
                        f"{merged_percentile([one.result], 50):.1f} ms, p99 "
                        f"{merged_percentile([one.result], 99):.1f} ms",
                        flush=True,
                    )
            if server.poll() is not None:
                raise BenchError(f"the server died during the run:\n{tail(log)}")
        finally:
            stop_server(server)
    finally:
        pg.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    floor = figures([one for _, name, one in done if name == "floor"])
    real = figures([one for _, name, one in done if name == "real"])
    text, ok = report(floor, real, done, options, client, facts)
    publish(text, RESULTS)
    return ok


def publish(text: str, path: Path) -> None:
    """Print a run's report and keep it under bench/results/ (git-ignored)."""
    print()
    print(text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"written to {path.relative_to(ROOT)}")


def exit_with(verdict: Callable[[], bool]) -> NoReturn:
    """Exit 0 when every target passed, 1 when one failed, 2 when the run is invalid."""
    try:
        ok = verdict()
    except BenchError as exc:
        print(f"bench: INVALID RUN: {exc}", file=sys.stderr)
        sys.exit(2)
    sys.exit(0 if ok else 1)


def main(argv: list[str] | None = None) -> None:
    options = parse(argv)
    exit_with(lambda: run(options))


if __name__ == "__main__":
    main()
