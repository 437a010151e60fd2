from __future__ import annotations

import httpx

from tests.factories import payment_body


async def test_create_and_read(api: httpx.AsyncClient) -> None:
    created = await api.post("/v1/payments", json=payment_body())
    assert created.status_code == 201, created.text
    fetched = await api.get(f"/v1/payments/{created.json()['payment_id']}")
    assert fetched.json() == created.json()
