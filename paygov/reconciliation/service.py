"""A reconciliation run: load a provider's statement for a day, classify every line and
every succeeded attempt with set-based SQL, correct what is safe, book the fees.

Phases, each its own transaction, so a run killed anywhere restarts cleanly:
start (one running run per provider and day) → load the statement (all or nothing) →
classify → corrections (each exactly once, through the callback inbox) → fees (one
journal per change of the day's total) → finish (earlier runs of the day superseded).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bank_adapters.base import ProviderEvent, StatementFileOnly
from bank_adapters.base import StatementLine as Line
from bank_adapters.statements import StatementError
from bank_adapters.statements.copyable import copy_chunks
from bank_adapters.vietqr.adapter import find_txn_ref
from paygov.audit import service as audit
from paygov.callbacks import service as callbacks
from paygov.kit.clock import day_bounds
from paygov.kit.context import Context
from paygov.kit.crashpoints import crash_point
from paygov.kit.db import is_unique_violation
from paygov.kit.errors import Conflict, NotFound, PayGovError, ValidationFailed
from paygov.kit.ids import new_id
from paygov.ledger import service as ledger
from paygov.providers.live import LiveProvider
from paygov.reconciliation import repository, sources
from paygov.reconciliation.models import FINAL_CLASSES, ReconRun, Resolution
from paygov.reconciliation.repository import Window

log = logging.getLogger(__name__)

MIDNIGHT_WINDOW = timedelta(minutes=60)
CORRECTION_BATCH = 100
READ_BATCH = 5_000
OUR_TXN_REF = re.compile(r"PG[0-9A-Z]{14}")


class StatementRefused(PayGovError):
    status_code = 422
    code = "statement_refused"
    message = "The statement cannot be reconciled."


class RunInProgress(Conflict):
    code = "reconciliation_running"
    message = "A reconciliation of this provider and day is already running."


class RunNotFound(NotFound):
    code = "reconciliation_run_not_found"
    message = "No reconciliation run with this id."


class DiscrepancyNotFound(NotFound):
    code = "discrepancy_not_found"
    message = "No discrepancy with this id in this run."


class AlreadyResolved(Conflict):
    code = "discrepancy_already_resolved"
    message = "This discrepancy was already resolved."


def window(ctx: Context, day: date) -> Window:
    """The day in the business time zone, as UTC instants."""
    start, end = day_bounds(day, day, ZoneInfo(ctx.settings.business_timezone))
    return Window(day_start=start, day_end=end, hold_from=end - MIDNIGHT_WINDOW)


def line_kind(line: Line) -> str:
    if line.kind is not None:
        return line.kind
    if line.fee > 0 and line.amount == -line.fee:
        return "fee"
    return "payment" if line.amount > 0 else "refund" if line.amount < 0 else "other"


def our_ref(line: Line) -> str | None:
    """PayGov's txn_ref for the line: the statement's reference, else found in the memo."""
    if line.txn_ref is not None and OUR_TXN_REF.fullmatch(line.txn_ref):
        return line.txn_ref
    return find_txn_ref(line.memo) if line.memo else None


def staged(line_no: int, line: Line) -> tuple[Any, ...]:
    """A line read in Python, in repository.STAGE_COLUMNS order."""
    return (
        line_no,
        line.booked_at,
        line.amount,
        line.fee,
        line_kind(line),
        line.reversal,
        line.txn_ref,
        our_ref(line),
        line.provider_txn_id,
        line.memo,
        True,
    )


# --- the run ----------------------------------------------------------------------------


async def reconcile(
    ctx: Context,
    *,
    provider_code: str,
    day: date,
    actor: str,
    path: Path | None = None,
) -> ReconRun:
    """Reconcile one provider's day from its statement API, or from the file at `path`."""
    async with ctx.db.read() as session:
        await ctx.providers.refresh(session, ctx.box)
    provider = ctx.providers.get(provider_code)
    if path is None and provider.adapter.statement_file_only:
        raise StatementRefused(
            f"{provider.code} has no statement API: give its statement with --file.",
            field="file",
        )
    run_id = await _start(ctx, provider, day, actor, path)
    try:
        await _load_and_classify(ctx, provider, run_id, day, path)
    except (StatementError, StatementFileOnly, StatementRefused) as exc:
        await _fail(ctx, run_id, str(exc))
        if isinstance(exc, StatementRefused):
            raise
        raise StatementRefused(f"{path.name if path else provider.code}: {exc}") from None
    except BaseException as exc:
        await _fail(ctx, run_id, f"{type(exc).__name__}: {exc}"[:500])
        raise
    return await _correct_and_finish(ctx, provider, run_id, day, actor)


async def _start(
    ctx: Context, provider: LiveProvider, day: date, actor: str, path: Path | None
) -> str:
    now = ctx.clock.now()
    lease = timedelta(seconds=ctx.settings.reconcile_lease_seconds)
    run_id = new_id("rec")
    try:
        async with ctx.db.transaction() as session:
            stale = await repository.running(session, provider.code, day)
            if stale is not None:
                if now - stale.heartbeat_at < lease:
                    raise RunInProgress(
                        f"Run {stale.id} of {provider.code} for {day} is still running"
                        f" (started by {stale.started_by}).",
                        field="date",
                    )
                stale.status, stale.finished_at = "failed", now
                stale.error = f"abandoned: no sign of life since {stale.heartbeat_at.isoformat()}"
                await repository.discard_work(session, stale.id)
                await session.flush()
            repository.add_run(
                session,
                ReconRun(
                    id=run_id,
                    provider=provider.code,
                    day=day,
                    status="running",
                    source="file" if path else "fetch",
                    input_name=path.name[:255] if path else None,
                    input_sha256=None,
                    started_by=actor[:120],
                    lines=0,
                    counts={},
                    fees=0,
                    error=None,
                    started_at=now,
                    heartbeat_at=now,
                    finished_at=None,
                ),
            )
    except Exception as exc:
        if is_unique_violation(exc):  # another run started between our look and our insert
            raise RunInProgress(field="date") from None
        raise
    return run_id


class _Stager:
    """Numbers each line, checks its currency, and gives the row the staging table takes."""

    def __init__(self, provider: LiveProvider, digest: Any) -> None:
        self.provider = provider.code
        self.currency = sources.currency(provider)
        self.digest = digest
        self.line_no = 0

    def __call__(self, line: Line) -> tuple[Any, ...]:
        self.line_no += 1
        if self.digest is not None:
            self.digest.update(repr(line).encode())
        if line.currency != self.currency:
            raise StatementRefused(
                f"the statement is in {line.currency}; {self.provider} settles in"
                f" {self.currency} (line {self.line_no}): nothing was imported"
            )
        return staged(self.line_no, line)


async def _load_and_classify(
    ctx: Context, provider: LiveProvider, run_id: str, day: date, path: Path | None
) -> None:
    """Stage the statement and classify it in one transaction: a bad line or a crash
    leaves nothing. The run records the totals, the counts and what it read."""
    async with ctx.db.transaction() as session:
        await repository.create_stage(session)
        digest = await _stage(session, provider, day, path)
        crash_point("reconcile_after_load")
        await _read_the_rest(session, provider)
        previous = await repository.current_run(session, provider.code, day - timedelta(days=1))
        await repository.classify(
            session,
            run_id=run_id,
            provider=provider.code,
            day=day,
            window=window(ctx, day),
            previous_run=previous.id if previous else None,
        )
        totals = await repository.stage_totals(session)
        await repository.drop_stage(session)
        run = await _heartbeat(ctx, session, run_id)
        run.lines, run.fees, run.input_sha256 = totals.lines, totals.fees, digest
        run.counts = _summary(await repository.counts(session, run_id), totals)
    crash_point("reconcile_after_classify")


async def _stage(
    session: AsyncSession, provider: LiveProvider, day: date, path: Path | None
) -> str:
    """Load the statement into the staging table; the SHA-256 of what was read.

    A CSV file in PayGov's layout goes to PostgreSQL's COPY as it is, checked chunk by
    chunk as it goes (bank_adapters.statements.copyable); any other statement, or a file
    the check or the database turns down, is read line by line in Python."""
    if path is None:
        fetched = hashlib.sha256()
        stage = _Stager(provider, fetched)
        rows = (stage(line) async for line in provider.adapter.fetch_statement(day))
        await repository.stage_lines(session, rows)
        return fetched.hexdigest()
    if repository.copies(session) and sources.copyable(provider, path.name):
        with path.open("rb") as raw:
            hashing = _Hashing(raw)
            chunks = copy_chunks(io.BufferedReader(hashing, 1 << 16))
            if await repository.copy_statement(session, chunks):
                return hashing.hexdigest()
        log.info("%s: not in the plain CSV grammar, read line by line", path.name)
    with path.open("rb") as raw:
        hashing = _Hashing(raw)
        lines = sources.read(provider, io.BufferedReader(hashing, 1 << 16), path.name)
        await repository.stage_lines(session, map(_Stager(provider, None), lines))
        return hashing.hexdigest()


async def _read_the_rest(session: AsyncSession, provider: LiveProvider) -> None:
    """Kind and PayGov reference of the copied lines that need Python: debits, and credits
    whose reference is in their memo (found as the VietQR adapter finds it)."""
    currency = sources.currency(provider)
    batch: list[tuple[str, str, str | None]] = []
    async for row in repository.unread_lines(session):
        line = Line(
            row.booked_at,
            row.amount,
            row.txn_ref,
            row.memo,
            row.bank_ref,
            row.fee,
            False,
            currency,
            None,
        )
        batch.append((row.row_id, line_kind(line), our_ref(line)))
        if len(batch) == READ_BATCH:
            await repository.add_read(session, batch)
            batch = []
    await repository.add_read(session, batch)
    await repository.apply_read(session)


async def _fail(ctx: Context, run_id: str, error: str) -> None:
    async with ctx.db.transaction() as session:
        run = await repository.get_run(session, run_id, for_update=True)
        if run is None or run.status != "running":
            return
        await repository.discard_work(session, run_id)
        run.status, run.error, run.finished_at = "failed", error[:2000], ctx.clock.now()


async def _correct_and_finish(
    ctx: Context, provider: LiveProvider, run_id: str, day: date, actor: str
) -> ReconRun:
    async with ctx.db.read() as session:
        to_correct = await repository.correctable(session, run_id)
    for start in range(0, len(to_correct), CORRECTION_BATCH):
        await _correct(ctx, provider, run_id, to_correct[start : start + CORRECTION_BATCH], actor)
    async with ctx.db.transaction() as session:
        run = await repository.get_run(session, run_id, for_update=True)
        assert run is not None
        await _book_fees(ctx, session, run, run.fees)
        run.status, run.finished_at = "completed", ctx.clock.now()
        await repository.supersede(session, provider.code, day, keep=run_id)
        await audit.record(
            session,
            at=ctx.clock.now(),
            actor=actor,
            action="reconciliation.completed",
            subject_type="reconciliation_run",
            subject_id=run_id,
            details={"provider": provider.code, "day": day.isoformat(), "lines": run.lines},
        )
    return run


async def _heartbeat(ctx: Context, session: AsyncSession, run_id: str) -> ReconRun:
    run = await repository.get_run(session, run_id, for_update=True)
    if run is None or run.status != "running":
        raise RunInProgress(f"Run {run_id} was taken over by another run.")
    run.heartbeat_at = ctx.clock.now()
    return run


async def _correct(
    ctx: Context,
    provider: LiveProvider,
    run_id: str,
    items: list[repository.Correctable],
    actor: str,
) -> None:
    """The bank has the money for attempts PayGov has no success for: record each success
    through the callback inbox (one key per attempt), so it happens once across re-runs.
    A batch per transaction; a crash loses at most the batch, which the restart redoes."""
    async with ctx.db.transaction() as session:
        for item in items:
            event = ProviderEvent(
                txn_ref=item.txn_ref,
                outcome="succeeded",
                amount=item.amount,
                dedupe_key=f"statement:{item.txn_ref}:succeeded",
                provider_txn_id=item.bank_ref,
                paid_at=item.booked_at,
                details={"source": "reconciliation"},
            )
            evidence = (
                f"run={run_id} booked_at={item.booked_at.isoformat()} bank_ref={item.bank_ref}"
            )
            result = await callbacks.apply_learned(
                session, ctx, provider, event, "STATEMENT", evidence
            )
            if result is None:
                continue  # corrected by an earlier run
            await audit.record(
                session,
                at=ctx.clock.now(),
                actor=actor,
                action="reconciliation.corrected",
                subject_type="attempt",
                subject_id=item.txn_ref,
                details={"run_id": run_id, "amount": item.amount, "result": result.value},
            )
        await _heartbeat(ctx, session, run_id)
    crash_point("reconcile_after_correction")


async def _book_fees(ctx: Context, session: AsyncSession, run: ReconRun, fees: int) -> None:
    """The statement's fees for the day in the ledger: only what is not there yet."""
    missing = fees - await repository.fees_booked(session, run.provider, run.day)
    if missing == 0:
        return
    await ledger.post(
        session,
        kind="fee",
        reference=f"{run.provider}:{run.day.isoformat()}:{run.id}",
        payment_id=None,
        at=ctx.clock.now(),
        postings=[(f"fees:{run.provider}", missing), (f"clearing:{run.provider}", -missing)],
    )


def _summary(rows: Iterable[Any], totals: repository.LineTotals) -> dict[str, Any]:
    """Per class: lines, attempts (or refunds), and the amounts on each side. Lines without
    an item are matched (they are not written): they count as the rest of the lines."""
    summary = {
        cls: {"lines": 0, "attempts": 0, "bank_amount": 0, "paygov_amount": 0}
        for cls in (*FINAL_CLASSES, "held")
    }
    item_lines = item_amount = 0
    for cls, lines, others, bank_amount, paygov_amount in rows:
        summary[cls] = {
            "lines": int(lines),
            "attempts": int(others),
            "bank_amount": int(bank_amount),
            "paygov_amount": int(paygov_amount),
        }
        item_lines, item_amount = item_lines + int(lines), item_amount + int(bank_amount)
    matched = summary["matched"]
    matched["lines"] += totals.lines - item_lines
    matched["bank_amount"] += totals.amount - item_amount
    matched["paygov_amount"] += totals.amount - item_amount
    return summary


class _Hashing(io.RawIOBase):
    """A binary reader that hashes what passes through it (the run records the input)."""

    def __init__(self, raw: io.BufferedReader) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size: int = self.raw.readinto(buffer)
        self.sha.update(memoryview(buffer)[:size])
        return size

    def hexdigest(self) -> str:
        # Whatever the parser did not read (a trailing part) still belongs to the input.
        for chunk in iter(lambda: self.raw.read(1 << 20), b""):
            self.sha.update(chunk)
        return self.sha.hexdigest()


# --- reading the results ----------------------------------------------------------------


async def get_run(session: AsyncSession, run_id: str) -> ReconRun:
    run = await repository.get_run(session, run_id)
    if run is None:
        raise RunNotFound(field="run_id")
    return run


async def resolve(
    session: AsyncSession, ctx: Context, run: ReconRun, item_id: int, reason: str, actor: str
) -> dict[str, Any]:
    """A person's word on a discrepancy: kept for later runs of the day and audited."""
    reason = reason.strip()
    if not reason:
        raise ValidationFailed("Say why the discrepancy is resolved.", field="reason")
    row = await repository.discrepancy(session, run, item_id)
    if row is None:
        raise DiscrepancyNotFound(field="item_id")
    found = dict(zip(repository.DISCREPANCY_COLUMNS, row, strict=True))
    if found["resolution"] is not None or found["class"] == "held":
        raise AlreadyResolved(
            "Held items are looked at again by the next day's run."
            if found["class"] == "held"
            else None
        )
    now = ctx.clock.now()
    repository.add_resolution(
        session,
        Resolution(
            id=new_id("res"),
            provider=run.provider,
            day=run.day,
            subject=found["subject"],
            cls=found["class"],
            reason=reason[:2000],
            resolved_by=actor[:120],
            resolved_at=now,
        ),
    )
    await session.flush()
    await audit.record(
        session,
        at=now,
        actor=actor,
        action="reconciliation.resolved",
        subject_type="discrepancy",
        # The subject names a bank reference of up to 64 characters: it goes in the details.
        subject_id=f"{run.id}:{item_id}",
        details={
            "provider": run.provider,
            "day": run.day.isoformat(),
            "subject": found["subject"],
            "class": found["class"],
            "reason": reason[:500],
        },
    )
    return {**found, "resolution": reason, "resolved_by": actor, "resolved_at": now}


async def nightly_providers(ctx: Context) -> list[str]:
    """Enabled providers whose statements PayGov can fetch itself."""
    async with ctx.db.read() as session:
        await ctx.providers.refresh(session, ctx.box)
    return sorted(
        p.code
        for p in ctx.providers.by_code.values()
        if p.enabled and not p.adapter.statement_file_only
    )
