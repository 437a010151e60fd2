"""The worker's nightly job: at `reconcile_at` (local time) reconcile yesterday for every
provider PayGov can fetch statements from. Safe with many workers: a provider's day runs
once (the running-run index), a failed day is retried hourly, a finished one never."""

from __future__ import annotations

import logging
from datetime import time, timedelta
from zoneinfo import ZoneInfo

from paygov.kit.context import Context
from paygov.reconciliation import repository, service

log = logging.getLogger(__name__)

RETRY_FAILED_AFTER = timedelta(hours=1)
ACTOR = "worker:nightly"


async def reconcile_nightly(ctx: Context) -> int:
    settings = ctx.settings
    now = ctx.clock.now()
    local = now.astimezone(ZoneInfo(settings.business_timezone))
    if local.time() < time.fromisoformat(settings.reconcile_at):
        return 0
    day = local.date() - timedelta(days=1)
    done = 0
    for code in await service.nightly_providers(ctx):
        async with ctx.db.read() as session:
            if await repository.day_settled(session, code, day, now - RETRY_FAILED_AFTER):
                continue
        try:
            run = await service.reconcile(ctx, provider_code=code, day=day, actor=ACTOR)
        except service.RunInProgress:
            continue  # another worker has it
        except Exception as exc:  # recorded on the run; retried within the hour
            log.warning("nightly reconciliation of %s for %s failed: %s", code, day, exc)
            continue
        log.info("reconciled %s for %s: %s", code, day, run.counts)
        done += 1
    return done
