"""Writing and verifying the hash-chained audit log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from paygov.audit import repository
from paygov.kit.crypto import canonical_json, sha256_hex

GENESIS = "0" * 64


def entry_hash(
    prev_hash: str,
    occurred_at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    details: dict[str, Any],
) -> str:
    """The hash that seals one entry to the one before it."""
    return sha256_hex(
        canonical_json(
            {
                "prev": prev_hash,
                "at": occurred_at.isoformat(),
                "actor": actor,
                "action": action,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "details": details,
            }
        )
    )


async def record(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one entry in the caller's transaction: it lands only if the change lands."""
    details = details or {}
    await repository.lock_chain(session)
    prev = await repository.last_hash(session) or GENESIS
    await repository.append(
        session,
        {
            "occurred_at": at,
            "actor": actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "details": details,
            "prev_hash": prev,
            "hash": entry_hash(prev, at, actor, action, subject_type, subject_id, details),
        },
    )


@dataclass(frozen=True)
class Verdict:
    ok: bool
    entries: int
    broken_id: int | None = None
    reason: str | None = None

    def line(self) -> str:
        if self.ok:
            return f"OK: {self.entries} audit entries, chain intact"
        return f"BROKEN at audit entry {self.broken_id}: {self.reason}"


async def verify(session: AsyncSession) -> Verdict:
    """Walk the chain from the start; name the first entry whose link or content is wrong."""
    prev = GENESIS
    count = 0
    async for row in repository.stream(session):
        count += 1
        if row.prev_hash != prev:
            return Verdict(
                False, count, row.id, "its previous-hash does not match the entry before"
            )
        expected = entry_hash(
            prev,
            row.occurred_at,
            row.actor,
            row.action,
            row.subject_type,
            row.subject_id,
            row.details,
        )
        if row.hash != expected:
            return Verdict(False, count, row.id, "its content does not match its hash")
        prev = row.hash
    return Verdict(True, count)
