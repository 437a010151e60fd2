"""A receiver, and an agency whose webhook URL points at it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from paygov.kit.context import Context
from tests.factories import AgencyKeys, create_agency, payment_body
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver().start()
    yield running
    running.stop()


@dataclass
class Portal:
    keys: AgencyKeys
    client: httpx.AsyncClient

    async def create(self, **overrides: Any) -> str:
        reply = await self.client.post(
            "/v1/payments", json=payment_body(**overrides), headers=self.keys.auth
        )
        assert reply.status_code == 201, reply.text
        return str(reply.json()["payment_id"])

    async def cancelled(self) -> str:
        """A payment cancelled at once: the quickest way to a webhook."""
        payment_id = await self.create()
        reply = await self.client.post(f"/v1/payments/{payment_id}/cancel", headers=self.keys.auth)
        assert reply.status_code == 200, reply.text
        return payment_id

    async def get(self, path: str, **params: Any) -> Any:
        reply = await self.client.get(path, params=params, headers=self.keys.auth)
        assert reply.status_code == 200, reply.text
        return reply.json()


@pytest.fixture
async def portal(ctx: Context, client: httpx.AsyncClient, receiver: Receiver) -> Portal:
    keys = await create_agency(ctx, code="dvc-hook", webhook_url=receiver.url)
    return Portal(keys, client)
