"""Finance reports (DESIGN.md §10): an agency's settlement for a day, tied to the ledger,
and transaction exports. Days are days of the business time zone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies import repository as agencies
from paygov.agencies.models import Agency
from paygov.agencies.service import AgencyNotFound
from paygov.kit.clock import day_bounds
from paygov.kit.db import Database
from paygov.kit.errors import ValidationFailed
from paygov.payments import repository as payments
from paygov.payments.models import STATUSES
from paygov.providers import repository as providers
from paygov.refunds import allocation
from paygov.reports import repository
from paygov.reports.repository import Received, RefundParts, TransactionQuery
from paygov.reports.writers import Column, Format, Kind
from paygov.staff.roles import Staff

DateField = Literal["created", "paid"]
# Days a report may name: wide enough for any business, narrow enough to stay a datetime.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2999, 12, 31)


class InvalidDateRange(ValidationFailed):
    code = "invalid_date_range"
    message = "'from' must not be later than 'to'."


class UnknownProvider(ValidationFailed):
    code = "unknown_provider"
    message = "No provider with this code."


def check_day(day: date, name: str) -> None:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationFailed(
            f"{name}: a day from {FIRST_DAY} to {LAST_DAY}", field=name, code=f"invalid_{name}"
        )


async def visible_agency(session: AsyncSession, staff: Staff | None, code: str) -> Agency:
    """The agency, if it exists and the staff member (None: an operator) may see it. Not
    seeing it and its not existing are the same 404, so its existence is never revealed."""
    agency = await agencies.by_code(session, code.strip().lower())
    if agency is None or (staff is not None and not staff.sees_agency(agency.id)):
        raise AgencyNotFound(field="agency")
    return agency


def filename(kind: str, fmt: Format, *parts: str) -> str:
    """`kind-part-part.fmt`, ASCII only: it travels in a Content-Disposition header."""
    safe = (
        "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in part)
        for part in parts
    )
    return "-".join((kind, *safe)) + f".{fmt}"


# --- settlement -------------------------------------------------------------------------------

SETTLEMENT_COLUMNS = (
    Column("agency", width=12),
    Column("date", Kind.DATE, 11),
    Column("section", width=12),
    Column("code", Kind.TEXT, 18),
    Column("name", Kind.TEXT, 32),
    Column("payments", Kind.COUNT, 10),
    Column("gross", Kind.AMOUNT, 16),
    Column("refunds", Kind.COUNT, 9),
    Column("refunded", Kind.AMOUNT, 16),
    Column("net", Kind.AMOUNT, 16),
    Column("ledger_net", Kind.AMOUNT, 16),
    Column("ties", Kind.FLAG, 6),
)


@dataclass
class SettlementLine:
    """Money of one item code, one beneficiary account or the whole day. `ledger_net` is
    None on item lines: the ledger is kept by beneficiary, not by item."""

    section: Literal["item", "beneficiary", "total"]
    code: str
    name: str = ""
    payments: int = 0
    gross: int = 0
    refunds: int = 0
    refunded: int = 0
    ledger_net: int | None = None

    @property
    def net(self) -> int:
        return self.gross - self.refunded

    @property
    def ties(self) -> bool | None:
        return None if self.ledger_net is None else self.ledger_net == self.net


@dataclass
class Settlement:
    """An agency's day: what arrived (payments whose first success fell in the day), less
    what went back (refunds that succeeded in the day), by item code and by beneficiary
    account; each beneficiary's net beside what the ledger's payable account moved."""

    agency_code: str
    day: date
    items: list[SettlementLine] = field(default_factory=list)
    beneficiaries: list[SettlementLine] = field(default_factory=list)
    total: SettlementLine = field(default_factory=lambda: SettlementLine("total", ""))

    @property
    def ties(self) -> bool:
        return all(line.ties for line in [*self.beneficiaries, self.total])

    def filename(self, fmt: Format) -> str:
        return filename("settlement", fmt, self.agency_code, self.day.isoformat())

    def rows(self) -> list[tuple[Any, ...]]:
        """The report's rows, in `SETTLEMENT_COLUMNS` order."""
        return [
            (
                self.agency_code,
                self.day,
                line.section,
                line.code,
                line.name,
                line.payments,
                line.gross,
                line.refunds,
                line.refunded,
                line.net,
                line.ledger_net,
                line.ties,
            )
            for line in [*self.items, *self.beneficiaries, self.total]
        ]


def _lines(
    section: Literal["item", "beneficiary"], received: list[Received]
) -> dict[str, SettlementLine]:
    return {r.key: SettlementLine(section, r.key, r.name, r.payments, r.amount) for r in received}


async def _refund_parts(
    session: AsyncSession,
    refunds: list[RefundParts],
    by_item: dict[str, SettlementLine],
    by_beneficiary: dict[str, SettlementLine],
) -> None:
    """Add the day's refunds: each item code's part, split over that code's beneficiaries
    as the ledger split it (pro rata by item amount, largest remainder). What a refund
    gives back of an overpayment is not the beneficiaries' money and is not counted."""
    items = await payments.items_of(session, sorted({r.payment_id for r in refunds}))
    for refund in refunds:
        grouped = allocation.codes(items[refund.payment_id])
        touched: set[str] = set()
        for code, part in refund.by_code.items():
            group = grouped[code]
            line = by_item.setdefault(code, SettlementLine("item", code, group[0].name))
            line.refunds += 1
            line.refunded += part
            shares = allocation.split_pro_rata(part, [item.amount for item in group])
            for item, share in zip(group, shares, strict=True):
                key = item.beneficiary_account or "default"
                beneficiary = by_beneficiary.setdefault(key, SettlementLine("beneficiary", key))
                beneficiary.refunded += share
                if share and key not in touched:
                    touched.add(key)
                    beneficiary.refunds += 1


async def settlement(
    session: AsyncSession, *, staff: Staff | None, agency_code: str, day: date, zone: ZoneInfo
) -> Settlement:
    """The agency's settlement for a local day, with its tie-out to the ledger."""
    check_day(day, "date")
    agency = await visible_agency(session, staff, agency_code)
    start, end = day_bounds(day, day, zone)
    by_item = _lines("item", await repository.received_by_item(session, agency.id, start, end))
    by_beneficiary = _lines(
        "beneficiary", await repository.received_by_beneficiary(session, agency.id, start, end)
    )
    # A refund that only gave back an overpayment never touched the beneficiaries' money.
    refunds = [
        refund
        for refund in await repository.refunds_succeeded(session, agency.id, start, end)
        if refund.by_code
    ]
    await _refund_parts(session, refunds, by_item, by_beneficiary)
    ledger = await repository.ledger_payable(session, agency.id, start, end)
    for key in ledger:
        by_beneficiary.setdefault(key, SettlementLine("beneficiary", key))
    for key, line in by_beneficiary.items():
        line.ledger_net = -ledger.get(key, 0)  # payable is credited: a negative posting
    payments_count, gross = await repository.received_total(session, agency.id, start, end)
    total = SettlementLine(
        "total",
        "",
        payments=payments_count,
        gross=gross,
        refunds=len(refunds),
        refunded=sum(sum(r.by_code.values()) for r in refunds),
        ledger_net=-sum(ledger.values()),
    )
    return Settlement(
        agency.code,
        day,
        items=[by_item[key] for key in sorted(by_item)],
        beneficiaries=[by_beneficiary[key] for key in sorted(by_beneficiary)],
        total=total,
    )


# --- transactions -----------------------------------------------------------------------------

TRANSACTION_COLUMNS = (
    Column("payment_id", width=32),
    Column("agency", width=12),
    Column("reference", Kind.TEXT, 20),
    Column("description", Kind.TEXT, 40),
    Column("status", width=11),
    Column("amount", Kind.AMOUNT, 14),
    Column("paid", Kind.AMOUNT, 14),
    Column("refunded", Kind.AMOUNT, 14),
    Column("refund_pending", Kind.AMOUNT, 14),
    Column("overpaid", Kind.AMOUNT, 14),
    Column("provider", width=14),
    Column("bank", width=8),
    Column("txn_ref", width=22),
    Column("created_at", Kind.TIME, 20),
    Column("paid_at", Kind.TIME, 20),
    Column("late", Kind.FLAG, 6),
)


@dataclass(frozen=True)
class TransactionFilter:
    """A transaction export as asked: local days `first`..`last` (inclusive) of creation
    or of payment, optionally one agency, status, provider and dossier reference."""

    first: date
    last: date
    by: DateField = "created"
    agency_code: str | None = None
    status: str | None = None
    provider: str | None = None
    reference: str | None = None


async def transaction_query(
    session: AsyncSession,
    *,
    staff: Staff | None,
    wanted: TransactionFilter,
    zone: ZoneInfo,
    now: datetime,
    grace: timedelta,
) -> TransactionQuery:
    """Check the filter and the caller's scope; what the export will select. An
    agency_finance user without an agency gets their own."""
    check_day(wanted.first, "from")
    check_day(wanted.last, "to")
    if wanted.first > wanted.last:
        raise InvalidDateRange(field="to")
    if wanted.status is not None and wanted.status not in STATUSES:
        raise ValidationFailed(
            f"status: one of {', '.join(STATUSES)}", field="status", code="invalid_status"
        )
    if wanted.provider is not None and await providers.get(session, wanted.provider) is None:
        raise UnknownProvider(field="provider")
    agency_id = staff.agency_id if staff is not None else None
    if wanted.agency_code is not None:
        agency_id = (await visible_agency(session, staff, wanted.agency_code)).id
    start, end = day_bounds(wanted.first, wanted.last, zone)
    return TransactionQuery(
        start=start,
        end=end,
        by_paid=wanted.by == "paid",
        agency_id=agency_id,
        status=wanted.status,
        provider=wanted.provider,
        reference=wanted.reference,
        now=now,
        grace=grace,
    )


def transaction_rows(
    session: AsyncSession, query: TransactionQuery
) -> AsyncIterator[Sequence[Any]]:
    """The export's rows in batches, in `TRANSACTION_COLUMNS` order, streamed from the
    database (the caller keeps the session's transaction open while they are read)."""
    return repository.stream(session, repository.transactions(query))


async def stream_transactions(
    db: Database, query: TransactionQuery
) -> AsyncIterator[Sequence[Any]]:
    """`transaction_rows` in a read-only transaction of their own, open while they stream:
    a download outlives the request handler's transaction. Nothing is written, so nothing
    is committed here; every edge that writes still owns its transaction."""
    async with db.read() as session:
        async for batch in transaction_rows(session, query):
            yield batch


def transactions_filename(wanted: TransactionFilter, fmt: Format) -> str:
    parts = [wanted.first.isoformat(), wanted.last.isoformat()]
    return filename("transactions", fmt, *parts, *filter(None, [wanted.agency_code]))
