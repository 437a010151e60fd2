"""All SQL of the finance reports."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    Subquery,
    and_,
    case,
    cast,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from paygov.agencies.models import Agency
from paygov.ledger.models import Journal, Posting
from paygov.payments.models import Attempt, Payment, PaymentItem
from paygov.payments.repository import status_expression
from paygov.refunds.models import Refund

# Rows fetched per round trip from the server-side cursor of an export.
BATCH_ROWS = 2000


# --- settlement -------------------------------------------------------------------------------


def _paid_in(agency_id: str, start: datetime, end: datetime) -> Subquery:
    """The agency's payments whose money arrived in [start, end): their first succeeded
    attempt (the one the ledger posted as the payment; later ones are overpayments)
    succeeded then."""
    earlier = aliased(Attempt)
    first = ~exists().where(
        earlier.payment_id == Attempt.payment_id,
        earlier.status == "succeeded",
        or_(
            earlier.succeeded_at < Attempt.succeeded_at,
            and_(earlier.succeeded_at == Attempt.succeeded_at, earlier.id < Attempt.id),
        ),
    )
    return (
        select(Attempt.payment_id)
        .join(Payment, Payment.id == Attempt.payment_id)
        .where(
            Payment.agency_id == agency_id,
            Attempt.status == "succeeded",
            Attempt.succeeded_at >= start,
            Attempt.succeeded_at < end,
            first,
        )
        .subquery("paid")
    )


@dataclass(frozen=True)
class Received:
    """Money received for one key (an item code or a beneficiary account)."""

    key: str
    name: str
    payments: int
    amount: int


async def received_by_item(
    session: AsyncSession, agency_id: str, start: datetime, end: datetime
) -> list[Received]:
    paid = _paid_in(agency_id, start, end)
    rows = await session.execute(
        select(
            PaymentItem.code,
            func.max(PaymentItem.name),
            func.count(distinct(PaymentItem.payment_id)),
            func.sum(PaymentItem.amount),
        )
        .join(paid, paid.c.payment_id == PaymentItem.payment_id)
        .group_by(PaymentItem.code)
        .order_by(PaymentItem.code)
    )
    return [Received(code, name, int(n), int(total)) for code, name, n, total in rows.all()]


async def received_by_beneficiary(
    session: AsyncSession, agency_id: str, start: datetime, end: datetime
) -> list[Received]:
    paid = _paid_in(agency_id, start, end)
    beneficiary = func.coalesce(PaymentItem.beneficiary_account, literal("default"))
    rows = await session.execute(
        select(
            beneficiary,
            func.count(distinct(PaymentItem.payment_id)),
            func.sum(PaymentItem.amount),
        )
        .join(paid, paid.c.payment_id == PaymentItem.payment_id)
        .group_by(beneficiary)
        .order_by(beneficiary)
    )
    return [Received(key, "", int(n), int(total)) for key, n, total in rows.all()]


async def received_total(
    session: AsyncSession, agency_id: str, start: datetime, end: datetime
) -> tuple[int, int]:
    """(payments, their amounts) of the day: the orders' amounts, not their items'."""
    paid = _paid_in(agency_id, start, end)
    row = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(Payment.amount), 0)).join(
                paid, paid.c.payment_id == Payment.id
            )
        )
    ).one()
    return int(row[0]), int(row[1])


@dataclass(frozen=True)
class RefundParts:
    refund_id: str
    payment_id: str
    by_code: dict[str, int]


async def refunds_succeeded(
    session: AsyncSession, agency_id: str, start: datetime, end: datetime
) -> list[RefundParts]:
    """The agency's refunds that succeeded in [start, end), with their parts by item code.
    A succeeded refund changes no more, so its `updated_at` is when it succeeded."""
    rows = await session.execute(
        select(Refund.id, Refund.payment_id, Refund.items)
        .where(
            Refund.agency_id == agency_id,
            Refund.status == "succeeded",
            Refund.updated_at >= start,
            Refund.updated_at < end,
        )
        .order_by(Refund.id)
    )
    return [RefundParts(rid, pid, dict(items)) for rid, pid, items in rows.all()]


async def ledger_payable(
    session: AsyncSession, agency_id: str, start: datetime, end: datetime
) -> dict[str, int]:
    """Per beneficiary, what the ledger's payments and refunds of [start, end) moved into
    `payable:{agency}:{beneficiary}` (credits are negative, as posted)."""
    prefix = f"payable:{agency_id}:"
    rows = await session.execute(
        select(Posting.account, func.sum(Posting.amount))
        .join(Journal, Journal.id == Posting.journal_id)
        .where(
            Journal.created_at >= start,
            Journal.created_at < end,
            Journal.kind.in_(("payment", "refund")),
            Posting.account.startswith(prefix, autoescape=True),
        )
        .group_by(Posting.account)
    )
    return {account[len(prefix) :]: int(total) for account, total in rows.all()}


# --- transactions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class TransactionQuery:
    """What a transaction export selects. Bounds are UTC instants, `end` exclusive."""

    start: datetime
    end: datetime
    by_paid: bool
    agency_id: str | None
    status: str | None
    provider: str | None
    reference: str | None
    now: datetime
    grace: timedelta


def transactions(query: TransactionQuery) -> Select[Any]:
    """One row per payment, oldest first (the order of `TRANSACTION_COLUMNS`). No payer."""
    paying_ref = (
        select(Attempt.txn_ref)
        .where(Attempt.payment_id == Payment.id, Attempt.status == "succeeded")
        .order_by(Attempt.succeeded_at, Attempt.id)
        .limit(1)
        .scalar_subquery()
    )
    refunded = (
        select(cast(func.coalesce(func.sum(Refund.amount), 0), BigInteger))
        .where(Refund.payment_id == Payment.id, Refund.status == "succeeded")
        .scalar_subquery()
    )
    succeeded = Payment.status == "succeeded"
    has_refunds = Payment.amount_refunded > 0
    status = status_expression(query.now, query.grace)
    when = Payment.paid_at if query.by_paid else Payment.created_at
    statement = (
        select(
            Payment.id,
            Agency.code,
            Payment.reference,
            Payment.description,
            status,
            Payment.amount,
            case((succeeded, Payment.amount), else_=0),
            case((has_refunds, refunded), else_=0),
            case((has_refunds, Payment.amount_refunded - refunded), else_=0),
            Payment.amount_overpaid,
            Payment.provider,
            Payment.bank,
            case((succeeded, paying_ref), else_=None),
            Payment.created_at,
            Payment.paid_at,
            Payment.late,
        )
        .join(Agency, Agency.id == Payment.agency_id)
        .where(when >= query.start, when < query.end)
        .order_by(when, Payment.id)
    )
    if query.agency_id is not None:
        statement = statement.where(Payment.agency_id == query.agency_id)
    if query.status is not None:
        statement = statement.where(status == query.status)
    if query.provider is not None:
        statement = statement.where(Payment.provider == query.provider)
    if query.reference is not None:
        statement = statement.where(Payment.reference == query.reference)
    return statement


async def stream(
    session: AsyncSession, statement: Select[Any], batch_rows: int = BATCH_ROWS
) -> AsyncIterator[Sequence[Any]]:
    """The statement's rows in batches, through a server-side cursor: never all at once."""
    result = await session.stream(statement.execution_options(yield_per=batch_rows))
    try:
        async for batch in result.partitions():
            yield batch
    finally:
        await result.close()
