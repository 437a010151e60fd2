"""Refunds: money given back through the provider that took it, whole or by item.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 02:34:00.937827
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import paygov.kit.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "refunds",
        sa.Column("id", sa.String(length=30), nullable=False),
        sa.Column("payment_id", sa.String(length=30), nullable=False),
        sa.Column("agency_id", sa.String(length=30), nullable=False),
        sa.Column("attempt_id", sa.String(length=30), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("provider_refund_id", sa.String(length=64), nullable=True),
        sa.Column("failure_message", sa.String(length=255), nullable=True),
        sa.Column("next_attempt_at", paygov.kit.db.UtcDateTime(timezone=True), nullable=True),
        sa.Column("created_at", paygov.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", paygov.kit.db.UtcDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'succeeded', 'failed', 'pending_manual')",
            name=op.f("ck_refunds_status"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["agencies.id"], name=op.f("fk_refunds_agency_id_agencies")
        ),
        sa.ForeignKeyConstraint(
            ["attempt_id"], ["attempts.id"], name=op.f("fk_refunds_attempt_id_attempts")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_refunds_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refunds")),
    )
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.create_index("ix_refunds_payment", ["payment_id", "created_at"], unique=False)
        batch_op.create_index(
            "ix_refunds_status_next_attempt", ["status", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_index("ix_refunds_status_next_attempt")
        batch_op.drop_index("ix_refunds_payment")

    op.drop_table("refunds")
