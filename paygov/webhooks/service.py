"""Webhooks to portals (DESIGN.md §8): the outbox written with each state change, delivery
signed per Standard Webhooks v1 with retries, re-sends and the catch-up feed."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from paygov import __version__
from paygov.agencies import service as agencies
from paygov.agencies.service import WEBHOOK_SECRET_PURPOSE
from paygov.audit import service as audit
from paygov.kit.context import Context
from paygov.kit.crashpoints import crash_point
from paygov.kit.errors import Conflict, NotFound
from paygov.kit.net import resolves_to_private
from paygov.kit.settings import Settings
from paygov.payments import repository as payments
from paygov.payments.service import PaymentView, timestamp
from paygov.webhooks import repository
from paygov.webhooks.models import EXCERPT_CHARS, WebhookAttempt, WebhookDelivery, WebhookEvent
from paygov.webhooks.outbox import new_delivery

log = logging.getLogger(__name__)

USER_AGENT = f"PayGov-Webhooks/{__version__}"


class DeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    message = "No webhook delivery with this id."


class EndpointUnavailable(Conflict):
    code = "webhook_endpoint_unavailable"
    message = "The agency has no webhook URL, or its endpoint was disabled after a 410."


class EndpointNotDisabled(Conflict):
    code = "webhook_endpoint_not_disabled"
    message = "The agency's webhook endpoint is not disabled."


# --- signing -------------------------------------------------------------------------------


def sign(secrets: list[str], msg_id: str, sent_at: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256>` per secret, space-separated (two during rotation)."""
    message = f"{msg_id}.{sent_at}.".encode() + body
    signatures = []
    for secret in secrets:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        digest = hmac.new(key, message, hashlib.sha256).digest()
        signatures.append("v1," + base64.b64encode(digest).decode())
    return " ".join(signatures)


# --- delivery ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None
    excerpt: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class Send:
    """Everything one POST needs, read in one short transaction."""

    url: str
    live: bool
    secrets: list[str]
    event_id: str
    body: bytes


async def deliver_due(ctx: Context) -> int:
    """Claim the due deliveries and send each once; returns how many were sent."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as session:
        ids = await repository.claim_due(
            session,
            now=now,
            lease_until=now + timedelta(seconds=ctx.settings.webhook_lease_seconds),
            limit=ctx.settings.webhook_batch_size,
        )
    if not ids:
        return 0
    crash_point("after_claim")
    timeout = httpx.Timeout(ctx.settings.webhook_timeout_seconds)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        for delivery_id in ids:
            await deliver_one(ctx, client, delivery_id)
    return len(ids)


async def deliver_one(ctx: Context, client: httpx.AsyncClient, delivery_id: str) -> None:
    """Send one claimed delivery and record what happened."""
    async with ctx.db.read() as session:
        send = await _prepare(session, ctx, delivery_id)
    if send is None:
        async with ctx.db.transaction() as session:
            await _close_unsendable(session, ctx, delivery_id)
        return
    outcome = await _post(ctx, client, send)
    crash_point("after_send")  # a restart sends again: at least once, same webhook-id
    async with ctx.db.transaction() as session:
        await _record(session, ctx, delivery_id, outcome)


async def _prepare(session: AsyncSession, ctx: Context, delivery_id: str) -> Send | None:
    delivery = await repository.delivery(session, delivery_id)
    if delivery is None or delivery.status != "pending":
        return None
    agency = await repository.agency(session, delivery.agency_id)
    event = await repository.event(session, delivery.event_id)
    if event is None or not agency.webhook_url or agency.webhook_disabled_at is not None:
        return None
    data = await _current(session, ctx, event)
    body = orjson.dumps(
        {"type": event.type, "timestamp": timestamp(event.created_at), "data": data}
    )
    return Send(
        url=agency.webhook_url,
        live=not agency.is_test,
        secrets=list(ctx.box.decrypt_json(agency.webhook_secrets, WEBHOOK_SECRET_PURPOSE)),
        event_id=event.id,
        body=body,
    )


async def _current(session: AsyncSession, ctx: Context, event: WebhookEvent) -> dict[str, Any]:
    """The event's object as it is now (its `version` tells a portal which is newer)."""
    payment = await payments.get(session, event.agency_id, event.subject_id)
    if payment is None:  # pragma: no cover - payments are never deleted
        return event.data
    items = await payments.items_of(session, [payment.id])
    return PaymentView(payment, items[payment.id]).render(ctx)


async def _post(ctx: Context, client: httpx.AsyncClient, send: Send) -> Outcome:
    host = urlsplit(send.url).hostname or ""
    if send.live and await asyncio.to_thread(resolves_to_private, host):
        return Outcome(None, 0, "refused: the URL resolves to a private address", None)
    sent_at = int(ctx.clock.now().timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": send.event_id,
        "webhook-timestamp": str(sent_at),
        "webhook-signature": sign(send.secrets, send.event_id, sent_at, send.body),
    }
    started = time.perf_counter()
    try:
        async with client.stream("POST", send.url, content=send.body, headers=headers) as reply:
            excerpt = await _excerpt(reply)
            status_code = reply.status_code
    except httpx.HTTPError as exc:
        failure = f"{type(exc).__name__}: {exc}"[:255]
        return Outcome(None, _elapsed_ms(started), failure, None)
    error = None if 200 <= status_code < 300 else f"HTTP {status_code}"
    return Outcome(status_code, _elapsed_ms(started), error, excerpt)


async def _excerpt(reply: httpx.Response) -> str:
    """The start of the reply, enough for a person to see what the portal said."""
    read = b""
    async for chunk in reply.aiter_bytes():
        read += chunk
        if len(read) >= EXCERPT_CHARS * 4:
            break
    return read.decode("utf-8", errors="replace")[:EXCERPT_CHARS]


def _elapsed_ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


def next_wait(settings: Settings, failures: int) -> timedelta | None:
    """The wait after the n-th failed try, lengthened by jitter; None when retries are over."""
    schedule = settings.webhook_retry_schedule
    if failures > len(schedule):
        return None
    spread = 1 + random.random() * settings.webhook_retry_jitter
    return timedelta(seconds=schedule[failures - 1] * spread)


async def _record(session: AsyncSession, ctx: Context, delivery_id: str, outcome: Outcome) -> None:
    now = ctx.clock.now()
    delivery = await repository.delivery(session, delivery_id, lock=True)
    assert delivery is not None, delivery_id
    repository.add(
        session,
        WebhookAttempt(
            delivery_id=delivery.id,
            attempted_at=now,
            status_code=outcome.status_code,
            latency_ms=outcome.latency_ms,
            error=outcome.error,
            response_excerpt=outcome.excerpt,
        ),
    )
    delivery.attempts += 1
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    delivery.last_latency_ms = outcome.latency_ms
    delivery.last_response_excerpt = outcome.excerpt
    delivery.updated_at = now
    if delivery.status == "pending":
        if outcome.ok:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = (
                "succeeded",
                now,
                None,
            )
        elif outcome.status_code == 410:
            await _disable_endpoint(session, delivery.agency_id, now)
            delivery.status, delivery.next_attempt_at = "disabled", None
        else:
            wait = next_wait(ctx.settings, delivery.attempts)
            if wait is None:
                delivery.status, delivery.next_attempt_at = "failed", None
            else:
                delivery.next_attempt_at = now + wait
    await session.flush()


async def _disable_endpoint(session: AsyncSession, agency_id: str, at: datetime) -> None:
    """410 Gone: the portal says the endpoint is no more; stop every pending delivery."""
    agency = await repository.agency(session, agency_id, for_update=True)
    if agency.webhook_disabled_at is None:
        agency.webhook_disabled_at = at
        log.warning("webhook endpoint of agency %s answered 410: disabled", agency.code)
    await repository.disable_pending(session, agency_id, at=at)


async def _close_unsendable(session: AsyncSession, ctx: Context, delivery_id: str) -> None:
    """A claimed delivery whose agency lost or disabled its endpoint meanwhile."""
    delivery = await repository.delivery(session, delivery_id, lock=True)
    if delivery is None or delivery.status != "pending":
        return
    delivery.status, delivery.next_attempt_at = "disabled", None
    delivery.updated_at = ctx.clock.now()
    await session.flush()


# --- portal and operator actions -----------------------------------------------------------


async def resend(
    session: AsyncSession, ctx: Context, agency_id: str, delivery_id: str, *, actor: str
) -> WebhookDelivery:
    """A new pending delivery of the same event, due now; audited with who asked (the
    portal's API key, an operator's CLI, a back-office user)."""
    if "\x00" in delivery_id:
        raise DeliveryNotFound(field="delivery_id")
    original = await repository.delivery(session, delivery_id, agency_id=agency_id)
    if original is None:
        raise DeliveryNotFound(field="delivery_id")
    agency = await repository.agency(session, agency_id)
    if not agency.webhook_url or agency.webhook_disabled_at is not None:
        raise EndpointUnavailable(field="delivery_id")
    now = ctx.clock.now()
    delivery = new_delivery(original.event_id, agency_id, now)
    repository.add(session, delivery)
    await session.flush()
    await audit.record(
        session,
        at=now,
        actor=actor,
        action="webhook_delivery.resent",
        subject_type="webhook_delivery",
        subject_id=original.id,
        details={"delivery_id": delivery.id, "event_id": original.event_id, "agency_id": agency_id},
    )
    return delivery


async def enable_endpoint(session: AsyncSession, ctx: Context, code: str, *, actor: str) -> int:
    """Re-enable an agency's endpoint disabled after a 410 (the portal fixed it): the
    deliveries stopped by the 410 are due again, and every event recorded meanwhile gets a
    delivery. Returns how many deliveries are now due."""
    found = await agencies.get_by_code(session, code)
    agency = await repository.agency(session, found.id, for_update=True)
    since = agency.webhook_disabled_at
    if since is None:
        raise EndpointNotDisabled(field="code")
    now = ctx.clock.now()
    agency.webhook_disabled_at, agency.updated_at = None, now
    requeued = await repository.requeue_disabled(session, agency.id, since=since, at=now)
    missed = await repository.events_without_delivery(session, agency.id, since=since)
    repository.add(session, *(new_delivery(event_id, agency.id, now) for event_id in missed))
    await session.flush()
    await audit.record(
        session,
        at=now,
        actor=actor,
        action="webhook_endpoint.enabled",
        subject_type="agency",
        subject_id=agency.id,
        details={"disabled_at": since.isoformat(), "requeued": requeued, "missed": len(missed)},
    )
    return requeued + len(missed)


@dataclass(frozen=True)
class EventPage:
    events: list[WebhookEvent]
    next_cursor: str | None


async def events_since(
    session: AsyncSession, agency_id: str, since: str | None, limit: int
) -> EventPage:
    """The catch-up feed, oldest first after `since`."""
    rows = await repository.events_after(session, agency_id, since, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return EventPage(rows, rows[-1].id if more and rows else None)


@dataclass(frozen=True)
class DeliveryPage:
    rows: list[tuple[WebhookDelivery, str]]
    next_cursor: str | None


async def deliveries(
    session: AsyncSession,
    agency_id: str,
    *,
    status: str | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> DeliveryPage:
    """The agency's deliveries, newest first."""
    rows = await repository.deliveries_of(
        session, agency_id, status=status, before=cursor, limit=limit + 1
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return DeliveryPage(rows, rows[-1][0].id if more and rows else None)


def event_out(event: WebhookEvent) -> dict[str, Any]:
    return {
        "event_id": event.id,
        "type": event.type,
        "timestamp": timestamp(event.created_at),
        "data": event.data,
    }


def delivery_out(delivery: WebhookDelivery, event_type: str) -> dict[str, Any]:
    return {
        "delivery_id": delivery.id,
        "event_id": delivery.event_id,
        "type": event_type,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": timestamp(delivery.next_attempt_at),
        "last_status_code": delivery.last_status_code,
        "last_latency_ms": delivery.last_latency_ms,
        "last_error": delivery.last_error,
        "last_response_excerpt": delivery.last_response_excerpt,
        "created_at": timestamp(delivery.created_at),
        "delivered_at": timestamp(delivery.delivered_at),
    }
