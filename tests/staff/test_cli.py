"""`paygov user disable|enable`: an operator stops a staff user at once, from the shell."""

from __future__ import annotations

import json

from sqlalchemy import select

from paygov.audit.models import AuditEntry
from paygov.kit.context import Context
from paygov.staff.models import StaffUser
from tests.test_cli import one_line_error, paygov


async def test_a_disabled_user_is_audited_and_can_be_enabled_again(ctx: Context) -> None:
    made = paygov(ctx, "user", "create", "--email", "an@stc.gov.vn", "--role", "finance")
    assert made.returncode == 0, made.stderr
    off = paygov(ctx, "user", "disable", "--email", " AN@stc.gov.vn ")
    assert off.returncode == 0, off.stderr
    assert json.loads(off.stdout)["disabled"] is True
    async with ctx.db.read() as session:
        user = await session.scalar(select(StaffUser))
        assert user is not None
        assert user.disabled_at is not None
    on = paygov(ctx, "user", "enable", "--email", "an@stc.gov.vn")
    assert json.loads(on.stdout)["disabled"] is False
    async with ctx.db.read() as session:
        actions = list(await session.scalars(select(AuditEntry.action)))
    assert actions[-2:] == ["staff_user.disabled", "staff_user.enabled"]


async def test_an_unknown_email_is_one_line_and_changes_nothing(ctx: Context) -> None:
    refused = paygov(ctx, "user", "disable", "--email", "ai@stc.gov.vn")
    assert "No staff user" in one_line_error(refused)
    async with ctx.db.read() as session:
        assert list(await session.scalars(select(AuditEntry.action))) == []
