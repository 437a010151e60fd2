"""Lost-callback recovery: the worker asks the provider about open attempts (DESIGN.md §9).

The real VNPay adapter talks to the sandbox bank served in-process (ASGI); the sandbox
drops the IPN, so only `querydr` can tell PayGov that the citizen paid.
"""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from unittest.mock import AsyncMock, MagicMock

import httpx
import pytest
from sqlalchemy import func, select

from bank_adapters.base import (
    Adapter,
    AttemptRef,
    ProviderStatus,
    ProviderUnavailable,
    Redirect,
)
from bank_adapters.sandbox.app import SandboxBank, create_app
from paygov.callbacks.models import InboxEntry
from paygov.kit.context import Context
from paygov.ledger.models import Journal
from paygov.payments import attempts
from paygov.payments import repository as payments
from paygov.payments.models import Attempt, Payment, PaymentEvent
from paygov.webhooks.models import WebhookEvent
from paygov.worker.polling import UNRESOLVED, poll_due
from tests.callbacks.test_vnpay_ipn import IPN, ipn, pay_order
from tests.conftest import SANDBOX_PROVIDERS

SANDBOX = "http://sandbox.test"
CODE = "vnpay-sandbox"
HIDDEN = re.compile(r'<input type="hidden" name="([^"]*)" value="([^"]*)">')


@pytest.fixture
async def bank(sandbox_providers: Context) -> AsyncIterator[SandboxBank]:
    """The sandbox bank in-process, dropping every IPN; PayGov's providers talk to it."""
    ctx = sandbox_providers
    app = create_app(SANDBOX_PROVIDERS, "http://paygov.test")
    sandbox: SandboxBank = app.state.bank
    sandbox.faults.drop = True
    await ctx.providers.http.aclose()
    ctx.providers.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    ctx.providers.ttl = 10**9  # loaded once: a test may swap an adapter and keep it
    try:
        yield sandbox
    finally:
        await sandbox.dispatcher.drain()
        await sandbox.http.aclose()


async def count(ctx: Context, model: type[Any], *where: Any) -> int:
    async with ctx.db.read() as session:
        query = select(func.count()).select_from(model).where(*where)
        return int(await session.scalar(query) or 0)


async def attempt_of(ctx: Context, txn_ref: str) -> Attempt:
    async with ctx.db.read() as session:
        found = await payments.attempt_by_ref(session, txn_ref)
    assert found is not None
    return found


async def event_types(ctx: Context, payment_id: str) -> list[str]:
    async with ctx.db.read() as session:
        return [event.type for event in await payments.events_of(session, payment_id)]


async def paid_but_lost(ctx: Context, api: httpx.AsyncClient, bank: SandboxBank) -> tuple[str, str]:
    """The citizen pays at the sandbox's VNPay page; the IPN never reaches PayGov."""
    payment_id, txn_ref = await pay_order(ctx, api)
    async with ctx.db.read() as session:
        payment = await session.get(Payment, payment_id)
        attempt = await payments.attempt_by_ref(session, txn_ref)
    assert payment is not None
    assert attempt is not None
    redirect = await ctx.providers.get(CODE).adapter.start(
        attempts.attempt_request(ctx, payment, attempt)
    )
    assert isinstance(redirect, Redirect)
    browser = ctx.providers.http
    page = await browser.get(redirect.url)
    assert page.status_code == 200, page.text
    fields = {html.unescape(k): html.unescape(v) for k, v in HIDDEN.findall(page.text)}
    decided = await browser.post(f"{SANDBOX}/vnpay/decide", data={**fields, "action": "pay"})
    assert decided.status_code == 303
    await bank.dispatcher.drain()
    assert bank.payments[txn_ref]["status"] == "succeeded"
    assert any(line.startswith("dropped") for line in bank.dispatcher.sent)
    return payment_id, txn_ref


def fake_adapter(ctx: Context, query: AsyncMock) -> MagicMock:
    """Swap the VNPay provider's adapter for a fake answering `query`."""
    adapter = MagicMock(spec=Adapter)
    adapter.each_callback_is_a_transfer = False
    adapter.query = query
    live = ctx.providers.get(CODE)
    ctx.providers.by_code[CODE] = dataclasses.replace(live, adapter=adapter)
    return adapter


class TestLostCallback:
    async def test_recovered_at_the_first_poll_then_the_ipn_is_a_duplicate(
        self, sandbox_providers: Context, bank: SandboxBank, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, txn_ref = await paid_but_lost(ctx, api, bank)
        assert (await api.get(f"/v1/payments/{payment_id}")).json()["status"] == "pending"
        assert await poll_due(ctx) == 0  # not due before the first step (60 s)

        ctx.clock.advance(timedelta(seconds=61))
        assert await poll_due(ctx) == 1

        paid = (await api.get(f"/v1/payments/{payment_id}")).json()
        assert paid["status"] == "succeeded"
        assert await count(ctx, Journal) == 1
        assert await count(ctx, WebhookEvent, WebhookEvent.type == "payment.succeeded") == 1
        attempt = await attempt_of(ctx, txn_ref)
        assert (attempt.status, attempt.next_poll_at) == ("succeeded", None)
        assert attempt.provider_txn_id == bank.payments[txn_ref]["transaction_no"]
        async with ctx.db.read() as session:
            [entry] = list(await session.scalars(select(InboxEntry)))
        assert entry.dedupe_key == f"query:{txn_ref}:succeeded"
        assert entry.result == "confirmed"

        late = await api.get(IPN, params=ipn(txn_ref, 150_000))  # the IPN after all
        assert late.json()["RspCode"] == "02"
        again = (await api.get(f"/v1/payments/{payment_id}")).json()
        assert again["version"] == paid["version"]
        assert await count(ctx, Journal) == 1
        assert await count(ctx, WebhookEvent, WebhookEvent.type == "payment.succeeded") == 1
        assert (await event_types(ctx, payment_id)).count("payment.succeeded") == 1
        ctx.clock.advance(timedelta(days=30))
        assert await poll_due(ctx) == 0  # resolved: never asked about again

    async def test_a_poll_racing_the_real_callback_changes_nothing_twice(
        self, sandbox_providers: Context, bank: SandboxBank, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, txn_ref = await pay_order(ctx, api)
        real = ctx.providers.get(CODE)

        async def callback_lands_meanwhile(ref: AttemptRef) -> ProviderStatus:
            ctx.providers.by_code[CODE] = real  # the IPN is verified by the real adapter
            assert (await api.get(IPN, params=ipn(ref.txn_ref, 150_000))).json()["RspCode"] == "00"
            return ProviderStatus("succeeded", amount=150_000, provider_txn_id="14422574")

        fake_adapter(ctx, AsyncMock(side_effect=callback_lands_meanwhile))
        ctx.clock.advance(timedelta(seconds=61))
        assert await poll_due(ctx) == 1
        assert (await api.get(f"/v1/payments/{payment_id}")).json()["status"] == "succeeded"
        assert await count(ctx, Journal) == 1
        assert (await event_types(ctx, payment_id)).count("payment.succeeded") == 1
        assert (await attempt_of(ctx, txn_ref)).next_poll_at is None

    async def test_a_failed_answer_is_applied_once(
        self, sandbox_providers: Context, bank: SandboxBank, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, txn_ref = await pay_order(ctx, api)
        fake_adapter(ctx, AsyncMock(return_value=ProviderStatus("failed", reason="24")))
        ctx.clock.advance(timedelta(seconds=61))
        assert await poll_due(ctx) == 1
        attempt = await attempt_of(ctx, txn_ref)
        assert (attempt.status, attempt.failure_reason) == ("failed", "24")
        assert (await event_types(ctx, payment_id)).count("payment.attempt_failed") == 1
        assert (await api.get(f"/v1/payments/{payment_id}")).json()["status"] == "pending"


class TestSchedule:
    async def test_unknown_walks_the_schedule_and_ends_flagged_never_failed(
        self, sandbox_providers: Context, bank: SandboxBank, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, txn_ref = await pay_order(ctx, api)
        adapter = fake_adapter(ctx, AsyncMock(return_value=ProviderStatus("unknown")))
        schedule = ctx.settings.attempt_poll_schedule
        assert schedule == [60, 300, 1800, 7200, 21600, *[86400] * 7]
        for step, wait in enumerate(schedule):
            ctx.clock.advance(timedelta(seconds=wait - 5))
            assert await poll_due(ctx) == 0, f"step {step} polled early"
            ctx.clock.advance(timedelta(seconds=5))
            assert await poll_due(ctx) == 1, f"step {step} not polled"
            attempt = await attempt_of(ctx, txn_ref)
            assert (attempt.status, attempt.polls) == ("open", step + 1)
            assert (attempt.next_poll_at is None) == (step == len(schedule) - 1)

        assert adapter.query.await_count == len(schedule)
        types = await event_types(ctx, payment_id)
        assert types.count(UNRESOLVED) == 1
        assert "payment.failed" not in types
        assert "payment.attempt_failed" not in types
        async with ctx.db.read() as session:
            flagged = await session.scalar(
                select(PaymentEvent).where(PaymentEvent.type == UNRESOLVED)
            )
        assert flagged is not None
        assert flagged.data["txn_ref"] == txn_ref
        assert flagged.data["polls"] == len(schedule)
        assert await count(ctx, Journal) == 0
        assert await count(ctx, InboxEntry) == 0  # unknown is never recorded as an answer
        ctx.clock.advance(timedelta(days=30))
        assert await poll_due(ctx) == 0  # left for staff, no more asking

    async def test_provider_unavailable_is_retried(
        self, sandbox_providers: Context, bank: SandboxBank, api: httpx.AsyncClient
    ) -> None:
        ctx = sandbox_providers
        payment_id, txn_ref = await pay_order(ctx, api)
        answers = [
            ProviderUnavailable("vnpay querydr: timed out"),
            ProviderStatus("succeeded", amount=150_000, provider_txn_id="14422574"),
        ]
        adapter = fake_adapter(ctx, AsyncMock(side_effect=answers))
        ctx.clock.advance(timedelta(seconds=61))
        assert await poll_due(ctx) == 1
        attempt = await attempt_of(ctx, txn_ref)
        assert (attempt.status, attempt.polls) == ("open", 1)
        assert (await api.get(f"/v1/payments/{payment_id}")).json()["status"] == "pending"

        ctx.clock.advance(timedelta(seconds=300))
        assert await poll_due(ctx) == 1
        assert adapter.query.await_count == 2
        assert (await api.get(f"/v1/payments/{payment_id}")).json()["status"] == "succeeded"
        assert await count(ctx, Journal) == 1
