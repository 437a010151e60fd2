"""All SQL of reconciliation. Classification is set-based: a few INSERT … SELECT joins of
the staged statement with attempts and refunds, never a Python loop over lines."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import asyncpg
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Identity,
    MetaData,
    Row,
    String,
    Table,
    Text,
    bindparam,
    cast,
    false,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bank_adapters.statements.copyable import NotCopyable
from paygov.kit.db import UtcDateTime
from paygov.payments.models import Attempt, Payment
from paygov.reconciliation.models import ReconItem, ReconRun, Resolution, StatementLine


# The statement of the run being classified: a temporary table of the loading transaction
# (dropped at its end, never written to the WAL). Only the lines a run gives an item are
# kept, in recon_lines; the others are matched, counted in the run.
def _statement(name: str) -> Table:
    return Table(
        name,
        MetaData(),
        # Numbered in the order COPY reads the rows; numbers handed out a thousand at a
        # time, not one sequence call a row.
        Column("line_no", BigInteger, Identity(cache=10_000), nullable=False),
        Column("booked_at", UtcDateTime, nullable=False),
        Column("amount", BigInteger, nullable=False),
        Column("fee", BigInteger, nullable=False),
        Column("kind", String(8)),  # NULL: a credit copied as it is, a payment
        Column("reversal", Boolean, nullable=False, server_default=false()),
        Column("txn_ref", Text),  # the statement's reference; NULL on a plain line: `ref`
        Column("ref", Text),  # PayGov's txn_ref
        Column("bank_ref", Text),
        Column("memo", Text),
        # Read in Python. A line copied as it is and not read is plain: a credit whose
        # statement reference, copied into `ref`, is PayGov's txn_ref (see unread_lines).
        Column("ref_known", Boolean, nullable=False, server_default=false()),
        prefixes=["TEMPORARY"],
        postgresql_on_commit="DROP",
    )


STAGE = _statement("recon_stage")
ODD = _statement("recon_odd")  # the lines that are not a plain same-day match
READ = Table(
    "recon_read",
    MetaData(),
    Column("row_id", Text, primary_key=True),  # the staged row's ctid (PostgreSQL) or rowid
    Column("kind", String(8), nullable=False),
    Column("ref", String(20)),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
PENDING = Table(
    "recon_pending",
    MetaData(),
    Column("ref", Text),
    Column("lines", BigInteger),  # credits of the reference; NULL: an attempt no line names
    Column("attempt_id", String(30)),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
TEMPORARY_TABLES = (STAGE, READ, PENDING, ODD)
STAGE_COLUMNS = tuple(column.name for column in STAGE.columns)
# The columns of a statement CSV in PayGov's layout, in its order (bank_adapters copyable).
COPIED_COLUMNS = ("booked_at", "amount", "ref", "memo", "bank_ref", "fee")
SQLITE_BATCH = 5_000


@dataclass(frozen=True)
class Window:
    """The instants that bound a run's day (DESIGN.md §10), in UTC."""

    day_start: datetime
    day_end: datetime
    hold_from: datetime  # unmatched attempts recorded after this are held for the next day


# --- runs -------------------------------------------------------------------------------


def add_run(session: AsyncSession, run: ReconRun) -> None:
    session.add(run)


async def get_run(
    session: AsyncSession, run_id: str, *, for_update: bool = False
) -> ReconRun | None:
    query = select(ReconRun).where(ReconRun.id == run_id)
    if for_update:
        query = query.with_for_update()
    found: ReconRun | None = await session.scalar(query)
    return found


async def running(session: AsyncSession, provider: str, day: date) -> ReconRun | None:
    found: ReconRun | None = await session.scalar(
        select(ReconRun)
        .where(ReconRun.provider == provider, ReconRun.day == day, ReconRun.status == "running")
        .with_for_update()
    )
    return found


async def runs(
    session: AsyncSession, *, provider: str | None, day: date | None, limit: int
) -> list[ReconRun]:
    query = select(ReconRun).order_by(ReconRun.started_at.desc(), ReconRun.id.desc()).limit(limit)
    if provider is not None:
        query = query.where(ReconRun.provider == provider)
    if day is not None:
        query = query.where(ReconRun.day == day)
    return list(await session.scalars(query))


async def current_run(session: AsyncSession, provider: str, day: date) -> ReconRun | None:
    """The completed run whose classes stand for the provider's day."""
    found: ReconRun | None = await session.scalar(
        select(ReconRun).where(
            ReconRun.provider == provider, ReconRun.day == day, ReconRun.status == "completed"
        )
    )
    return found


async def day_settled(session: AsyncSession, provider: str, day: date, since: datetime) -> bool:
    """Nothing for the nightly job to do: the day is reconciled, running, or failed lately."""
    found = await session.scalar(
        select(ReconRun.id)
        .where(
            ReconRun.provider == provider,
            ReconRun.day == day,
            (ReconRun.status.in_(("completed", "running"))) | (ReconRun.started_at >= since),
        )
        .limit(1)
    )
    return found is not None


async def supersede(session: AsyncSession, provider: str, day: date, keep: str) -> None:
    await session.execute(
        update(ReconRun)
        .where(
            ReconRun.provider == provider,
            ReconRun.day == day,
            ReconRun.status == "completed",
            ReconRun.id != keep,
        )
        .values(status="superseded")
    )


async def discard_work(session: AsyncSession, run_id: str) -> None:
    """Forget what a failed or replaced attempt at a run loaded and classified."""
    await session.execute(text("DELETE FROM recon_items WHERE run_id = :run"), {"run": run_id})
    await session.execute(text("DELETE FROM recon_lines WHERE run_id = :run"), {"run": run_id})


# --- staging ----------------------------------------------------------------------------


async def create_stage(session: AsyncSession) -> None:
    connection = await session.connection()
    for table in TEMPORARY_TABLES:
        if connection.dialect.name == "sqlite":  # no ON COMMIT DROP: dropped by drop_stage
            await connection.execute(text(f"DROP TABLE IF EXISTS temp.{table.name}"))
        await connection.run_sync(table.create)


async def drop_stage(session: AsyncSession) -> None:
    if session.get_bind().dialect.name == "sqlite":
        for table in TEMPORARY_TABLES:
            await session.execute(text(f"DROP TABLE temp.{table.name}"))


def copies(session: AsyncSession) -> bool:
    """Whether the database reads statement files itself (PostgreSQL's COPY)."""
    return session.get_bind().dialect.name == "postgresql"


async def _driver(session: AsyncSession) -> Any:
    """asyncpg's connection, inside the session's transaction (SQLAlchemy begins it at its
    first statement; COPY goes to the driver directly and must not run in autocommit)."""
    connection = await session.connection()
    await connection.execute(text("SELECT 1"))
    return (await connection.get_raw_connection()).driver_connection


async def copy_statement(session: AsyncSession, chunks: Iterable[bytes]) -> bool:
    """Stage a CSV statement in PayGov's layout, its rows (no header) in `chunks`, by one
    COPY. False, with nothing staged, when the chunks stop on a text outside the plain
    grammar (NotCopyable) or the database refuses a value: the caller reads the file."""
    driver = await _driver(session)

    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:  # checked here while the database parses the chunk before
            yield chunk

    savepoint = await session.begin_nested()
    await session.connection()  # SQLAlchemy sends the SAVEPOINT at its next use of it
    try:
        await driver.copy_to_table(
            "recon_stage",
            source=source(),
            columns=COPIED_COLUMNS,
            format="csv",
            force_null=("ref", "memo", "bank_ref"),
        )
    except (NotCopyable, asyncpg.DataError, asyncpg.IntegrityConstraintViolationError):
        await savepoint.rollback()
        return False
    await savepoint.commit()
    return True


async def stage_lines(
    session: AsyncSession, rows: Iterable[tuple[Any, ...]] | AsyncIterable[tuple[Any, ...]]
) -> None:
    """Stage lines read in Python (tuples in STAGE_COLUMNS order): one streamed COPY on
    PostgreSQL, batched inserts on SQLite."""
    if copies(session):
        driver = await _driver(session)
        await driver.copy_records_to_table("recon_stage", records=rows, columns=STAGE_COLUMNS)
        return
    async for batch in _batches(rows, SQLITE_BATCH):
        await session.execute(
            insert(STAGE), [dict(zip(STAGE_COLUMNS, row, strict=True)) for row in batch]
        )


async def _batches(
    rows: Iterable[tuple[Any, ...]] | AsyncIterable[tuple[Any, ...]], size: int
) -> AsyncIterator[list[tuple[Any, ...]]]:
    batch: list[tuple[Any, ...]] = []
    async for row in _each(rows):
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _each(
    rows: Iterable[tuple[Any, ...]] | AsyncIterable[tuple[Any, ...]],
) -> AsyncIterator[tuple[Any, ...]]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


@dataclass(frozen=True)
class Unread:
    """A copied line whose kind and PayGov reference Python must still tell."""

    row_id: str
    booked_at: datetime
    amount: int
    fee: int
    txn_ref: str | None
    bank_ref: str | None
    memo: str | None


# A staged row's physical address: what the few rows read in Python are updated by, each
# found directly, not by a scan of the whole statement for their line numbers.
ROW_ID = {"postgresql": ("ctid", "tid"), "sqlite": ("rowid", "INTEGER")}


async def unread_lines(session: AsyncSession) -> AsyncIterator[Unread]:
    """Copied lines that are not credits naming PayGov's reference: debits and credits
    whose reference is in the memo (the grammar lets no other credit through)."""
    row_id, _ = ROW_ID[session.get_bind().dialect.name]
    result = await session.stream(
        select(
            cast(literal_column(row_id), Text),
            STAGE.c.booked_at,
            STAGE.c.amount,
            STAGE.c.fee,
            STAGE.c.ref,  # as copied: the statement's reference
            STAGE.c.bank_ref,
            STAGE.c.memo,
        )
        .where(~STAGE.c.ref_known, (STAGE.c.amount <= 0) | STAGE.c.ref.is_(None))
        .execution_options(yield_per=2_000)
    )
    async for row in result:
        yield Unread(*row)


async def add_read(session: AsyncSession, rows: list[tuple[str, str, str | None]]) -> None:
    """(row_id, kind, ref) of lines unread_lines gave, applied by apply_read."""
    if rows:
        await session.execute(
            insert(READ), [{"row_id": at, "kind": kind, "ref": ref} for at, kind, ref in rows]
        )


async def apply_read(session: AsyncSession) -> None:
    row_id, typed = ROW_ID[session.get_bind().dialect.name]
    await session.execute(
        text(
            "UPDATE recon_stage SET kind = r.kind, txn_ref = recon_stage.ref, ref = r.ref,"
            f" ref_known = TRUE FROM recon_read r"
            f" WHERE recon_stage.{row_id} = CAST(r.row_id AS {typed})"
        )
    )


@dataclass(frozen=True)
class LineTotals:
    lines: int
    amount: int
    fees: int


async def stage_totals(session: AsyncSession) -> LineTotals:
    row = (
        await session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(STAGE.c.amount), 0),
                func.coalesce(func.sum(STAGE.c.fee), 0),
            )
        )
    ).one()
    return LineTotals(int(row[0]), int(row[1]), int(row[2]))


# --- classification ---------------------------------------------------------------------

# A staged line's kind and the statement's reference (see STAGE).
KIND = "COALESCE(l.kind, 'payment')"
TXN_REF = "CASE WHEN l.ref_known THEN l.txn_ref ELSE l.ref END"
PAYMENT_LINE = (
    "l.amount > 0 AND (l.kind IS NULL OR l.kind IN ('payment', 'other')) AND NOT l.reversal"
)

# One pass over the whole statement: its credits grouped by reference, fully joined with
# the attempts that succeeded that day (or were held at the end of the day before). A
# group of one credit that agrees with its attempt of the day is matched and goes no
# further (the common case, not written: a line without an item is matched, see `counts`).
# What is left is small: references whose credits need a closer look (no attempt of the
# day, several credits, another amount, a succeeded_via of reconciliation) and attempts no
# credit names.
FIND_PENDING = f"""
INSERT INTO recon_pending (ref, lines, attempt_id)
SELECT g.ref, g.lines, d.id
FROM (
    SELECT l.ref, count(*) AS lines, MIN(l.amount) AS amount
    FROM recon_stage l
    WHERE {PAYMENT_LINE}
    GROUP BY l.ref
) g
FULL JOIN (
    SELECT a.id, a.txn_ref, a.amount, a.succeeded_at, a.succeeded_via, a.transfers
    FROM attempts a
    WHERE a.provider = :provider AND a.status = 'succeeded'
      AND ((a.succeeded_at >= :day_start AND a.succeeded_at < :day_end)
           OR a.id IN (SELECT i.attempt_id FROM recon_items i
                       WHERE i.run_id = :previous AND i.class = 'held' AND i.carry))
) d ON d.txn_ref = g.ref
WHERE g.lines IS NULL
   OR NOT (
        d.id IS NOT NULL AND g.lines = 1 AND g.amount = d.amount AND d.transfers >= 1
        AND (d.succeeded_via IS NULL OR d.succeeded_via <> 'reconciliation')
        AND d.succeeded_at >= :day_start AND d.succeeded_at < :day_end)
"""

# The second and last pass over the whole statement: its lines that need a closer look,
# copied apart (credits of the references left pending, credits naming none, debits,
# reversals and fee lines) for the statements below.
FIND_ODD = f"""
INSERT INTO recon_odd ({", ".join(STAGE_COLUMNS)})
SELECT {", ".join(f"l.{name}" for name in STAGE_COLUMNS)}
FROM recon_stage l
LEFT JOIN recon_pending p ON p.ref = l.ref AND p.lines > 0
WHERE p.ref IS NOT NULL OR l.ref IS NULL OR NOT ({PAYMENT_LINE})
"""

# The credits of those references, each given its class; the n-th credit for an attempt
# paid by fewer transfers is a duplicate. Matches that cross days are written (`carry`):
# later runs must know the attempt was seen.
CLASSIFY_PAYMENT_LINES = f"""
INSERT INTO recon_items (run_id, item_no, class, line_no, attempt_id, bank_amount,
                         paygov_amount, carry, correctable)
SELECT run_id, line_no, cls, line_no, attempt_id, bank_amount, paygov_amount, carry,
       correctable
FROM (
    SELECT CAST(:run AS VARCHAR(30)) AS run_id, l.line_no, CASE
            WHEN a.id IS NULL THEN 'missing_at_paygov'
            WHEN l.amount <> a.amount THEN 'amount_mismatch'
            WHEN a.status <> 'succeeded' OR a.succeeded_via = 'reconciliation'
                THEN 'missing_at_paygov'
            WHEN l.nth > a.transfers THEN 'duplicate_at_bank'
            ELSE 'matched'
        END AS cls,
        a.id AS attempt_id, l.amount AS bank_amount, a.amount AS paygov_amount,
        a.id IS NOT NULL AND (a.succeeded_at IS NULL OR a.succeeded_at < :day_start
                              OR a.succeeded_at >= :day_end) AS carry,
        a.id IS NOT NULL AND a.status <> 'succeeded' AND l.amount = a.amount AS correctable
    FROM (
        SELECT l.line_no, l.amount, l.ref,
            row_number() OVER (PARTITION BY l.ref ORDER BY l.booked_at, l.line_no) AS nth
        FROM recon_odd l
        WHERE {PAYMENT_LINE} AND l.ref IS NOT NULL
    ) l
    LEFT JOIN attempts a ON a.txn_ref = l.ref AND a.provider = :provider
) c
WHERE cls <> 'matched' OR carry
"""

# Debits, reversals, fee lines and credits naming no PayGov reference: few, so attempts
# and refunds are found by lookups.
CLASSIFY_OTHER_LINES = f"""
INSERT INTO recon_items (run_id, item_no, class, line_no, attempt_id, refund_id, bank_amount,
                         paygov_amount, carry, correctable)
SELECT CAST(:run AS VARCHAR(30)), m.line_no, CASE
        WHEN m.credit OR m.kind = 'fee' THEN 'unrelated'
        WHEN m.reversal THEN
            CASE WHEN m.attempt_id IS NULL AND m.refund_id IS NULL THEN 'unrelated'
                 ELSE 'refund_mismatch' END
        WHEN m.refund_id IS NOT NULL AND r.status = 'succeeded' AND r.amount = -m.amount
            THEN 'matched'
        WHEN m.refund_id IS NOT NULL OR m.attempt_id IS NOT NULL THEN 'refund_mismatch'
        ELSE 'unrelated'
    END,
    m.line_no, m.attempt_id, m.refund_id, m.amount, -r.amount, FALSE, FALSE
FROM (
    SELECT o.line_no, o.credit, o.kind, o.reversal, o.amount, a.id AS attempt_id,
        CASE WHEN NOT o.credit THEN COALESCE(
            (SELECT r.id FROM refunds r WHERE r.id = o.txn_ref AND r.provider = :provider),
            (SELECT min(r.id) FROM refunds r
             WHERE r.payment_id = a.payment_id AND r.attempt_id = a.id
               AND r.amount = -o.amount)
        ) END AS refund_id
    FROM (
        SELECT l.line_no, {PAYMENT_LINE} AS credit, {KIND} AS kind, l.reversal, l.amount,
            {TXN_REF} AS txn_ref, l.ref
        FROM recon_odd l
        WHERE NOT ({PAYMENT_LINE}) OR l.ref IS NULL
    ) o
    LEFT JOIN attempts a ON a.txn_ref = o.ref AND a.provider = :provider
) m
LEFT JOIN refunds r ON r.id = m.refund_id
"""

# Attempts no line names (no credit, nor a debit or fee line), unless a line of another day
# claimed them.
NEXT_ITEM = "(SELECT COALESCE(MAX(n.item_no), 0) FROM recon_items n WHERE n.run_id = :run)"

CLASSIFY_ATTEMPTS = f"""
INSERT INTO recon_items (run_id, item_no, class, attempt_id, paygov_amount, carry,
                         correctable)
SELECT CAST(:run AS VARCHAR(30)),
    {NEXT_ITEM} + row_number() OVER (ORDER BY a.succeeded_at, a.id),
    CASE WHEN a.succeeded_at >= :hold_from THEN 'held' ELSE 'missing_at_bank' END,
    a.id, a.amount, a.succeeded_at >= :hold_from, FALSE
FROM recon_pending p
JOIN attempts a ON a.id = p.attempt_id
WHERE p.lines IS NULL
  AND NOT EXISTS (SELECT 1 FROM recon_odd l WHERE l.ref = a.txn_ref)
  AND NOT EXISTS (
      SELECT 1 FROM recon_items i JOIN recon_runs r ON r.id = i.run_id
      WHERE i.carry AND i.attempt_id = a.id AND i.class <> 'held'
        AND r.provider = :provider AND r.status = 'completed' AND r.day <> :day)
"""

# Refunds the provider gave back that day without a statement line for them.
CLASSIFY_REFUNDS = f"""
INSERT INTO recon_items (run_id, item_no, class, attempt_id, refund_id, paygov_amount, carry,
                         correctable)
SELECT CAST(:run AS VARCHAR(30)), {NEXT_ITEM} + row_number() OVER (ORDER BY f.id),
    'refund_mismatch', f.attempt_id, f.id, f.amount, FALSE, FALSE
FROM refunds f
LEFT JOIN recon_items mine ON mine.run_id = :run AND mine.refund_id = f.id
WHERE f.provider = :provider AND f.status = 'succeeded' AND mine.run_id IS NULL
  AND f.updated_at >= :day_start AND f.updated_at < :day_end
"""

# The lines the run gave an item, kept with the run (the staged statement goes with the
# transaction).
KEEP_LINES = f"""
INSERT INTO recon_lines (run_id, line_no, booked_at, amount, fee, kind, reversal, txn_ref, ref,
                         bank_ref, memo)
SELECT CAST(:run AS VARCHAR(30)), l.line_no, l.booked_at, l.amount, l.fee, {KIND}, l.reversal,
    substr({TXN_REF}, 1, 64), l.ref, substr(l.bank_ref, 1, 64), l.memo
FROM recon_odd l
WHERE l.line_no IN (SELECT i.line_no FROM recon_items i WHERE i.run_id = :run)
"""

INSTANTS = ("day_start", "day_end", "hold_from")


def _bound(sql: str) -> Any:
    """The statement with its instants typed (SQLite compares them as text)."""
    return text(sql).bindparams(
        *(bindparam(name, type_=UtcDateTime()) for name in INSTANTS if f":{name}" in sql)
    )


async def classify(
    session: AsyncSession,
    *,
    run_id: str,
    provider: str,
    day: date,
    window: Window,
    previous_run: str | None,
) -> None:
    """Give every staged line and every succeeded attempt of the day exactly one class;
    keep the lines given an item."""
    if copies(session):  # memory enough to hash a million lines without spilling to disk
        await session.execute(text("SET LOCAL work_mem = '256MB'"))
    await _lookups_are_cheap(session)
    params = {
        "run": run_id,
        "provider": provider,
        "day": day,
        "day_start": window.day_start,
        "day_end": window.day_end,
        "hold_from": window.hold_from,
        "previous": previous_run or "",
    }
    await session.execute(_bound(FIND_PENDING), params)
    await _analyze(session, "recon_pending")
    await session.execute(text(FIND_ODD))
    # Statistics of what was just written, for the next statement's plan: temporary tables
    # have no autovacuum, and the run's items and lines are read next (corrections, report).
    # The whole statement is read twice, never looked up: it needs none.
    await _analyze(session, "recon_odd")
    for sql in (CLASSIFY_PAYMENT_LINES, CLASSIFY_OTHER_LINES, CLASSIFY_ATTEMPTS, CLASSIFY_REFUNDS):
        await session.execute(_bound(sql), params)
    await session.execute(text(KEEP_LINES), {"run": run_id})
    await _analyze(session, "recon_items, recon_lines")


async def _lookups_are_cheap(session: AsyncSession) -> None:
    """The few lines, items and attempts a run looks up one by one are found by their
    unique indexes in pages the run just read; the default cost of a random page (4, for
    spinning disks) would rather hash every attempt of the provider to find a thousand."""
    if copies(session):
        await session.execute(text("SET LOCAL random_page_cost = 1.1"))


async def _analyze(session: AsyncSession, tables: str) -> None:
    if copies(session):
        await session.execute(text(f"ANALYZE {tables}"))


async def counts(session: AsyncSession, run_id: str) -> list[Any]:
    """Per class: lines, attempts/refunds, and the amounts on each side."""
    result = await session.execute(
        select(
            ReconItem.cls,
            func.count(ReconItem.line_no),
            func.count() - func.count(ReconItem.line_no),
            func.coalesce(func.sum(ReconItem.bank_amount), 0),
            func.coalesce(func.sum(ReconItem.paygov_amount), 0),
        )
        .where(ReconItem.run_id == run_id)
        .group_by(ReconItem.cls)
    )
    return list(result.all())


@dataclass(frozen=True)
class Correctable:
    txn_ref: str
    amount: int
    booked_at: datetime
    bank_ref: str | None


async def correctable(session: AsyncSession, run_id: str) -> list[Correctable]:
    """Money at the bank for an attempt PayGov has not seen succeed: corrected by the run."""
    rows = await session.execute(
        select(
            Attempt.txn_ref, StatementLine.amount, StatementLine.booked_at, StatementLine.bank_ref
        )
        .select_from(ReconItem)
        .join(
            StatementLine,
            (StatementLine.run_id == ReconItem.run_id)
            & (StatementLine.line_no == ReconItem.line_no),
        )
        .join(Attempt, Attempt.id == ReconItem.attempt_id)
        .where(
            ReconItem.run_id == run_id,
            ReconItem.cls == "missing_at_paygov",
            ReconItem.correctable,
        )
        .order_by(StatementLine.line_no)
    )
    return [Correctable(*row) for row in rows.all()]


async def fees_booked(session: AsyncSession, provider: str, day: date) -> int:
    """Fees of the provider's day already in the ledger (journals `fee`, `{provider}:{day}:…`)."""
    total = await session.scalar(
        text(
            "SELECT COALESCE(SUM(p.amount), 0) FROM ledger_journals j"
            " JOIN ledger_postings p ON p.journal_id = j.id"
            " WHERE j.kind = 'fee' AND j.reference LIKE :prefix AND p.account = :account"
        ),
        {"prefix": f"{provider}:{day.isoformat()}:%", "account": f"fees:{provider}"},
    )
    return int(total or 0)


# --- discrepancies ----------------------------------------------------------------------


def subject_sql() -> Any:
    """What a discrepancy is about, stable across re-runs of a day."""
    return func.coalesce(
        "line:" + StatementLine.bank_ref,
        "line:#" + cast(StatementLine.line_no, String),
        "refund:" + ReconItem.refund_id,
        "attempt:" + ReconItem.attempt_id,
    )


DISCREPANCY_COLUMNS = (
    "item_id",
    "class",
    "line_no",
    "booked_at",
    "bank_amount",
    "paygov_amount",
    "fee",
    "statement_ref",
    "bank_ref",
    "memo",
    "txn_ref",
    "payment_id",
    "agency_id",
    "refund_id",
    "corrected",
    "subject",
    "resolution",
    "resolved_by",
    "resolved_at",
)


def discrepancies_query(
    run: ReconRun, *, item_id: int | None = None, after: int | None = None, limit: int | None = None
) -> Any:
    subject = subject_sql()
    query = (
        select(
            ReconItem.item_no,
            ReconItem.cls,
            ReconItem.line_no,
            StatementLine.booked_at,
            ReconItem.bank_amount,
            ReconItem.paygov_amount,
            StatementLine.fee,
            StatementLine.txn_ref,
            StatementLine.bank_ref,
            StatementLine.memo,
            Attempt.txn_ref,
            Attempt.payment_id,
            Payment.agency_id,
            ReconItem.refund_id,
            ReconItem.correctable | (Attempt.succeeded_via == "reconciliation"),
            subject,
            Resolution.reason,
            Resolution.resolved_by,
            Resolution.resolved_at,
        )
        .select_from(ReconItem)
        .outerjoin(
            StatementLine,
            (StatementLine.run_id == ReconItem.run_id)
            & (StatementLine.line_no == ReconItem.line_no),
        )
        .outerjoin(Attempt, Attempt.id == ReconItem.attempt_id)
        .outerjoin(Payment, Payment.id == Attempt.payment_id)
        .outerjoin(
            Resolution,
            (Resolution.provider == run.provider)
            & (Resolution.day == run.day)
            & (Resolution.subject == subject)
            & (Resolution.cls == ReconItem.cls),
        )
        .where(ReconItem.run_id == run.id, ReconItem.cls.not_in(("matched",)))
        .order_by(ReconItem.item_no)
    )
    if item_id is not None:
        query = query.where(ReconItem.item_no == item_id)
    if after is not None:
        query = query.where(ReconItem.item_no > after)
    if limit is not None:
        query = query.limit(limit)
    return query


async def discrepancies(
    session: AsyncSession, run: ReconRun, *, after: int | None = None, limit: int | None = None
) -> AsyncIterator[Row[Any]]:
    query = discrepancies_query(run, after=after, limit=limit)
    await _lookups_are_cheap(session)
    result = await session.stream(query.execution_options(yield_per=2_000))
    async for batch in result.partitions():  # a batch a fetch, not a thread switch a row
        for row in batch:
            yield row


async def discrepancy(session: AsyncSession, run: ReconRun, item_id: int) -> Row[Any] | None:
    return (await session.execute(discrepancies_query(run, item_id=item_id))).first()


def add_resolution(session: AsyncSession, resolution: Resolution) -> None:
    session.add(resolution)


async def resolution_exists(
    session: AsyncSession, provider: str, day: date, subject: str, cls: str
) -> bool:
    found = await session.scalar(
        select(Resolution.id).where(
            Resolution.provider == provider,
            Resolution.day == day,
            Resolution.subject == subject,
            Resolution.cls == cls,
        )
    )
    return found is not None


def rows_of(rows: Iterable[Row[Any]]) -> list[dict[str, Any]]:
    return [dict(zip(DISCREPANCY_COLUMNS, row, strict=True)) for row in rows]
