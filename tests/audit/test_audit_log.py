"""The audit log is append-only and hash-chained; tampering is named by `paygov audit verify`."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from paygov.audit import service as audit
from paygov.kit.context import Context
from tests.factories import create_agency


async def bypass_guard(ctx: Context, statement: str) -> None:
    """What an attacker with database access would do: switch the guard off, then edit."""
    async with ctx.db.transaction() as session:
        if ctx.db.dialect == "postgresql":
            await session.execute(
                text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only")
            )
        else:
            await session.execute(text("DROP TRIGGER audit_log_no_update"))
            await session.execute(text("DROP TRIGGER audit_log_no_delete"))
        await session.execute(text(statement))


async def verdict(ctx: Context) -> audit.Verdict:
    async with ctx.db.read() as session:
        return await audit.verify(session)


class TestAuditChain:
    async def test_changes_are_recorded_and_chain_verifies(self, ctx: Context) -> None:
        await create_agency(ctx, code="first")
        await create_agency(ctx, code="second")
        result = await verdict(ctx)
        assert result.ok
        assert result.entries == 4  # each agency: created + its first API key
        assert result.line() == "OK: 4 audit entries, chain intact"

    async def test_updates_and_deletes_are_refused_by_the_database(self, ctx: Context) -> None:
        await create_agency(ctx)
        for statement in ("UPDATE audit_log SET actor = 'mallory'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                async with ctx.db.transaction() as session:
                    await session.execute(text(statement))
        assert (await verdict(ctx)).entries == 2

    async def test_edited_entry_is_named(self, ctx: Context) -> None:
        await create_agency(ctx, code="first")
        await create_agency(ctx, code="second")
        await bypass_guard(ctx, "UPDATE audit_log SET actor = 'mallory' WHERE id = 3")
        result = await verdict(ctx)
        assert not result.ok
        assert result.broken_id == 3
        assert result.line() == "BROKEN at audit entry 3: its content does not match its hash"

    async def test_deleted_entry_breaks_the_next_link(self, ctx: Context) -> None:
        await create_agency(ctx, code="first")
        await create_agency(ctx, code="second")
        await bypass_guard(ctx, "DELETE FROM audit_log WHERE id = 2")
        result = await verdict(ctx)
        assert not result.ok
        assert result.broken_id == 3
        assert "previous-hash" in (result.reason or "")
