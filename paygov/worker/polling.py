"""The polling job: ask the provider about open attempts, so a lost callback is recovered
within minutes (DESIGN.md §9).

Each due attempt is claimed in a short transaction (PostgreSQL `FOR UPDATE SKIP LOCKED`,
its next poll pushed out by a lease), the provider is asked OUTSIDE any transaction, and
the answer is written in a second one. A definite answer goes through the same
exactly-once path as a callback: an inbox row (dedupe key `query:{txn_ref}:{outcome}`) and
`attempts.apply_event`, so a poll racing the real callback changes the payment once. An
unknown answer (or no answer) only walks the schedule; past its last step the attempt is
flagged for staff (`payment.attempt_unresolved`), never failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bank_adapters.base import AttemptRef, ProviderEvent, ProviderStatus, ProviderUnavailable
from paygov.callbacks import service as callbacks
from paygov.kit.context import Context
from paygov.kit.crashpoints import crash_point
from paygov.kit.ids import new_id
from paygov.payments import repository as payments
from paygov.payments.models import Attempt, Payment

log = logging.getLogger(__name__)

# How long a claimed attempt is hidden from other workers while its provider is asked.
LEASE = timedelta(seconds=120)
UNRESOLVED = "payment.attempt_unresolved"


@dataclass(frozen=True)
class Claimed:
    """What asking the provider needs, read while the attempt was claimed."""

    payment_id: str
    txn_ref: str
    provider: str
    amount: int
    created_at: datetime
    provider_txn_id: str | None


async def claim_due(
    session: AsyncSession, *, now: datetime, lease_until: datetime, limit: int
) -> list[Claimed]:
    """Open attempts whose next poll is due, hidden from other workers until `lease_until`.

    PostgreSQL: rows another worker is claiming are skipped, not waited for. SQLite runs
    one worker, and its write transaction is serial anyway.
    """
    query = (
        select(Attempt)
        .where(Attempt.status == "open", Attempt.next_poll_at <= now)
        .order_by(Attempt.next_poll_at)
        .limit(limit)
    )
    if (await session.connection()).dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    due = list(await session.scalars(query))
    if not due:
        return []
    await session.execute(
        update(Attempt)
        .where(Attempt.id.in_([attempt.id for attempt in due]))
        .values(next_poll_at=lease_until)
    )
    return [
        Claimed(
            payment_id=attempt.payment_id,
            txn_ref=attempt.txn_ref,
            provider=attempt.provider,
            amount=attempt.amount,
            created_at=attempt.created_at,
            provider_txn_id=attempt.provider_txn_id,
        )
        for attempt in due
    ]


async def poll_due(ctx: Context) -> int:
    """Ask about every due open attempt once; returns how many were asked about."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        claimed = await claim_due(
            session, now=now, lease_until=now + LEASE, limit=ctx.settings.worker_batch_size
        )
    if not claimed:
        return 0
    async with ctx.db.read() as session:
        await ctx.providers.refresh(session, ctx.box)
    for attempt in claimed:
        await poll_one(ctx, attempt)
    return len(claimed)


async def poll_one(ctx: Context, claimed: Claimed) -> None:
    """Ask the provider (no transaction open meanwhile), then record what it said."""
    provider = ctx.providers.by_code.get(claimed.provider)
    status: ProviderStatus | None = None
    problem: str | None = None
    if provider is None:
        problem = "provider not configured"
    else:
        try:
            status = await provider.adapter.query(
                AttemptRef(
                    txn_ref=claimed.txn_ref,
                    amount=claimed.amount,
                    created_at=claimed.created_at,
                    provider_txn_id=claimed.provider_txn_id,
                )
            )
            provider.breaker.record_success()
        except ProviderUnavailable as exc:
            provider.breaker.record_failure()
            problem = str(exc) or "provider unavailable"
        except Exception as exc:  # anything unreadable is unknown, never guessed
            log.exception("status query of %s through %s failed", claimed.txn_ref, claimed.provider)
            problem = f"query failed: {type(exc).__name__}"
    crash_point("after_provider_call")  # a restart asks again once the lease runs out
    event = definite_event(claimed, status)
    async with ctx.db.transaction() as session:
        payment = await payments.lock_payment(session, claimed.payment_id)
        attempt = await payments.attempt_by_ref(session, claimed.txn_ref, for_update=True)
        assert attempt is not None, claimed.txn_ref
        if attempt.status == "open" and event is not None and provider is not None:
            await callbacks.apply_learned(session, ctx, provider, event, "QUERY", _answer(status))
        if attempt.status != "open":
            attempt.next_poll_at = None  # resolved: by this answer or by a callback meanwhile
            return
        last_answer = problem or (status.outcome if status else "unknown")
        await _next_step(session, ctx, payment, attempt, last_answer)


def definite_event(claimed: Claimed, status: ProviderStatus | None) -> ProviderEvent | None:
    """The provider's answer as a callback would have said it; None when it is not definite."""
    if status is None or status.outcome == "unknown":
        return None
    if status.outcome == "succeeded" and status.amount is None:
        return None  # a success without its amount cannot be checked: still unknown
    return ProviderEvent(
        txn_ref=claimed.txn_ref,
        outcome=status.outcome,
        amount=claimed.amount if status.amount is None else status.amount,
        dedupe_key=f"query:{claimed.txn_ref}:{status.outcome}",
        provider_txn_id=status.provider_txn_id,
        paid_at=status.paid_at,
        reason=status.reason,
        details={"source": "query"},
    )


def _answer(status: ProviderStatus | None) -> str:
    """The provider's answer as stored in the inbox (for people to look at)."""
    fields: dict[str, Any] = {}
    if status is not None:
        fields = {
            "outcome": status.outcome,
            "amount": status.amount,
            "provider_txn_id": status.provider_txn_id,
            "paid_at": status.paid_at.isoformat() if status.paid_at else None,
            "reason": status.reason,
        }
    return " ".join(f"{name}={value}" for name, value in fields.items() if value is not None)


async def _next_step(
    session: AsyncSession, ctx: Context, payment: Payment, attempt: Attempt, last_answer: str
) -> None:
    """Still open: the next poll on the schedule, or, past its end, flagged for staff."""
    now = ctx.clock.now()
    schedule = ctx.settings.attempt_poll_schedule
    attempt.polls += 1
    if attempt.polls < len(schedule):
        attempt.next_poll_at = now + timedelta(seconds=schedule[attempt.polls])
        return
    attempt.next_poll_at = None
    log.warning("attempt %s still unresolved after %d polls", attempt.txn_ref, attempt.polls)
    await payments.note(
        session,
        payment,
        at=now,
        event_type=UNRESOLVED,
        event_id=new_id("evt"),
        event_data={
            "attempt_id": attempt.id,
            "txn_ref": attempt.txn_ref,
            "provider": attempt.provider,
            "polls": attempt.polls,
            "last_answer": last_answer[:255],
        },
    )
