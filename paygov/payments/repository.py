"""All SQL of payments, their items and their events."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import ColumnElement, Table, and_, case, false, insert, or_, select, text, true
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.idempotency.models import IdempotencyKey
from paygov.kit.db import DriverStatement, driver_fetch
from paygov.payments.models import Attempt, Payment, PaymentEvent, PaymentItem


def status_expression(now: datetime, grace: timedelta) -> ColumnElement[str]:
    """The status a portal sees, in SQL: the stored status, or `expired` once the deadline
    (plus the grace period when an attempt is open) has passed. Mirrors `service.status_at`."""
    unresolved = Payment.status.in_(("created", "pending"))
    return case(
        (and_(unresolved, Payment.attempt_open == false(), Payment.expires_at <= now), "expired"),
        (
            and_(unresolved, Payment.attempt_open == true(), Payment.expires_at <= now - grace),
            "expired",
        ),
        else_=Payment.status,
    )


# Core tables for the hot path's inserts (the ORM's bulk-insert machinery costs more than
# the round trip; see docs/benchmarks.md).
PAYMENTS = cast(Table, Payment.__table__)
PAYMENT_ITEMS = cast(Table, PaymentItem.__table__)
PAYMENT_EVENTS = cast(Table, PaymentEvent.__table__)
INSERT_PAYMENT, INSERT_ITEMS, INSERT_EVENT, INSERT_KEY = (
    insert(PAYMENTS),
    insert(PAYMENT_ITEMS),
    insert(PAYMENT_EVENTS),
    insert(cast(Table, IdempotencyKey.__table__)),
)
# The key's own columns; it shares agency_id and created_at with the payment.
NO_KEY = {
    "route": "",
    "key": "",
    "body_hash": "",
    "status_code": 0,
    "response_body": b"",
}
PAYMENT_FIELDS = [column.name for column in PAYMENTS.columns]
CREATE_PAYMENT_PG = text(f"""
WITH payment AS (
    INSERT INTO payments ({", ".join(PAYMENT_FIELDS)})
    VALUES ({
    ", ".join(
        "CAST(:metadata AS json)" if name == "metadata" else f":{name}" for name in PAYMENT_FIELDS
    )
})
), item AS (
    INSERT INTO payment_items (payment_id, position, code, name, amount, beneficiary_account)
    SELECT :id, x.position, x.code, x.name, x.amount, x.beneficiary_account
    FROM json_to_recordset(CAST(:items AS json)) AS x(
        position integer, code text, name text, amount bigint, beneficiary_account text)
), event AS (
    INSERT INTO payment_events (id, payment_id, type, version, data, created_at)
    VALUES (:event_id, :id, 'payment.created', 1, CAST(:event_data AS json), :created_at)
)
INSERT INTO idempotency_keys (agency_id, route, key, body_hash, status_code, response_body,
                              created_at)
SELECT :agency_id, :route, :key, :body_hash, :status_code, :response_body, :created_at
WHERE :claim
""")
CREATE_PAYMENT_DRIVER = DriverStatement.of(CREATE_PAYMENT_PG)


# (attribute, column) pairs: `extra` is stored in the `metadata` column.
PAYMENT_COLUMNS = [
    (attr.key, column.name) for attr in Payment.__mapper__.column_attrs for column in attr.columns
]


def payment_row(payment: Payment) -> dict[str, Any]:
    """A new payment as a Core row (column names), for the one-statement insert."""
    return {column: getattr(payment, key) for key, column in PAYMENT_COLUMNS}


async def insert_payment(
    session: AsyncSession,
    payment: dict[str, Any],
    items: list[dict[str, Any]],
    event: dict[str, Any],
    idempotency_key: dict[str, Any] | None,
) -> None:
    """The order, its items, its first event and the idempotency key that guards it.

    PostgreSQL: one statement (data-modifying CTEs), so one round trip. SQLite, which has
    no such CTEs and no network, gets one statement per table. A stored key makes the
    write fail on its primary key and nothing is inserted.
    """
    connection = await session.connection()
    if connection.dialect.name != "postgresql":
        await connection.execute(INSERT_PAYMENT, [payment])
        await connection.execute(INSERT_ITEMS, items)
        await connection.execute(INSERT_EVENT, [event])
        if idempotency_key is not None:
            await connection.execute(INSERT_KEY, [idempotency_key])
        return
    key = idempotency_key or NO_KEY
    await driver_fetch(
        session,
        CREATE_PAYMENT_DRIVER,
        {
            **payment,
            "metadata": orjson.dumps(payment["metadata"]).decode(),
            "items": orjson.dumps(items).decode(),
            "event_id": event["id"],
            "event_data": orjson.dumps(event["data"]).decode(),
            "claim": idempotency_key is not None,
            **{name: key[name] for name in NO_KEY},
        },
    )


async def get(
    session: AsyncSession, agency_id: str, payment_id: str, *, for_update: bool = False
) -> Payment | None:
    query = select(Payment).where(Payment.id == payment_id, Payment.agency_id == agency_id)
    if for_update:
        query = query.with_for_update()
    result: Payment | None = await session.scalar(query)
    return result


async def items_of(session: AsyncSession, payment_ids: list[str]) -> dict[str, list[PaymentItem]]:
    rows = await session.scalars(
        select(PaymentItem)
        .where(PaymentItem.payment_id.in_(payment_ids))
        .order_by(PaymentItem.payment_id, PaymentItem.position)
    )
    grouped: dict[str, list[PaymentItem]] = {pid: [] for pid in payment_ids}
    for row in rows:
        grouped[row.payment_id].append(row)
    return grouped


async def search(
    session: AsyncSession,
    agency_id: str,
    *,
    now: datetime,
    grace: timedelta,
    reference: str | None,
    status: str | None,
    created_from: datetime | None,
    created_to: datetime | None,
    after: tuple[datetime, str] | None,
    limit: int,
) -> list[Payment]:
    """Newest first by (created_at, id); `after` is the last row of the previous page."""
    query = select(Payment).where(Payment.agency_id == agency_id)
    if reference is not None:
        query = query.where(Payment.reference == reference)
    if status is not None:
        query = query.where(status_expression(now, grace) == status)
    if created_from is not None:
        query = query.where(Payment.created_at >= created_from)
    if created_to is not None:
        query = query.where(Payment.created_at < created_to)
    if after is not None:
        at, last_id = after
        query = query.where(
            or_(Payment.created_at < at, and_(Payment.created_at == at, Payment.id < last_id))
        )
    query = query.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)
    return list(await session.scalars(query))


async def transition(
    session: AsyncSession,
    payment: Payment,
    *,
    at: datetime,
    event_type: str,
    event_id: str,
    event_data: dict[str, Any],
    **changes: Any,
) -> None:
    """Apply a change to a locked payment, raise its version, and append the event."""
    for name, value in changes.items():
        setattr(payment, name, value)
    payment.version += 1
    payment.updated_at = at
    await note(
        session, payment, at=at, event_type=event_type, event_id=event_id, event_data=event_data
    )


async def events_of(session: AsyncSession, payment_id: str) -> list[PaymentEvent]:
    rows = await session.scalars(
        select(PaymentEvent).where(PaymentEvent.payment_id == payment_id).order_by(PaymentEvent.id)
    )
    return list(rows)


# --- attempts ------------------------------------------------------------------------------


def add_attempt(session: AsyncSession, attempt: Attempt) -> None:
    session.add(attempt)


async def attempt_by_ref(
    session: AsyncSession, txn_ref: str, *, for_update: bool = False
) -> Attempt | None:
    query = select(Attempt).where(Attempt.txn_ref == txn_ref)
    if for_update:
        query = query.with_for_update()
    result: Attempt | None = await session.scalar(query)
    return result


async def lock_payment(session: AsyncSession, payment_id: str, *, lock: bool = True) -> Payment:
    """The payment row, locked until the transaction ends (PostgreSQL; SQLite is serial)."""
    query = select(Payment).where(Payment.id == payment_id)
    payment = await session.scalar(query.with_for_update() if lock else query)
    assert payment is not None, payment_id
    return payment


async def by_checkout_token(
    session: AsyncSession, token: str, *, for_update: bool = False
) -> Payment | None:
    query = select(Payment).where(Payment.checkout_token == token)
    if for_update:
        query = query.with_for_update()
    result: Payment | None = await session.scalar(query)
    return result


async def attempts_of(session: AsyncSession, payment_id: str) -> list[Attempt]:
    rows = await session.scalars(
        select(Attempt).where(Attempt.payment_id == payment_id).order_by(Attempt.created_at)
    )
    return list(rows)


async def has_open_attempt(session: AsyncSession, payment_id: str) -> bool:
    found = await session.scalar(
        select(Attempt.id)
        .where(Attempt.payment_id == payment_id, Attempt.status == "open")
        .limit(1)
    )
    return found is not None


async def note(
    session: AsyncSession,
    payment: Payment,
    *,
    at: datetime,
    event_type: str,
    event_id: str,
    event_data: dict[str, Any],
) -> None:
    """Append an event at the payment's current version (alone: a change that does not
    move the payment)."""
    session.add(
        PaymentEvent(
            id=event_id,
            payment_id=payment.id,
            type=event_type,
            version=payment.version,
            data=event_data,
            created_at=at,
        )
    )
    await session.flush()
