"""Checkout fixtures: the sandbox providers in the test database, a browser, a payment."""

from __future__ import annotations

import html
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from paygov.app import create_app
from paygov.kit.context import Context
from paygov.providers.service import import_catalogue
from tests.factories import payment_body

SANDBOX_URL = "http://sandbox.test"
PROVIDERS_FILE = Path(__file__).resolve().parents[2] / "config" / "providers.sandbox.toml"
HREF = re.compile(r'href="([^"]*)"')


@pytest.fixture
async def sandbox_providers(ctx: Context) -> list[str]:
    """vnpay-sandbox, vietqr-sandbox, vcb-direct-sandbox, bidv-direct-sandbox, imported."""
    async with ctx.db.transaction() as session:
        saved = await import_catalogue(
            session,
            ctx.box,
            PROVIDERS_FILE,
            at=ctx.clock.now(),
            actor="test",
            variables={"PAYGOV_SANDBOX_URL": SANDBOX_URL},
        )
    return [provider.code for provider in saved]


@pytest.fixture
async def browser(ctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    """A citizen's browser: no API key, does not follow redirects by itself."""
    transport = httpx.ASGITransport(app=create_app(ctx))
    async with httpx.AsyncClient(transport=transport, base_url="http://paygov.test") as http:
        yield http


async def create_payment(api: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await api.post("/v1/payments", json=payment_body(**overrides))
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def token_of(payment: dict[str, Any]) -> str:
    return str(payment["checkout_url"]).rsplit("/", 1)[1]


def hrefs(page: str) -> list[str]:
    """Every link of a page, unescaped as a browser reads it."""
    return [html.unescape(found) for found in HREF.findall(page)]


@pytest.fixture
async def payment(api: httpx.AsyncClient, sandbox_providers: list[str]) -> dict[str, Any]:
    return await create_payment(api)
