"""Hypothesis drives payments through random provider outcomes; the invariants of money
must hold after every step (DESIGN.md §4, §12)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from sqlalchemy import select

from bank_adapters.base import AckResult, ProviderEvent
from paygov.auth import service as auth
from paygov.kit.clock import Clock
from paygov.kit.context import Context
from paygov.ledger import repository as ledger
from paygov.payments import attempts
from paygov.payments import service as payments
from paygov.payments.models import Payment
from paygov.payments.schemas import CreatePayment
from tests.conftest import make_settings
from tests.factories import create_agency
from tests.payments_flow.test_attempts import provider

ORDER = {"created": 0, "pending": 1, "succeeded": 3, "failed": 2, "expired": 2, "cancelled": 2}


class PaymentMachine(RuleBasedStateMachine):
    """Orders, attempts and callbacks in any order, including duplicates and late ones."""

    template: Path

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.workdir = Path(tempfile.mkdtemp())
        shutil.copy(self.template, self.workdir / "db.sqlite3")
        url = f"sqlite+aiosqlite:///{self.workdir}/db.sqlite3"
        self.ctx = Context.build(make_settings(url, self.workdir), clock=Clock())
        self.bank = provider()
        self.payments: list[str] = []
        self.refs: list[tuple[str, str]] = []  # (payment id, txn_ref)
        self.seen: dict[str, tuple[str, int]] = {}  # last status and version

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.run(self.ctx.close())
        self.loop.close()
        shutil.rmtree(self.workdir, ignore_errors=True)

    @initialize()
    def agency(self) -> None:
        created = self.run(create_agency(self.ctx))
        self.profile = self.run(self._profile(created.agency.id))

    async def _profile(self, agency_id: str) -> Any:
        async with self.ctx.db.read() as session:
            return await auth.profile_of(session, agency_id)

    @rule(amount=st.integers(min_value=1, max_value=5_000_000))
    def create(self, amount: int) -> None:
        async def go() -> str:
            async with self.ctx.db.transaction() as session:
                created = await payments.create_payment(
                    session,
                    self.ctx,
                    self.profile,
                    CreatePayment(
                        amount=amount,
                        reference="HS-1",
                        description="Lệ phí",
                        return_url="https://dvc.example.gov.vn/r",
                        expires_in=600,
                    ),
                )
                return created.view.payment.id

        self.payments.append(self.run(go()))

    @precondition(lambda self: self.payments)
    @rule(data=st.data())
    def start(self, data: st.DataObject) -> None:
        payment_id = data.draw(st.sampled_from(self.payments))

        async def go() -> None:
            async with self.ctx.db.transaction() as session:
                payment = await session.get(Payment, payment_id)
                assert payment is not None
                _, attempt = await attempts.open_attempt(
                    session,
                    self.ctx,
                    token=payment.checkout_token,
                    mode="test",
                    provider=self.bank,
                    bank_code="VCB",
                )
                self.refs.append((payment_id, attempt.txn_ref))

        with contextlib.suppress(attempts.PaymentNotPayable):
            self.run(go())

    @precondition(lambda self: self.refs)
    @rule(
        data=st.data(),
        outcome=st.sampled_from(["succeeded", "failed", "unknown"]),
        wrong_amount=st.booleans(),
    )
    def callback(self, data: st.DataObject, outcome: str, wrong_amount: bool) -> None:
        payment_id, txn_ref = data.draw(st.sampled_from(self.refs))

        async def go() -> AckResult:
            async with self.ctx.db.transaction() as session:
                payment = await session.get(Payment, payment_id)
                assert payment is not None
                event = ProviderEvent(
                    txn_ref=txn_ref,
                    outcome=outcome,  # type: ignore[arg-type]
                    amount=payment.amount + (1 if wrong_amount else 0),
                    dedupe_key=f"{txn_ref}:{outcome}",
                )
                return await attempts.apply_event(session, self.ctx, self.bank, event)

        assert self.run(go()) in {
            AckResult.CONFIRMED,
            AckResult.DUPLICATE,
            AckResult.INVALID_AMOUNT,
        }

    @rule(minutes=st.integers(min_value=1, max_value=40))
    def time_passes(self, minutes: int) -> None:
        self.ctx.clock.advance(timedelta(minutes=minutes))

    @invariant()
    def money_adds_up(self) -> None:
        async def go() -> tuple[list[int], dict[str, int], list[Any]]:
            async with self.ctx.db.read() as session:
                rows = list(await session.scalars(select(Payment)))  # every order
                return (
                    await ledger.unbalanced_journals(session),
                    await ledger.balances(session),
                    rows,
                )

        unbalanced, balances, rows = self.run(go())
        assert unbalanced == []
        paid = sum(p.amount for p in rows if p.status == "succeeded")
        overpaid = sum(p.amount_overpaid for p in rows)
        assert balances.get("clearing:bank-a", 0) == paid + overpaid
        assert -sum(v for k, v in balances.items() if k.startswith("payable:")) == paid
        for payment in rows:
            status = payments.status_at(
                payment,
                self.ctx.clock.now(),
                timedelta(seconds=self.ctx.settings.expiry_grace_seconds),
            )
            before = self.seen.get(payment.id)
            if before is not None:
                assert payment.version >= before[1]
                # Forward only, except that money forces a late success.
                assert ORDER[status] >= ORDER[before[0]] or status == "succeeded"
            if payment.status == "succeeded":
                assert payment.paid_at is not None
            self.seen[payment.id] = (status, payment.version)


def test_payment_state_machine(sqlite_template: Path) -> None:
    PaymentMachine.template = sqlite_template
    PaymentMachine.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    PaymentMachine.TestCase().runTest()
