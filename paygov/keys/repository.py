"""All SQL of key rotation: batched reads of sealed values and compare-and-set updates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


@dataclass(frozen=True)
class SealedColumn:
    """A text column of sealed tokens and the string primary key of its table."""

    table: str
    pk: InstrumentedAttribute[str]
    sealed: InstrumentedAttribute[Any]


@dataclass(frozen=True)
class SealedRow:
    pk: str
    token: str


def _stale(column: SealedColumn, current_prefix: str) -> ColumnElement[bool]:
    # autoescape: the prefix is matched literally, whatever characters it holds
    return column.sealed.is_not(None) & ~column.sealed.startswith(current_prefix, autoescape=True)


async def stale_batch(
    session: AsyncSession,
    column: SealedColumn,
    current_prefix: str,
    *,
    after: str | None,
    limit: int,
) -> list[SealedRow]:
    """The next `limit` values not under the current key, by primary key after `after`."""
    query = select(column.pk, column.sealed).where(_stale(column, current_prefix))
    if after is not None:
        query = query.where(column.pk > after)
    rows = await session.execute(query.order_by(column.pk).limit(limit))
    return [SealedRow(pk, token) for pk, token in rows]


async def replace(session: AsyncSession, column: SealedColumn, pk: str, old: str, new: str) -> bool:
    """Swap one token for its re-encryption, unless a concurrent writer changed it first."""
    result = await session.execute(
        update(column.sealed.class_)
        .where(column.pk == pk, column.sealed == old)
        .values({column.sealed.key: new})
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))


async def count_stale(session: AsyncSession, column: SealedColumn, current_prefix: str) -> int:
    """How many values of the column are not under the current key."""
    found = await session.scalar(
        select(func.count()).select_from(column.sealed.class_).where(_stale(column, current_prefix))
    )
    return int(found or 0)
