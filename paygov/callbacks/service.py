"""Receiving provider callbacks: verify, store raw in the inbox, apply exactly once."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bank_adapters.base import Ack, AckResult, CallbackRejected, InboundRequest, ProviderEvent
from paygov.callbacks import repository
from paygov.kit.context import Context
from paygov.payments import attempts
from paygov.providers.live import LiveProvider

log = logging.getLogger(__name__)

KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "x-paygov-timestamp",
    "x-paygov-signature",
    "x-paygov-key-id",
    "x-forwarded-for",
)


def raw_record(request: InboundRequest) -> dict[str, Any]:
    """What we keep of a callback: enough to re-verify it later, nothing more."""
    return {
        "method": request.method,
        "query": dict(request.query),
        "headers": {k: v for k, v in request.headers.items() if k in KEPT_HEADERS},
        "body": request.body.decode("utf-8", errors="replace"),
    }


async def receive(ctx: Context, provider_code: str, request: InboundRequest) -> Ack:
    """One callback in, one reply out. Bad signature: stored as rejected, nothing changes.
    Duplicate: acknowledged as such, nothing changes. Otherwise applied in the same
    transaction that records it, so it is applied exactly once."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        await ctx.providers.refresh(session, ctx.box)
        provider = ctx.providers.get(provider_code)
        row = {"provider": provider.code, "raw": raw_record(request), "received_at": now}
        try:
            event = provider.adapter.verify_callback(request, now)
        except CallbackRejected as rejected:
            log.warning("callback from %s rejected: %s", provider.code, rejected.reason)
            await repository.insert_rejected(
                session,
                {
                    **row,
                    "dedupe_key": None,
                    "txn_ref": None,
                    "verified": False,
                    "rejection": rejected.reason[:255],
                    "result": AckResult.BAD_SIGNATURE.value,
                    "processed_at": now,
                },
            )
            return provider.adapter.ack(AckResult.BAD_SIGNATURE)
        entry_id = await repository.insert_new(
            session,
            {
                **row,
                "dedupe_key": event.dedupe_key[:128],
                "txn_ref": event.txn_ref[:20],
                "verified": True,
                "rejection": None,
                "result": None,
                "processed_at": None,
            },
        )
        if entry_id is None:
            return provider.adapter.ack(AckResult.DUPLICATE)
        result = await attempts.apply_event(session, ctx, provider, event)
        await repository.mark_processed(session, entry_id, result.value, now)
    return provider.adapter.ack(result)


async def apply_learned(
    session: AsyncSession,
    ctx: Context,
    provider: LiveProvider,
    event: ProviderEvent,
    method: str,
    evidence: str,
) -> AckResult | None:
    """An outcome PayGov learned itself (a status query, a statement line) rather than by
    callback: stored in the inbox under the event's dedupe key and applied in the caller's
    transaction, exactly once; None when that key was already known."""
    now = ctx.clock.now()
    entry_id = await repository.insert_new(
        session,
        {
            "provider": provider.code,
            "raw": {"method": method, "query": {}, "headers": {}, "body": evidence},
            "received_at": now,
            "dedupe_key": event.dedupe_key[:128],
            "txn_ref": event.txn_ref[:20],
            "verified": True,
            "rejection": None,
            "result": None,
            "processed_at": None,
        },
    )
    if entry_id is None:
        return None
    result = await attempts.apply_event(session, ctx, provider, event)
    await repository.mark_processed(session, entry_id, result.value, now)
    return result
