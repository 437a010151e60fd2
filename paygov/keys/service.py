"""Master key rotation: re-encrypt every sealed value under the current key, in batches.

`rotate` is a job, like a worker's: it owns its transactions, one per batch, so no lock
is held for long and an interrupted run keeps its work; a re-run skips what is done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies.models import Agency
from paygov.agencies.service import WEBHOOK_SECRET_PURPOSE
from paygov.audit import service as audit
from paygov.keys import repository
from paygov.keys.repository import SealedColumn, SealedRow
from paygov.kit.crypto import DecryptionFailed, SecretBox
from paygov.kit.db import Database
from paygov.kit.errors import Conflict
from paygov.payments.models import Payment
from paygov.payments.service import PAYER_PURPOSE
from paygov.providers.live import CONFIG_PURPOSE
from paygov.providers.models import Provider

BATCH_SIZE = 500

# Every column holding secrets at rest, with the purpose its tokens are bound to.
SEALED: tuple[tuple[SealedColumn, str], ...] = (
    (SealedColumn("agencies", Agency.id, Agency.webhook_secrets), WEBHOOK_SECRET_PURPOSE),
    (SealedColumn("providers", Provider.code, Provider.config_sealed), CONFIG_PURPOSE),
    (SealedColumn("payments", Payment.id, Payment.payer_sealed), PAYER_PURPOSE),
)


class OldKeyMissing(Conflict):
    code = "old_key_missing"
    message = "Values under another key exist and PAYGOV_MASTER_KEY_OLD is not set."


class UnreadableSecret(Conflict):
    code = "unreadable_secret"
    message = "A sealed value decrypts with neither master key."


def current_prefix(box: SecretBox) -> str:
    """How every token made by the current key begins (see SecretBox's format)."""
    return f"v1.{box.current_id}."


async def status(session: AsyncSession, box: SecretBox) -> dict[str, int]:
    """Per table, how many sealed values are still under a key other than the current one."""
    prefix = current_prefix(box)
    return {
        column.table: await repository.count_stale(session, column, prefix) for column, _ in SEALED
    }


async def rotate(
    db: Database,
    box: SecretBox,
    *,
    at: datetime,
    actor: str,
    batch_size: int = BATCH_SIZE,
) -> dict[str, int]:
    """Re-encrypt every value not under the current key; per table, how many were.

    Records one `keys.rotated` audit entry, also when a value nobody can read stops the
    run (the batches before it stay committed)."""
    if len(box.keys) == 1:
        async with db.read() as session:
            stale = sum((await status(session, box)).values())
        if stale:
            raise OldKeyMissing(
                f"{stale} sealed values are under a key other than PAYGOV_MASTER_KEY and "
                "PAYGOV_MASTER_KEY_OLD is not set; set it to the previous master key"
            )
    counts = {column.table: 0 for column, _ in SEALED}
    try:
        for column, purpose in SEALED:
            await _rotate_column(db, box, column, purpose, batch_size, counts)
    except UnreadableSecret as stopped:
        async with db.transaction() as session:
            await _record(session, box, at, actor, {**counts, "stopped": stopped.detail})
        raise
    async with db.transaction() as session:
        await _record(session, box, at, actor, counts)
    return counts


async def _rotate_column(
    db: Database,
    box: SecretBox,
    column: SealedColumn,
    purpose: str,
    batch_size: int,
    counts: dict[str, int],
) -> None:
    """Counts, as it goes, the values it re-encrypts (a stopped run still reports them)."""
    prefix = current_prefix(box)
    after: str | None = None
    while True:
        async with db.transaction() as session:
            rows = await repository.stale_batch(
                session, column, prefix, after=after, limit=batch_size
            )
            resealed, failure = _reseal(box, rows, purpose)
            for row, token in resealed:
                if await repository.replace(session, column, row.pk, row.token, token):
                    counts[column.table] += 1
        if failure is not None:  # raised after the commit: the rows before it are kept
            raise UnreadableSecret(
                f"{column.table} row {failure.pk}: {column.sealed.key} decrypts with neither "
                f"PAYGOV_MASTER_KEY nor PAYGOV_MASTER_KEY_OLD; the values re-encrypted "
                f"before it are kept ({column.table}: {counts[column.table]})"
            )
        if len(rows) < batch_size:
            return
        after = rows[-1].pk


def _reseal(
    box: SecretBox, rows: Sequence[SealedRow], purpose: str
) -> tuple[list[tuple[SealedRow, str]], SealedRow | None]:
    """New tokens for the rows up to the first one that cannot be decrypted (if any)."""
    resealed: list[tuple[SealedRow, str]] = []
    for row in rows:
        if box.is_current(row.token):
            continue
        try:
            plaintext = box.decrypt(row.token, purpose)
        except DecryptionFailed:
            return resealed, row
        resealed.append((row, box.encrypt(plaintext, purpose)))
    return resealed, None


async def _record(
    session: AsyncSession, box: SecretBox, at: datetime, actor: str, details: Mapping[str, object]
) -> None:
    await audit.record(
        session,
        at=at,
        actor=actor,
        action="keys.rotated",
        subject_type="master_key",
        subject_id=box.current_id,
        details=dict(details),
    )
