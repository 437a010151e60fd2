"""Several workers at once on PostgreSQL: SKIP LOCKED hands each delivery to one of them."""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest

from paygov.kit.context import Context
from tests.conftest import cli_env
from tests.webhooks.conftest import Portal
from tests.webhooks.receiver import Receiver


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
async def test_three_workers_send_each_webhook_once(
    ctx: Context, portal: Portal, receiver: Receiver
) -> None:
    for _ in range(24):
        await portal.cancelled()
    # Small batches so that the workers interleave instead of one taking everything.
    env = cli_env(ctx, PAYGOV_WEBHOOK_BATCH_SIZE="2", PAYGOV_WORKER_POLL_SECONDS="0.1")
    workers = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "paygov.cli",
            "worker",
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        for _ in range(3)
    ]
    try:
        for _ in range(300):
            if len(receiver.requests) >= 24:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)  # a double would arrive now
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        codes = [await asyncio.wait_for(worker.wait(), timeout=30) for worker in workers]
    assert codes == [0, 0, 0]
    ids = [request.headers["webhook-id"] for request in receiver.requests]
    assert len(ids) == 24
    assert len(set(ids)) == 24
    deliveries = (await portal.get("/v1/webhook-deliveries", limit=100))["items"]
    assert {delivery["status"] for delivery in deliveries} == {"succeeded"}
    assert [delivery["attempts"] for delivery in deliveries] == [1] * 24
