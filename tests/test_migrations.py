"""The schema comes only from Alembic, and the models agree with it on both databases."""

from __future__ import annotations

import asyncio
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from paygov.kit import migrations
from paygov.kit.db import create_engine
from paygov.models import Base

TABLES = {
    "agencies",
    "beneficiary_accounts",
    "api_keys",
    "payments",
    "refunds",
    "payment_items",
    "attempts",
    "payment_events",
    "idempotency_keys",
    "audit_log",
    "providers",
    "ledger_journals",
    "ledger_postings",
    "callback_inbox",
    "webhook_events",
    "webhook_deliveries",
    "webhook_attempts",
    "recon_runs",
    "recon_lines",
    "recon_items",
    "recon_resolutions",
    "staff_users",
    "staff_tokens",
    "staff_sessions",
    "staff_approvals",
}


def _diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


async def _inspect(url: str, fn: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(fn)
    finally:
        await engine.dispose()


class TestMigrations:
    async def test_models_match_migrations(self, database_url: str) -> None:
        assert await _inspect(database_url, _diff) == []

    async def test_upgrade_downgrade_upgrade(self, database_url: str) -> None:
        assert await _inspect(database_url, _tables) == TABLES
        await asyncio.to_thread(migrations.downgrade, database_url, "base")
        assert await _inspect(database_url, _tables) == set()
        await asyncio.to_thread(migrations.upgrade, database_url)
        assert await _inspect(database_url, _tables) == TABLES
        assert await _inspect(database_url, _diff) == []
