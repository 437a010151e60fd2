"""Load generators: wrk with a generated Lua script, or a plain asyncio client as fallback.

Both keep N connections open (HTTP/1.1 keep-alive), send one request at a time on each
(a closed loop), give every request a unique `reference` and `Idempotency-Key`, and
report how many requests completed, the errors, and a grid of latency percentiles that
`merged_percentile` can combine across rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import resource
import shutil
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# Percentiles taken from each run; enough resolution for p50 and p99 after merging rounds.
GRID = [
    *range(1, 100),
    99.1,
    99.2,
    99.3,
    99.4,
    99.5,
    99.6,
    99.7,
    99.8,
    99.9,
    99.95,
    99.99,
]
ERROR_KINDS = ("connect", "read", "write", "status", "timeout")


@dataclass(frozen=True)
class Target:
    """What to load: where, with which headers, and the body around a unique tag."""

    host: str
    port: int
    path: str
    headers: dict[str, str]
    body_head: str  # the JSON body up to the unique part of `reference`
    body_tail: str  # the JSON body after it


@dataclass
class LoadResult:
    endpoint: str
    requests: int
    seconds: float
    errors: dict[str, int]
    quantiles: list[tuple[float, float]]  # (percent, latency in ms), ascending; 0 and 100 too
    client_cpu_seconds: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    def cdf(self, latency_ms: float) -> float:
        """Share of requests (0-100) at or below a latency, interpolated on the grid."""
        grid = self.quantiles
        if latency_ms < grid[0][1]:
            return 0.0
        for (p0, v0), (p1, v1) in itertools.pairwise(grid):
            if v0 <= latency_ms < v1:
                return p0 + (p1 - p0) * (latency_ms - v0) / (v1 - v0)
        return 100.0


def merged_percentile(results: list[LoadResult], percent: float) -> float:
    """The percentile of all requests of several runs, each run weighted by its count."""
    total = sum(r.requests for r in results)
    low = min(r.quantiles[0][1] for r in results)
    high = max(r.quantiles[-1][1] for r in results)
    for _ in range(80):
        middle = (low + high) / 2
        share = sum(r.requests * r.cdf(middle) for r in results) / total
        if share < percent:
            low = middle
        else:
            high = middle
    return high


# --- wrk ----------------------------------------------------------------------------------

LUA_TEMPLATE = """\
-- Written by bench/load.py for one run. Each request: a unique reference and key.
local tag = [=[{tag}]=]
local path = [=[{path}]=]
local body_head = [=[{body_head}]=]
local body_tail = [=[{body_tail}]=]
local counter = 0
local started = 0
local headers = {{}}
{header_lines}

function setup(thread)
  started = started + 1
  thread:set("thread_no", started)
end

function request()
  counter = counter + 1
  local unique = tag .. "-" .. thread_no .. "-" .. counter
  headers["Idempotency-Key"] = "idem-" .. unique
  return wrk.format("POST", path, headers, body_head .. unique .. body_tail)
end

function done(summary, latency, requests)
  local grid = {{}}
  for _, p in ipairs({{ {grid} }}) do
    grid[#grid + 1] = string.format("[%s,%d]", p, latency:percentile(p))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-RESULT {{"requests":%d,"duration_us":%d,"min":%d,"max":%d,' ..
    '"errors":{{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}},' ..
    '"grid":[%s]}}\\n',
    summary.requests, summary.duration, latency.min, latency.max,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(grid, ",")))
end
"""


def wrk_path() -> str | None:
    return shutil.which("wrk")


def install_wrk() -> bool:
    """Install Debian's wrk when running as root; False when that is not possible."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    for refresh_lists in (False, True):
        if refresh_lists:
            subprocess.run(["apt-get", "update", "-q"], capture_output=True, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], capture_output=True, timeout=600)
        if wrk_path():
            return True
    return False


def _lua_text(value: str) -> str:
    if "]=]" in value:
        raise ValueError(f"cannot embed {value!r} in a Lua long string")
    return value


def write_lua(target: Target, tag: str, directory: Path) -> Path:
    header_lines = "\n".join(
        f"headers[ [=[{_lua_text(k)}]=] ] = [=[{_lua_text(v)}]=]" for k, v in target.headers.items()
    )
    script = LUA_TEMPLATE.format(
        tag=_lua_text(tag),
        path=_lua_text(target.path),
        body_head=_lua_text(target.body_head),
        body_tail=_lua_text(target.body_tail),
        header_lines=header_lines,
        grid=", ".join(str(p) for p in GRID),
    )
    path = directory / f"{tag}.lua"
    path.write_text(script, encoding="utf-8")
    return path


def run_wrk(
    endpoint: str,
    target: Target,
    *,
    tag: str,
    connections: int,
    threads: int,
    seconds: float,
    directory: Path,
) -> LoadResult:
    script = write_lua(target, tag, directory)
    command = [
        wrk_path() or "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{round(seconds)}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        f"http://{target.host}:{target.port}{target.path}",
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    finished = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=seconds + 60
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [line for line in finished.stdout.splitlines() if line.startswith("BENCH-RESULT ")]
    if finished.returncode != 0 or not lines:
        raise RuntimeError(
            f"wrk failed ({finished.returncode}): {finished.stderr.strip() or finished.stdout}"
        )
    data = json.loads(lines[-1].removeprefix("BENCH-RESULT "))
    quantiles = [(0.0, data["min"] / 1000)]
    quantiles += [(float(p), us / 1000) for p, us in data["grid"]]
    quantiles.append((100.0, data["max"] / 1000))
    return LoadResult(
        endpoint=endpoint,
        requests=int(data["requests"]),
        seconds=data["duration_us"] / 1e6,
        errors={kind: int(data["errors"][kind]) for kind in ERROR_KINDS},
        quantiles=quantiles,
        client_cpu_seconds=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )


# --- asyncio fallback -----------------------------------------------------------------------


async def _python_load(
    target: Target, tag: str, connections: int, seconds: float
) -> tuple[list[float], Counter[str], float]:
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    head = target.body_head.encode()
    tail = target.body_tail.encode()
    fixed = f"POST {target.path} HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n" + "".join(
        f"{k}: {v}\r\n" for k, v in target.headers.items()
    )
    deadline = loop.time() + seconds

    async def client(number: int) -> None:
        try:
            reader, writer = await asyncio.open_connection(target.host, target.port)
        except OSError:
            errors["connect"] += 1
            return
        counter = 0
        try:
            while loop.time() < deadline:
                counter += 1
                unique = f"{tag}-{number}-{counter}"
                body = head + unique.encode() + tail
                request = (
                    fixed + f"Idempotency-Key: idem-{unique}\r\nContent-Length: {len(body)}\r\n\r\n"
                ).encode() + body
                start = time.perf_counter()
                writer.write(request)
                try:
                    raw = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                    status, length = _parse_head(raw)
                    await asyncio.wait_for(reader.readexactly(length), 10)
                except TimeoutError:
                    errors["timeout"] += 1
                    return
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    errors["read"] += 1
                    return
                latencies.append((time.perf_counter() - start) * 1000)
                if not 200 <= status < 300:
                    errors["status"] += 1
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(client(n + 1) for n in range(connections)))
    return latencies, errors, time.perf_counter() - started


def _parse_head(raw: bytes) -> tuple[int, int]:
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length is None:
        raise ValueError("response without Content-Length")
    return status, length


def run_python(
    endpoint: str, target: Target, *, tag: str, connections: int, seconds: float
) -> LoadResult:
    try:
        import uvloop

        runner = uvloop.run
    except ImportError:  # pragma: no cover - uvloop is a dependency of uvicorn[standard]
        runner = asyncio.run
    before = resource.getrusage(resource.RUSAGE_SELF)
    latencies, errors, elapsed = runner(_python_load(target, tag, connections, seconds))
    after = resource.getrusage(resource.RUSAGE_SELF)
    latencies.sort()
    if not latencies:
        raise RuntimeError(f"no request to {target.path} completed: {dict(errors)}")
    quantiles = [(0.0, latencies[0])]
    for p in GRID:
        quantiles.append(
            (float(p), latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))])
        )
    quantiles.append((100.0, latencies[-1]))
    return LoadResult(
        endpoint=endpoint,
        requests=len(latencies),
        seconds=elapsed,
        errors={kind: errors.get(kind, 0) for kind in ERROR_KINDS},
        quantiles=quantiles,
        client_cpu_seconds=(after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
    )
