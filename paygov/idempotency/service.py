"""Idempotent requests with the semantics of Stripe and GOV.UK Pay.

The key is claimed in the same transaction as the work and its response, so a key is
either absent or complete: there is no half-done state to clean up after a crash.
A duplicate that arrives while the first is running waits on the key's unique index
(PostgreSQL) or the write lock (SQLite), up to the lock timeout, then replays the
stored response; a different body under the same key is refused.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.idempotency import repository
from paygov.kit.context import Context
from paygov.kit.crypto import canonical_json, sha256_hex
from paygov.kit.db import is_lock_timeout
from paygov.kit.errors import Conflict, InvalidHeader, ServiceUnavailable

KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    message = "This Idempotency-Key was used with a different request body."


class IdempotencyKeyInUse(Conflict):
    code = "idempotency_key_in_use"
    message = "A request with this Idempotency-Key is still being processed; retry later."


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: bytes
    replayed: bool = False


def parse_key(header: str | None) -> str | None:
    """The Idempotency-Key header: 1-255 visible ASCII characters, or absent."""
    if header is None:
        return None
    if not KEY_RE.match(header):
        raise InvalidHeader(
            "Idempotency-Key must be 1-255 visible ASCII characters.", field="Idempotency-Key"
        )
    return header


def request_hash(body: Any) -> str:
    return sha256_hex(canonical_json(body))


@dataclass
class Claim:
    """An Idempotency-Key to be stored with the response it guards, in the same
    transaction as the work (ideally in the very statement that does the work)."""

    route: str
    key: str | None
    body_hash: str
    at: datetime
    agency_id: str | None = None

    def row(self, agency_id: str, status: int, body: bytes) -> dict[str, Any] | None:
        """The key's row, or None when the request carried no key."""
        self.agency_id = agency_id
        if self.key is None:
            return None
        return {
            "agency_id": agency_id,
            "route": self.route,
            "key": self.key,
            "body_hash": self.body_hash,
            "status_code": status,
            "response_body": body,
            "created_at": self.at,
        }


Work = Callable[[AsyncSession, Claim], Awaitable[Reply]]


async def respond(
    ctx: Context,
    *,
    route: str,
    key: str | None,
    body_hash: str,
    work: Work,
    single_write: bool = False,
) -> Reply:
    """Run `work` once per (agency, route, key). The work stores `claim.row(...)` with its
    own writes (`store` does it as a separate statement); a key already stored makes that
    write fail, the transaction roll back, and the first response replay.
    `single_write`: the work writes with exactly one statement (see Database.single_write)."""
    claim = Claim(route, key, body_hash, ctx.clock.now())
    unit = ctx.db.single_write if single_write else ctx.db.transaction
    try:
        async with unit() as session:
            return await work(session, claim)
    except IntegrityError as exc:
        if key is None or claim.agency_id is None or not repository.is_key_conflict(exc):
            raise
        return await _replay(ctx, claim.agency_id, route, key, body_hash)
    except DBAPIError as exc:
        if is_lock_timeout(exc):
            raise (IdempotencyKeyInUse() if key else ServiceUnavailable()) from exc
        raise


async def store(session: AsyncSession, row: dict[str, Any] | None) -> None:
    """Store a claim's row on its own (for work that cannot fold it into its statement)."""
    if row is not None:
        await repository.claim(session, row)


async def purge_expired(ctx: Context) -> int:
    """Worker job: delete one bounded batch of keys older than the retention period
    (`PAYGOV_IDEMPOTENCY_RETENTION_HOURS`); returns how many went."""
    cutoff = ctx.clock.now() - timedelta(hours=ctx.settings.idempotency_retention_hours)
    async with ctx.db.transaction() as session:
        return await repository.purge_before(
            session, cutoff, limit=ctx.settings.idempotency_purge_batch_size
        )


async def _replay(ctx: Context, agency_id: str, route: str, key: str, body_hash: str) -> Reply:
    async with ctx.db.read() as session:
        stored = await repository.find(session, agency_id, route, key)
    if stored is None:
        raise IdempotencyKeyInUse()
    if stored.body_hash != body_hash:
        raise IdempotencyKeyReused(field="Idempotency-Key")
    return Reply(stored.status_code, stored.response_body, replayed=True)
