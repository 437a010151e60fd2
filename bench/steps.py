"""Where the create path's CPU goes: each step timed in one process, one request at a time.

Not a benchmark with a target: a diagnosis to read beside bench/run.py. It calls the ASGI
app directly (no HTTP server, no load generator), one request at a time, so the CPU time
spent between the start and the end of a step belongs to that step alone. Steps are
measured by wrapping PayGov's functions in this process only; nothing in paygov/ changes.

    .venv/bin/python -m bench.steps [--requests 2000] [--no-pre-ping]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import uvloop
from fastapi import FastAPI

import bench.floor as floor_module
import paygov.agencies.repository as agencies_repository
import paygov.auth.service as auth_service
import paygov.idempotency.repository as idempotency_repository
import paygov.idempotency.service as idempotency_service
import paygov.kit.db as kit_db
import paygov.payments.repository as payments_repository
import paygov.payments.service as payments_service
from bench.run import DATABASE, create_database, prepare, request_body, settings_for
from paygov.app import create_app
from paygov.kit import migrations
from paygov.kit.context import Context
from paygov.kit.settings import new_key
from tests.pg import PostgresServer

spent: Counter[str] = Counter()


def timed_async(owner: Any, name: str, label: str) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return await original(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - start

    setattr(owner, name, wrapper)


def timed_sync(owner: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] += time.process_time() - start

    setattr(owner, name, wrapper)


@asynccontextmanager
async def timed_transaction(self: kit_db.Database) -> AsyncIterator[Any]:
    """Database.transaction, with the connection taken at once so that checkout,
    pre-ping and BEGIN are timed apart from the work, and COMMIT after it."""
    start = time.process_time()
    async with self._writer() as session:
        async with session.begin():
            await session.connection()
            spent[BEGIN] += time.process_time() - start
            try:
                yield session
            finally:
                start = time.process_time()
        spent[COMMIT] += time.process_time() - start


BEGIN = "transaction: session, pool checkout (+ pre-ping), BEGIN"
AUTH = "auth: SELECT agency JOIN api_keys (ORM)"
SERVICE = "payments.service.create_payment, of which:"
RETURN_URL = "check return_url"
BENEFICIARIES = "SELECT beneficiary_accounts (ORM)"
INSERTS = "INSERT payment, item, event (ORM)"
BUILD = "build the rows (ORM object, ids, token)"
RENDER = "render the response"
CLAIM = "INSERT idempotency_keys (ORM)"
COMMIT = "transaction: COMMIT, session close"
HASH = "hash the request body"
FLOOR = "floor handler: one INSERT, own transaction (Core)"
# In the order a request meets them; the nested ones are inside SERVICE.
ORDER = [BEGIN, AUTH, SERVICE, RENDER, CLAIM, COMMIT, HASH, FLOOR]
NESTED = [RETURN_URL, BENEFICIARIES, INSERTS]


def instrument() -> None:
    kit_db.Database.transaction = timed_transaction  # type: ignore[method-assign]
    timed_async(auth_service, "authenticate", AUTH)
    timed_async(payments_service, "create_payment", SERVICE)
    timed_sync(payments_service, "check_return_url", RETURN_URL)
    timed_async(agencies_repository, "beneficiaries", BENEFICIARIES)
    timed_async(payments_repository, "insert_payment", INSERTS)
    timed_sync(payments_service.PaymentView, "render", RENDER)
    timed_async(idempotency_repository, "claim", CLAIM)
    timed_sync(idempotency_service, "request_hash", HASH)
    timed_async(floor_module, "create_floor", FLOOR)


def print_steps(path: str, total: float, requests: int) -> None:
    def ms(seconds: float) -> str:
        return f"{1000 * seconds / requests:6.3f} ms"

    print(f"\n{path}: {1000 * total / requests:.2f} ms of server CPU per request")
    for label in ORDER:
        if label not in spent:
            continue
        print(f"  {ms(spent[label])}  {label}")
        if label == SERVICE:
            for nested in NESTED:
                print(f"    {ms(spent[nested])}  {nested}")
            print(f"    {ms(spent[SERVICE] - sum(spent[n] for n in NESTED))}  {BUILD}")
    rest = total - sum(spent[label] for label in ORDER)
    print(f"  {ms(rest)}  the rest: ASGI, middleware, FastAPI, validation, response")


class Driver:
    """Calls the ASGI app with a complete POST and checks for a 201."""

    def __init__(self, app: FastAPI, api_key: str) -> None:
        self.app = app
        self.api_key = api_key
        self.head, self.tail = request_body()

    async def post(self, path: str, unique: str) -> None:
        body = (self.head + unique + self.tail).encode()
        headers = [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {self.api_key}".encode()),
            (b"idempotency-key", f"idem-{unique}".encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": headers,
            "client": ("127.0.0.1", 40000),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }
        delivered = False
        statuses: list[int] = []

        async def receive() -> dict[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])

        await self.app(scope, receive, send)
        if statuses != [201]:
            raise RuntimeError(f"{path} answered {statuses}")


async def measure(settings: Any, api_key: str, requests: int, pre_ping: bool) -> None:
    ctx = Context.build(settings)
    # SQLAlchemy keeps the flag on the pool; turning it off here shows what it costs.
    ctx.db.engine.pool._pre_ping = pre_ping
    app = create_app(ctx)
    app.add_api_route(
        floor_module.FLOOR_PATH, floor_module.create_floor, methods=["POST"], status_code=201
    )
    driver = Driver(app, api_key)
    async with app.router.lifespan_context(app):
        for path in (floor_module.FLOOR_PATH, "/v1/payments"):
            for number in range(200):
                await driver.post(path, f"warm-{path[1]}-{number}")
        for path in (floor_module.FLOOR_PATH, "/v1/payments"):
            spent.clear()
            start = time.process_time()
            for number in range(requests):
                await driver.post(path, f"s-{path[1]}-{number}")
            print_steps(path, time.process_time() - start, requests)


def main() -> None:
    parser = argparse.ArgumentParser(prog="bench.steps", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument(
        "--no-pre-ping",
        action="store_true",
        help="turn the pool's pre-ping off (PayGov has it on) to see what it costs",
    )
    args = parser.parse_args()
    instrument()
    pg = PostgresServer.start()
    try:
        url = pg.url(DATABASE)
        asyncio.run(create_database(pg))
        migrations.upgrade(url)
        with tempfile.TemporaryDirectory(prefix="paygov-steps-") as tmp:
            settings = settings_for(url, new_key(), new_key(), Path(tmp)).model_copy(
                update={"rate_limit_per_second": 1e9, "rate_limit_burst": 10**9}
            )
            api_key = asyncio.run(prepare(settings))
            uvloop.run(measure(settings, api_key, args.requests, not args.no_pre_ping))
    finally:
        pg.stop()


if __name__ == "__main__":
    main()
