"""Edge behaviour every caller sees: request ids in logs, Retry-After on 429."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import orjson

from paygov.app import create_app
from paygov.kit import logs
from paygov.kit.context import Context
from tests.conftest import make_settings
from tests.factories import create_agency


def test_log_lines_carry_the_request_id() -> None:
    token = logs.request_id.set("abc123")
    try:
        record = logging.LogRecord("paygov", logging.INFO, __file__, 1, "hello %s", ("x",), None)
        line = orjson.loads(logs.JsonFormatter().format(record))
    finally:
        logs.request_id.reset(token)
    assert line["request_id"] == "abc123"
    assert line["message"] == "hello x"


async def test_rate_limited_callers_are_told_when_to_retry(
    database_url: str, tmp_path: Path
) -> None:
    ctx = Context.build(
        make_settings(database_url, tmp_path, rate_limit_per_second=0.001, rate_limit_burst=1)
    )
    try:
        agency = await create_agency(ctx)
        transport = httpx.ASGITransport(app=create_app(ctx))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=agency.auth
        ) as api:
            assert (await api.get("/v1/payments")).status_code == 200
            limited = await api.get("/v1/payments", headers={"x-request-id": "req-42"})
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "1"
        assert limited.headers["x-request-id"] == "req-42"
    finally:
        await ctx.close()
