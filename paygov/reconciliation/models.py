"""Reconciliation runs, the statement lines they load, and the class of every line and
every succeeded attempt (DESIGN.md §10)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from paygov.kit.db import Base, UtcDateTime

FINAL_CLASSES = (
    "matched",
    "missing_at_bank",
    "missing_at_paygov",
    "amount_mismatch",
    "duplicate_at_bank",
    "refund_mismatch",
    "unrelated",
)
# `held`: an unmatched attempt of the day's last 60 minutes, looked at again the next day.
CLASSES = (*FINAL_CLASSES, "held")
RUN_STATUSES = ("running", "completed", "failed", "superseded")


class ReconRun(Base):
    """One reconciliation of one provider's day. At most one runs per provider and day."""

    __tablename__ = "recon_runs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('running', 'completed', 'failed', 'superseded')", name="status"
        ),
        Index("ix_recon_runs_provider_day", "provider", "day", "started_at"),
        Index(
            "uq_recon_runs_running",
            "provider",
            "day",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(8))  # fetch | file
    input_name: Mapped[str | None] = mapped_column(String(255))
    input_sha256: Mapped[str | None] = mapped_column(String(64))
    started_by: Mapped[str] = mapped_column(String(120))
    lines: Mapped[int] = mapped_column(Integer, server_default="0")
    # Per class: {"lines": n, "attempts": n, "bank_amount": VND, "paygov_amount": VND}.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON)
    fees: Mapped[int] = mapped_column(BigInteger, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class StatementLine(Base):
    """A statement line as loaded for a run (the staging table classification joins)."""

    __tablename__ = "recon_lines"
    __table_args__ = (PrimaryKeyConstraint("run_id", "line_no"),)

    run_id: Mapped[str] = mapped_column(String(30))
    line_no: Mapped[int] = mapped_column(Integer)
    booked_at: Mapped[datetime] = mapped_column(UtcDateTime)
    amount: Mapped[int] = mapped_column(BigInteger)  # VND, debits negative
    fee: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(8))  # payment | refund | fee | other
    reversal: Mapped[bool] = mapped_column(Boolean)
    txn_ref: Mapped[str | None] = mapped_column(String(64))  # as the statement gives it
    ref: Mapped[str | None] = mapped_column(String(20))  # PayGov's txn_ref, read or found in memo
    bank_ref: Mapped[str | None] = mapped_column(String(64))
    memo: Mapped[str | None] = mapped_column(Text)


class ReconItem(Base):
    """The class a run gave one statement line or one succeeded attempt (exactly one each)."""

    __tablename__ = "recon_items"
    __table_args__ = (
        CheckConstraint(
            "class IN ('matched', 'missing_at_bank', 'missing_at_paygov', 'amount_mismatch',"
            " 'duplicate_at_bank', 'refund_mismatch', 'unrelated', 'held')",
            name="class",
        ),
        PrimaryKeyConstraint("run_id", "item_no"),
        Index(
            "ix_recon_items_discrepancies",
            "run_id",
            "class",
            sqlite_where=text("class <> 'matched'"),
            postgresql_where=text("class <> 'matched'"),
        ),
        # The few items a later day's run must look at again: attempts held at midnight
        # and attempts matched by a line of another day.
        Index(
            "ix_recon_items_carried",
            "attempt_id",
            sqlite_where=text("carry"),
            postgresql_where=text("carry"),
        ),
    )

    run_id: Mapped[str] = mapped_column(String(30))
    # Numbered within the run: a line's number for a line, then attempts, then refunds.
    item_no: Mapped[int] = mapped_column(Integer, autoincrement=False)
    cls: Mapped[str] = mapped_column("class", String(20))
    line_no: Mapped[int | None] = mapped_column(Integer)
    attempt_id: Mapped[str | None] = mapped_column(String(30))
    refund_id: Mapped[str | None] = mapped_column(String(30))
    bank_amount: Mapped[int | None] = mapped_column(BigInteger)
    paygov_amount: Mapped[int | None] = mapped_column(BigInteger)
    # The attempt succeeded outside the run's day (or not yet): later runs skip it.
    carry: Mapped[bool] = mapped_column(Boolean)
    # missing_at_paygov whose attempt exists and is not succeeded: corrected by the run.
    correctable: Mapped[bool] = mapped_column(Boolean)


class Resolution(Base):
    """A person's word on a discrepancy; it holds for later runs of the same day."""

    __tablename__ = "recon_resolutions"
    __table_args__ = (UniqueConstraint("provider", "day", "subject", "class"),)

    id: Mapped[str] = mapped_column(String(30), primary_key=True)
    provider: Mapped[str] = mapped_column(String(32))
    day: Mapped[date] = mapped_column(Date)
    # `attempt:{id}` or `line:{bank_ref or line number}`: what the discrepancy is about.
    subject: Mapped[str] = mapped_column(String(100))
    cls: Mapped[str] = mapped_column("class", String(20))
    reason: Mapped[str] = mapped_column(Text)
    resolved_by: Mapped[str] = mapped_column(String(120))
    resolved_at: Mapped[datetime] = mapped_column(UtcDateTime)
