"""Attempt polling: how often an open attempt was asked about, and when to ask next.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 03:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import paygov.kit.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("polls", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("next_poll_at", paygov.kit.db.UtcDateTime(timezone=True), nullable=True)
        )
        batch_op.create_index("ix_attempts_status_next_poll", ["status", "next_poll_at"])


def downgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_index("ix_attempts_status_next_poll")
        batch_op.drop_column("next_poll_at")
        batch_op.drop_column("polls")
