"""An endpoint disabled after a 410 is re-enabled by an operator (`paygov agency
enable-webhooks CODE`): what the 410 stopped, and what happened meanwhile, is delivered."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from paygov.agencies.models import Agency
from paygov.audit.models import AuditEntry
from paygov.kit.context import Context
from paygov.webhooks.service import deliver_due
from tests.test_cli import one_line_error, paygov
from tests.webhooks.conftest import Portal
from tests.webhooks.receiver import Receiver
from tests.webhooks.test_delivery import deliveries


async def audit_actions(ctx: Context) -> list[str]:
    async with ctx.db.read() as session:
        return list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


async def audit_count(ctx: Context) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(AuditEntry)) or 0)


class TestEnableWebhooks:
    async def test_re_enabling_delivers_what_the_endpoint_missed(
        self, ctx: Context, portal: Portal, receiver: Receiver
    ) -> None:
        receiver.status = 410
        await portal.cancelled()
        await portal.cancelled()
        assert await deliver_due(ctx) == 2  # one answered 410; the other found disabled
        await portal.cancelled()  # while disabled: in the feed, no delivery
        assert [d.status for d in await deliveries(ctx)] == ["disabled", "disabled"]

        receiver.status = 200
        enabled = paygov(ctx, "agency", "enable-webhooks", "dvc-hook")
        assert enabled.returncode == 0, enabled.stderr
        assert json.loads(enabled.stdout)["deliveries_due"] == 3

        assert await deliver_due(ctx) == 3
        assert {d.status for d in await deliveries(ctx)} == {"succeeded"}
        feed = {event["event_id"] for event in (await portal.get("/v1/events"))["items"]}
        assert {sent.headers["webhook-id"] for sent in receiver.requests[1:]} == feed
        async with ctx.db.read() as session:
            agency = await session.get(Agency, portal.keys.agency.id)
            assert agency is not None
            assert agency.webhook_disabled_at is None
        assert (await audit_actions(ctx))[-1] == "webhook_endpoint.enabled"

        written = await audit_count(ctx)
        again = paygov(ctx, "agency", "enable-webhooks", "dvc-hook")
        assert "not disabled" in one_line_error(again)
        unknown = paygov(ctx, "agency", "enable-webhooks", "no-such-agency")
        assert one_line_error(unknown) == "paygov: No agency with this code."
        assert await audit_count(ctx) == written
