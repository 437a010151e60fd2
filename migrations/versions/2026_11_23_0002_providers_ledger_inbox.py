"""Providers, double-entry ledger, callback inbox; attempt amounts, overpayments.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 01:06:57.953672
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import paygov.kit.db

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "callback_inbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=True),
        sa.Column("txn_ref", sa.String(length=20), nullable=True),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column("rejection", sa.String(length=255), nullable=True),
        sa.Column("result", sa.String(length=32), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("received_at", paygov.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", paygov.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_inbox")),
        sa.UniqueConstraint(
            "provider", "dedupe_key", name=op.f("uq_callback_inbox_provider_dedupe_key")
        ),
    )
    with op.batch_alter_table("callback_inbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_callback_inbox_txn_ref"), ["txn_ref"], unique=False)

    op.create_table(
        "providers",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("protocol", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("mode", sa.String(length=4), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("max_amount", sa.BigInteger(), nullable=False),
        sa.Column("config_sealed", sa.Text(), nullable=False),
        sa.Column("created_at", paygov.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", paygov.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mode IN ('test', 'live')", name=op.f("ck_providers_mode")),
        sa.CheckConstraint("max_amount > 0", name=op.f("ck_providers_max_amount_positive")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_providers")),
    )
    op.create_table(
        "ledger_journals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("payment_id", sa.String(length=30), nullable=True),
        sa.Column("created_at", paygov.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_ledger_journals_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_journals")),
        sa.UniqueConstraint("kind", "reference", name=op.f("uq_ledger_journals_kind_reference")),
    )
    with op.batch_alter_table("ledger_journals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_journals_payment_id"), ["payment_id"], unique=False
        )

    op.create_table(
        "ledger_postings",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "journal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("account", sa.String(length=120), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount <> 0", name=op.f("ck_ledger_postings_amount_nonzero")),
        sa.ForeignKeyConstraint(
            ["journal_id"],
            ["ledger_journals.id"],
            name=op.f("fk_ledger_postings_journal_id_ledger_journals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_postings")),
    )
    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_postings_account", ["account"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_ledger_postings_journal_id"), ["journal_id"], unique=False
        )

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("amount", sa.BigInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("failure_reason", sa.String(length=255), nullable=True))
        batch_op.create_index("ix_attempts_status_created", ["status", "created_at"], unique=False)
        batch_op.create_check_constraint("status", "status IN ('open', 'succeeded', 'failed')")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("amount_overpaid", sa.BigInteger(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_column("amount_overpaid")

    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_attempts_status"), type_="check")
        batch_op.drop_index("ix_attempts_status_created")
        batch_op.drop_column("failure_reason")
        batch_op.drop_column("amount")

    with op.batch_alter_table("ledger_postings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_postings_journal_id"))
        batch_op.drop_index("ix_ledger_postings_account")

    op.drop_table("ledger_postings")
    with op.batch_alter_table("ledger_journals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_journals_payment_id"))

    op.drop_table("ledger_journals")
    op.drop_table("providers")
    with op.batch_alter_table("callback_inbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_callback_inbox_txn_ref"))

    op.drop_table("callback_inbox")
