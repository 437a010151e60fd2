"""SIGKILL a real worker at each named crash point; a restart finishes the delivery, and
the portal sees one event (possibly twice, with the same webhook-id: at least once)."""

from __future__ import annotations

import asyncio
import signal
import sys

import pytest

from paygov.kit.context import Context
from tests.conftest import cli_env
from tests.webhooks.conftest import Portal
from tests.webhooks.receiver import Receiver


async def worker_once(ctx: Context, **extra: str) -> int:
    env = cli_env(ctx, **extra)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "paygov.cli",
        "worker",
        "--once",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    return await asyncio.wait_for(process.wait(), timeout=60)


@pytest.mark.parametrize(("point", "sends"), [("after_claim", 1), ("after_send", 2)])
async def test_killed_worker_restarts_and_finishes(
    ctx: Context, portal: Portal, receiver: Receiver, point: str, sends: int
) -> None:
    await portal.cancelled()
    assert await worker_once(ctx, PAYGOV_TEST_CRASH_AT=point) == -signal.SIGKILL
    # The claim's lease (120 s) must run out before another worker takes the delivery.
    lease = str(ctx.settings.webhook_lease_seconds + 1)
    assert await worker_once(ctx, PAYGOV_CLOCK_OFFSET_SECONDS=lease) == 0
    assert len(receiver.requests) == sends
    assert len({request.headers["webhook-id"] for request in receiver.requests}) == 1
    for request in receiver.requests:
        assert request.verify(portal.keys.webhook_secret)["type"] == "payment.cancelled"
    [delivery] = (await portal.get("/v1/webhook-deliveries"))["items"]
    assert delivery["status"] == "succeeded"
