"""Webhooks to portals (DESIGN.md §8): outbox, signatures, retries, 410, 3xx, feed, resend."""

from __future__ import annotations

import getpass
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from paygov.agencies.models import Agency
from paygov.agencies.service import WEBHOOK_SECRET_PURPOSE, new_webhook_secret
from paygov.audit import service as audit
from paygov.audit.models import AuditEntry
from paygov.kit.context import Context
from paygov.kit.ids import new_id
from paygov.payments import repository as payments
from paygov.webhooks import repository
from paygov.webhooks.models import WebhookDelivery
from paygov.webhooks.service import deliver_due
from tests.test_cli import paygov
from tests.webhooks.conftest import Portal
from tests.webhooks.receiver import Receiver


async def resends_audited(ctx: Context) -> list[tuple[str, str, dict[str, Any]]]:
    """(actor, original delivery, details) of each audited re-send, oldest first."""
    async with ctx.db.read() as session:
        rows = await session.execute(
            select(AuditEntry.actor, AuditEntry.subject_id, AuditEntry.details)
            .where(AuditEntry.action == "webhook_delivery.resent")
            .order_by(AuditEntry.id)
        )
        return [(actor, subject, dict(details)) for actor, subject, details in rows.all()]


async def deliveries(ctx: Context) -> list[WebhookDelivery]:
    async with ctx.db.read() as session:
        return list(await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


async def until_next_try(ctx: Context) -> bool:
    """Move the clock to the next due retry; False when nothing is pending."""
    pending = [d for d in await deliveries(ctx) if d.status == "pending"]
    if not pending:
        return False
    due = min(d.next_attempt_at for d in pending if d.next_attempt_at is not None)
    if due > ctx.clock.now():
        ctx.clock.advance(due - ctx.clock.now() + timedelta(seconds=1))
    return True


async def cancel_then_fail(ctx: Context, payment_id: str) -> None:
    async with ctx.db.transaction() as session:
        payment = await payments.lock_payment(session, payment_id)
        await payments.transition(
            session,
            payment,
            at=ctx.clock.now(),
            event_type="payment.cancelled",
            event_id=new_id("evt"),
            event_data={"status": "cancelled"},
            status="cancelled",
        )
        raise RuntimeError("rolled back")


class TestOutbox:
    async def test_change_and_webhook_commit_together(
        self, ctx: Context, portal: Portal, receiver: Receiver
    ) -> None:
        payment_id = await portal.create()
        with pytest.raises(RuntimeError, match="rolled back"):
            await cancel_then_fail(ctx, payment_id)
        assert await portal.get("/v1/events") == {"items": [], "next_cursor": None}
        assert await deliveries(ctx) == []

        await portal.cancelled()
        [event] = (await portal.get("/v1/events"))["items"]
        assert event["type"] == "payment.cancelled"
        assert event["data"]["status"] == "cancelled"
        assert [d.status for d in await deliveries(ctx)] == ["pending"]

    async def test_no_endpoint_means_event_but_no_delivery(
        self, ctx: Context, api: object, portal: Portal
    ) -> None:
        async with ctx.db.transaction() as session:
            agency = await repository.agency(session, portal.keys.agency.id)
            agency.webhook_url = None
        await portal.cancelled()
        assert len((await portal.get("/v1/events"))["items"]) == 1
        assert await deliveries(ctx) == []


class TestDelivery:
    async def test_signed_body_verifies_with_standardwebhooks(
        self, ctx: Context, portal: Portal, receiver: Receiver
    ) -> None:
        payment_id = await portal.cancelled()
        assert await deliver_due(ctx) == 1
        [sent] = receiver.requests
        body = sent.verify(portal.keys.webhook_secret)
        assert body["type"] == "payment.cancelled"
        assert body["data"]["payment_id"] == payment_id
        assert body["data"]["status"] == "cancelled"
        assert body["data"]["version"] == 2
        [event] = (await portal.get("/v1/events"))["items"]
        assert sent.headers["webhook-id"] == event["event_id"]
        [delivery] = (await portal.get("/v1/webhook-deliveries"))["items"]
        assert delivery["status"] == "succeeded"
        assert delivery["attempts"] == 1
        assert delivery["last_status_code"] == 200
        assert delivery["last_response_excerpt"] == "status 200"

    async def test_two_secrets_give_two_verifiable_signatures(
        self, ctx: Context, portal: Portal, receiver: Receiver
    ) -> None:
        newer = new_webhook_secret()
        async with ctx.db.transaction() as session:
            agency = await repository.agency(session, portal.keys.agency.id)
            agency.webhook_secrets = ctx.box.encrypt_json(
                [newer, portal.keys.webhook_secret], WEBHOOK_SECRET_PURPOSE
            )
        await portal.cancelled()
        await deliver_due(ctx)
        [sent] = receiver.requests
        assert len(sent.headers["webhook-signature"].split(" ")) == 2
        sent.verify(newer)
        sent.verify(portal.keys.webhook_secret)

    async def test_three_days_of_500s_fail_with_every_try_logged(
        self, ctx: Context, portal: Portal, receiver: Receiver
    ) -> None:
        receiver.status = 500
        await portal.cancelled()
        started = ctx.clock.now()
        waits = []
        last = started
        while await until_next_try(ctx):
            waits.append((ctx.clock.now() - last).total_seconds())
            last = ctx.clock.now()
            await deliver_due(ctx)
        [delivery] = await deliveries(ctx)
        assert delivery.status == "failed"
        assert delivery.attempts == 10 == len(receiver.requests)
        schedule = ctx.settings.webhook_retry_schedule
        for wait, planned in zip(waits[1:], schedule, strict=True):
            assert planned <= wait <= planned * 1.1 + 2  # jitter only lengthens a wait
        assert ctx.clock.now() - started >= timedelta(days=3)
        async with ctx.db.read() as session:
            tries = await repository.attempts_of(session, delivery.id)
        assert [t.status_code for t in tries] == [500] * 10
        assert all(t.response_excerpt == "status 500" and t.error == "HTTP 500" for t in tries)
        ids = {sent.headers["webhook-id"] for sent in receiver.requests}
        stamps = {sent.headers["webhook-timestamp"] for sent in receiver.requests}
        assert len(ids) == 1
        assert len(stamps) == 10  # signed again for every send
        assert all(sent.signed_by(portal.keys.webhook_secret) for sent in receiver.requests)

    async def test_a_day_long_outage(
        self, ctx: Context, portal: Portal, receiver: Receiver
    ) -> None:
        receiver.status = 500
        await portal.cancelled()
        outage_ends = ctx.clock.now() + timedelta(hours=24)
        while await until_next_try(ctx):
            if ctx.clock.now() >= outage_ends:
                receiver.status = 200
            await deliver_due(ctx)
        [delivery] = await deliveries(ctx)
        assert delivery.status == "succeeded"
        failed = [sent for sent in receiver.requests[:-1]]
        # 0 s, 5 s, ~5 min, ~35 min, ~2.6 h, ~7.6 h, ~17.6 h; then ~27.6 h succeeds.
        assert len(failed) == 7
        assert delivery.attempts == 8

    async def test_410_disables_the_endpoint(
        self, ctx: Context, portal: Portal, receiver: Receiver
    ) -> None:
        receiver.status = 410
        await portal.cancelled()
        await portal.cancelled()
        assert await deliver_due(ctx) == 2  # the second finds its delivery already disabled
        assert len(receiver.requests) == 1
        assert {d.status for d in await deliveries(ctx)} == {"disabled"}
        async with ctx.db.read() as session:
            agency = await session.get(Agency, portal.keys.agency.id)
            assert agency is not None
            assert agency.webhook_disabled_at is not None
        await portal.cancelled()
        assert len(await deliveries(ctx)) == 2  # no new delivery while disabled
        assert len((await portal.get("/v1/events"))["items"]) == 3

    async def test_redirect_is_a_failure_and_not_followed(
        self, ctx: Context, portal: Portal, receiver: Receiver
    ) -> None:
        receiver.status = 302
        await portal.cancelled()
        await deliver_due(ctx)
        assert len(receiver.requests) == 1
        [delivery] = await deliveries(ctx)
        assert delivery.status == "pending"
        assert delivery.last_status_code == 302
        assert delivery.attempts == 1

    async def test_endpoint_down_is_retried(
        self, ctx: Context, portal: Portal, receiver: Receiver
    ) -> None:
        receiver.stop()
        await portal.cancelled()
        await deliver_due(ctx)
        [delivery] = await deliveries(ctx)
        assert delivery.status == "pending"
        assert delivery.last_status_code is None
        assert delivery.last_error is not None
        assert "Connect" in delivery.last_error

    async def test_live_endpoint_on_loopback_is_refused_at_send_time(
        self, ctx: Context, portal: Portal, receiver: Receiver
    ) -> None:
        await portal.cancelled()
        async with ctx.db.transaction() as session:
            agency = await repository.agency(session, portal.keys.agency.id)
            agency.mode = "live"
        await deliver_due(ctx)
        assert receiver.requests == []
        [delivery] = await deliveries(ctx)
        assert delivery.last_error is not None
        assert "private" in delivery.last_error


class TestPortalApi:
    async def test_events_replay_from_since(self, ctx: Context, portal: Portal) -> None:
        for _ in range(3):
            await portal.cancelled()
        everything = (await portal.get("/v1/events"))["items"]
        assert len(everything) == 3
        first = await portal.get("/v1/events", limit=2)
        assert [e["event_id"] for e in first["items"]] == [e["event_id"] for e in everything[:2]]
        assert first["next_cursor"] == everything[1]["event_id"]
        rest = await portal.get("/v1/events", since=first["next_cursor"])
        assert [e["event_id"] for e in rest["items"]] == [everything[2]["event_id"]]
        assert rest["next_cursor"] is None

    async def test_events_are_the_agencys_own(
        self, ctx: Context, portal: Portal, api: object
    ) -> None:
        await portal.cancelled()
        from httpx import AsyncClient

        assert isinstance(api, AsyncClient)
        assert (await api.get("/v1/events")).json()["items"] == []
        bad = await api.get("/v1/events", params={"since": "nope"})
        assert bad.status_code == 422
        assert bad.json()["error"]["code"] == "invalid_since"

    async def test_resend_makes_a_new_pending_delivery(
        self, ctx: Context, portal: Portal, receiver: Receiver, api: object
    ) -> None:
        await portal.cancelled()
        await deliver_due(ctx)
        [first] = (await portal.get("/v1/webhook-deliveries"))["items"]
        reply = await portal.client.post(
            f"/v1/webhook-deliveries/{first['delivery_id']}/resend", headers=portal.keys.auth
        )
        assert reply.status_code == 201, reply.text
        again = reply.json()
        assert again["status"] == "pending"
        assert again["event_id"] == first["event_id"]
        await deliver_due(ctx)
        assert len({sent.headers["webhook-id"] for sent in receiver.requests}) == 1
        assert len(receiver.requests) == 2
        listed = await portal.get("/v1/webhook-deliveries", status="succeeded")
        assert [d["delivery_id"] for d in listed["items"]] == [
            again["delivery_id"],
            first["delivery_id"],
        ]
        from httpx import AsyncClient

        assert isinstance(api, AsyncClient)
        foreign = await api.post(f"/v1/webhook-deliveries/{first['delivery_id']}/resend")
        assert foreign.status_code == 404
        assert foreign.json()["error"]["code"] == "webhook_delivery_not_found"
        # Audited with who asked (the refused foreign try wrote nothing), the chain intact.
        assert await resends_audited(ctx) == [
            (
                "agency:dvc-hook",
                first["delivery_id"],
                {
                    "delivery_id": again["delivery_id"],
                    "event_id": first["event_id"],
                    "agency_id": portal.keys.agency.id,
                },
            )
        ]
        async with ctx.db.read() as session:
            assert (await audit.verify(session)).ok

    async def test_resend_from_the_cli_is_audited_with_the_operator(
        self, ctx: Context, portal: Portal
    ) -> None:
        await portal.cancelled()
        [first] = await deliveries(ctx)
        done = paygov(ctx, "webhooks", "resend", first.id)
        assert done.returncode == 0, done.stderr
        again = json.loads(done.stdout)
        assert (again["status"], again["event_id"]) == ("pending", first.event_id)
        [(actor, subject, details)] = await resends_audited(ctx)
        assert actor == f"cli:{getpass.getuser()}"
        assert (subject, details["delivery_id"]) == (first.id, again["delivery_id"])
        verified = paygov(ctx, "audit", "verify")
        assert verified.returncode == 0, verified.stderr
        unknown = paygov(ctx, "webhooks", "resend", "whd_nope")
        assert unknown.returncode != 0
        assert len(await resends_audited(ctx)) == 1
