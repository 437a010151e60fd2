"""Journals and their postings. A posting's amount is signed: debit > 0, credit < 0."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from paygov.kit.db import Base, BigIntPk, UtcDateTime


class Journal(Base):
    """One business event's entry. (kind, reference) is unique: posted exactly once."""

    __tablename__ = "ledger_journals"
    __table_args__ = (UniqueConstraint("kind", "reference"),)

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str] = mapped_column(String(64))
    payment_id: Mapped[str | None] = mapped_column(ForeignKey("payments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Posting(Base):
    __tablename__ = "ledger_postings"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="amount_nonzero"),
        Index("ix_ledger_postings_account", "account"),
    )

    id: Mapped[int] = mapped_column(BigIntPk, primary_key=True, autoincrement=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("ledger_journals.id"), index=True)
    account: Mapped[str] = mapped_column(String(120))
    amount: Mapped[int] = mapped_column(BigInteger)
