"""`paygov worker`: expiry with its webhook, no race with a success, a real --once run."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta

from paygov.kit.context import Context
from paygov.worker import expiry
from paygov.worker.runner import JOBS, Worker
from tests.conftest import cli_env
from tests.payments_flow.test_attempts import provider, start, tell
from tests.webhooks.conftest import Portal
from tests.webhooks.receiver import Receiver


class TestExpiry:
    async def test_worker_expires_and_tells_the_portal(
        self, ctx: Context, portal: Portal, receiver: Receiver
    ) -> None:
        payment_id = await portal.create(expires_in=60)
        ctx.clock.advance(timedelta(seconds=61))
        done = await Worker(ctx).run_once()
        idle = dict.fromkeys(JOBS, 0)  # every job ran; only these two had work
        assert done == {**idle, "expire_payments": 1, "deliver_webhooks": 1}
        [sent] = receiver.requests
        body = sent.signed_by(portal.keys.webhook_secret) and sent.json
        assert body["type"] == "payment.expired"
        assert body["data"]["payment_id"] == payment_id
        assert body["data"]["status"] == "expired"
        assert (await Worker(ctx).run_once()) == idle

    async def test_a_success_arriving_first_wins(self, ctx: Context, portal: Portal) -> None:
        bank = provider()
        payment_id = await portal.create(expires_in=60)
        txn_ref = await start(ctx, payment_id, bank)
        ctx.clock.advance(timedelta(seconds=60 + ctx.settings.expiry_grace_seconds + 1))
        async with ctx.db.read() as session:
            from paygov.worker import repository

            due = await repository.due_for_expiry(
                session,
                now=ctx.clock.now(),
                grace=timedelta(seconds=ctx.settings.expiry_grace_seconds),
                limit=10,
            )
        assert due == [payment_id]
        await tell(ctx, bank, txn_ref)  # the success lands between the read and the lock
        assert await expiry.expire_one(ctx, payment_id) is False
        events = (await portal.get("/v1/events"))["items"]
        assert [e["type"] for e in events] == ["payment.succeeded"]
        assert (await portal.get(f"/v1/payments/{payment_id}"))["status"] == "succeeded"


class TestWorkerProcess:
    async def test_once_delivers_a_pending_webhook(
        self, ctx: Context, portal: Portal, receiver: Receiver
    ) -> None:
        await portal.cancelled()
        env = cli_env(ctx)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "paygov.cli",
            "worker",
            "--once",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        assert process.returncode == 0, err.decode()
        assert b'"deliver_webhooks": 1' in out
        [sent] = receiver.requests
        assert sent.verify(portal.keys.webhook_secret)["type"] == "payment.cancelled"
        [delivery] = (await portal.get("/v1/webhook-deliveries"))["items"]
        assert delivery["status"] == "succeeded"
