"""One process running every background job in turn, round after round."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Awaitable, Callable

from paygov.idempotency.service import purge_expired
from paygov.kit.context import Context
from paygov.reconciliation.nightly import reconcile_nightly
from paygov.refunds.processing import process_refunds
from paygov.webhooks.service import deliver_due
from paygov.worker.expiry import expire_due
from paygov.worker.polling import poll_due

log = logging.getLogger(__name__)

Job = Callable[[Context], Awaitable[int]]
JOBS: dict[str, Job] = {
    "poll_attempts": poll_due,
    "expire_payments": expire_due,
    "process_refunds": process_refunds,
    "deliver_webhooks": deliver_due,
    "purge_idempotency_keys": purge_expired,
    "reconcile_nightly": reconcile_nightly,
}


class Worker:
    """Runs the jobs; a stop request (SIGTERM, SIGINT) lets the current job finish."""

    def __init__(self, ctx: Context, jobs: dict[str, Job] | None = None) -> None:
        self.ctx = ctx
        self.jobs = jobs or JOBS
        self.stopping = asyncio.Event()

    def stop(self) -> None:
        self.stopping.set()

    async def run_once(self) -> dict[str, int]:
        """Each job once, in order; a failing job is logged and the others still run."""
        done: dict[str, int] = {}
        for name, job in self.jobs.items():
            if self.stopping.is_set():
                break
            try:
                done[name] = await job(self.ctx)
            except Exception:
                log.exception("worker job %s failed", name)
                done[name] = 0
        return done

    async def run_forever(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        try:
            while not self.stopping.is_set():
                done = await self.run_once()
                if any(done.values()):
                    continue  # more may be waiting: no pause while there is work
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self.stopping.wait(), timeout=self.ctx.settings.worker_poll_seconds
                    )
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)
