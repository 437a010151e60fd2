"""A provider's day against its statement: every class planted and found (DESIGN.md §10),
on both databases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from bank_adapters.base import StatementLine as Line
from paygov.audit.models import AuditEntry
from paygov.callbacks.models import InboxEntry
from paygov.kit.clock import FrozenClock
from paygov.kit.context import Context
from paygov.ledger import repository as ledger
from paygov.payments.models import Attempt
from paygov.providers.live import LiveProvider
from paygov.reconciliation import service, sources
from paygov.reconciliation.models import ReconItem, ReconRun, StatementLine
from paygov.webhooks.models import WebhookEvent
from tests.payments_flow.test_attempts import new_payment, provider, read, start, tell
from tests.reconciliation import camt
from tests.reconciliation.camt import Entry, Tx, credit

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2026, 11, 20)
CODE = "bank-r"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=HCM)


def install(ctx: Context, code: str = CODE) -> LiveProvider:
    bank = provider(code)
    bank.adapter.statement_file_only = False
    bank.statement = {"format": "camt053"}
    ctx.providers.by_code[code] = bank
    ctx.providers.loaded_at = float("inf")
    return bank


def at(ctx: Context, moment: datetime) -> None:
    ctx.clock = FrozenClock(moment.astimezone(UTC))


async def paid(ctx: Context, api: httpx.AsyncClient, bank: LiveProvider, amount: int) -> str:
    """A payment that succeeded through `bank` at the clock's time; its txn_ref."""
    txn_ref = await opened(ctx, api, bank, amount)
    await tell(ctx, bank, txn_ref, amount=amount)
    return txn_ref


async def opened(ctx: Context, api: httpx.AsyncClient, bank: LiveProvider, amount: int) -> str:
    created = await new_payment(api, amount=amount)
    return await start(ctx, created["payment_id"], bank)


async def reconcile(ctx: Context, path: Path, day: date = DAY) -> ReconRun:
    return await service.reconcile(ctx, provider_code=CODE, day=day, actor="test", path=path)


async def classes(
    ctx: Context, run_id: str, statement: Path | list[Line]
) -> dict[str, list[tuple[int | None, str | None]]]:
    """Per class, the (line_no, attempt_id) of each line and attempt, in item order. A line
    without an item is matched to the attempt its reference names (the run does not write
    same-day matches): read again from the statement the run was given."""
    async with ctx.db.read() as session:
        run = await session.get(ReconRun, run_id)
        assert run is not None
        items = (
            await session.execute(
                select(
                    ReconItem.item_no, ReconItem.cls, ReconItem.line_no, ReconItem.attempt_id
                ).where(ReconItem.run_id == run_id)
            )
        ).all()
        lines = statement
        if isinstance(statement, Path):
            bank = ctx.providers.get(run.provider)
            with statement.open("rb") as file:
                lines = list(sources.read(bank, file, statement.name))
        assert run.lines == len(lines)
        implicit = []
        with_items = {line for _, _, line, _ in items if line}
        for line_no, line in enumerate(lines, 1):
            if line_no not in with_items:
                attempt = await session.scalar(
                    select(Attempt.id).where(
                        Attempt.txn_ref == service.our_ref(line), Attempt.provider == run.provider
                    )
                )
                implicit.append((line_no, attempt))
    rows = sorted(
        [(no, cls, line, att) for no, cls, line, att in items]
        + [(line, "matched", line, att) for line, att in implicit]
    )
    found: dict[str, list[tuple[int | None, str | None]]] = {}
    for _, cls, line_no, attempt in rows:
        found.setdefault(cls, []).append((line_no, attempt))
    return found


async def count(ctx: Context, model: Any, *where: Any) -> int:
    async with ctx.db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def attempt_id(ctx: Context, txn_ref: str) -> str:
    from paygov.payments.models import Attempt

    async with ctx.db.read() as session:
        found = await session.scalar(select(Attempt.id).where(Attempt.txn_ref == txn_ref))
        assert found is not None
        return str(found)


class Day:
    """One day planted with every class."""

    def __init__(self) -> None:
        self.refs: dict[str, str] = {}

    async def plant(self, ctx: Context, api: httpx.AsyncClient, tmp_path: Path) -> Path:
        bank = install(ctx)
        at(ctx, local(DAY, 9))
        r = self.refs
        r["matched"] = await paid(ctx, api, bank, 150_000)
        r["by_memo"] = await paid(ctx, api, bank, 80_000)
        r["missing_at_bank"] = await paid(ctx, api, bank, 70_000)
        r["amount_mismatch"] = await paid(ctx, api, bank, 60_000)
        r["duplicate"] = await paid(ctx, api, bank, 50_000)
        r["refunded_by_bank"] = await paid(ctx, api, bank, 40_000)
        r["with_fee"] = await paid(ctx, api, bank, 1_000_000)
        r["correctable"] = await opened(ctx, api, bank, 30_000)
        at(ctx, local(DAY, 23, 30))
        r["held"] = await paid(ctx, api, bank, 20_000)
        at(ctx, local(DAY + timedelta(days=1), 1, 30))  # the nightly run's time
        morning = local(DAY, 10)
        entries = [
            credit(morning, 150_000, r["matched"], bank_ref="B1"),
            Entry(morning, [Tx(80_000, memo=f"MBVCB.3278.{r['by_memo'].lower()}.CT tu 0123")]),
            credit(morning, 59_000, r["amount_mismatch"], bank_ref="B3"),
            credit(morning, 50_000, r["duplicate"], bank_ref="B4"),
            credit(morning + timedelta(minutes=5), 50_000, r["duplicate"], bank_ref="B5"),
            credit(morning, 40_000, r["refunded_by_bank"], bank_ref="B6"),
            credit(morning, 40_000, r["refunded_by_bank"], bank_ref="B7", debit=True),
            credit(morning, 1_000_000, r["with_fee"], bank_ref="B8", fee=1_100),
            credit(morning, 30_000, r["correctable"], bank_ref="B9"),
            credit(morning, 25_000, "PGZZZZZZZZZZZZZZ", bank_ref="B10"),  # no such attempt
            credit(morning, 12_345, None, bank_ref="B11", memo="Lãi tiền gửi tháng 11"),
            Entry(morning, [Tx(5_500, bank_ref="B12", debit=True)], charge=True),
        ]
        return camt.write(tmp_path / "day.xml", entries)


async def test_every_class_is_planted_and_found(
    ctx: Context, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    day = Day()
    path = await day.plant(ctx, api, tmp_path)
    run = await reconcile(ctx, path)
    r = day.refs
    found = await classes(ctx, run.id, path)
    ids = {name: await attempt_id(ctx, ref) for name, ref in r.items()}

    assert found["matched"] == [
        (1, ids["matched"]),
        (2, ids["by_memo"]),
        (4, ids["duplicate"]),
        (6, ids["refunded_by_bank"]),
        (8, ids["with_fee"]),
    ]
    assert found["amount_mismatch"] == [(3, ids["amount_mismatch"])]
    assert found["duplicate_at_bank"] == [(5, ids["duplicate"])]
    assert found["refund_mismatch"] == [(7, ids["refunded_by_bank"])]
    assert found["missing_at_paygov"] == [(9, ids["correctable"]), (10, None)]
    assert found["unrelated"] == [(11, None), (12, None)]
    assert found["missing_at_bank"] == [(None, ids["missing_at_bank"])]
    assert found["held"] == [(None, ids["held"])]
    # Every line once, every succeeded attempt of the day once.
    assert run.lines == 12
    assert sum(len(v) for v in found.values()) == 12 + 2
    assert run.counts["matched"]["lines"] == 5
    assert run.counts["missing_at_bank"] == {
        "lines": 0,
        "attempts": 1,
        "bank_amount": 0,
        "paygov_amount": 70_000,
    }
    assert run.status == "completed"
    assert run.input_sha256 is not None


async def test_money_for_an_open_attempt_is_corrected_once_with_audit_and_webhook(
    ctx: Context, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    day = Day()
    path = await day.plant(ctx, api, tmp_path)
    first = await reconcile(ctx, path)
    second = await reconcile(ctx, path)  # a re-run of the same day

    ref = day.refs["correctable"]
    async with ctx.db.read() as session:
        from paygov.payments.models import Attempt, Payment

        attempt = await session.scalar(select(Attempt).where(Attempt.txn_ref == ref))
        assert attempt is not None
        payment = await session.get(Payment, attempt.payment_id)
        assert payment is not None
    assert payment.status == "succeeded"
    assert attempt.succeeded_via == "reconciliation"
    assert (await read(api, payment.id))["status"] == "succeeded"
    assert await count(ctx, InboxEntry, InboxEntry.txn_ref == ref) == 1
    assert (
        await count(
            ctx,
            WebhookEvent,
            WebhookEvent.subject_id == payment.id,
            WebhookEvent.type == "payment.succeeded",
        )
        == 1
    )
    assert await count(ctx, AuditEntry, AuditEntry.action == "reconciliation.corrected") == 1
    # Same final classes; the first run is superseded by the second.
    assert await classes(ctx, first.id, path) == await classes(ctx, second.id, path)
    async with ctx.db.read() as session:
        statuses = dict((await session.execute(select(ReconRun.id, ReconRun.status))).all())
    assert statuses == {first.id: "superseded", second.id: "completed"}


async def test_fees_are_booked_once_and_the_ledger_balances(
    ctx: Context, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    path = await Day().plant(ctx, api, tmp_path)
    run = await reconcile(ctx, path)
    await reconcile(ctx, path)
    assert run.fees == 1_100 + 5_500
    async with ctx.db.read() as session:
        balances = await ledger.balances(session)
        assert await ledger.unbalanced_journals(session) == []
    assert balances[f"fees:{CODE}"] == 6_600


async def test_the_midnight_window_holds_a_day_before_missing(
    ctx: Context, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    bank = install(ctx)
    at(ctx, local(DAY, 23, 20))
    late = await paid(ctx, api, bank, 20_000)
    lost = await paid(ctx, api, bank, 21_000)
    at(ctx, local(DAY + timedelta(days=2), 1, 30))
    first = await reconcile(ctx, camt.write(tmp_path / "d1.xml", []))
    assert set(await classes(ctx, first.id, [])) == {"held"}
    # The bank booked one of them just after midnight: it is in the next day's statement.
    next_day = camt.write(
        tmp_path / "d2.xml",
        [credit(local(DAY + timedelta(days=1), 0, 20), 20_000, late, bank_ref="N1")],
    )
    second = await reconcile(ctx, next_day, day=DAY + timedelta(days=1))
    assert await classes(ctx, second.id, next_day) == {
        "matched": [(1, await attempt_id(ctx, late))],
        "missing_at_bank": [(None, await attempt_id(ctx, lost))],
    }


async def test_a_line_of_the_previous_evening_settles_an_attempt_recorded_after_midnight(
    ctx: Context, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """The bank booked at 23:55, PayGov heard at 00:05: one match, not a missing the next day."""
    bank = install(ctx)
    at(ctx, local(DAY + timedelta(days=1), 0, 5))
    ref = await paid(ctx, api, bank, 33_000)
    at(ctx, local(DAY + timedelta(days=2), 1, 30))
    path = camt.write(tmp_path / "a.xml", [credit(local(DAY, 23, 55), 33_000, ref)])
    first = await reconcile(ctx, path)
    assert await classes(ctx, first.id, path) == {"matched": [(1, await attempt_id(ctx, ref))]}
    second = await reconcile(ctx, camt.write(tmp_path / "b.xml", []), day=DAY + timedelta(days=1))
    assert await classes(ctx, second.id, []) == {}


async def test_no_false_match_across_providers_or_amounts(
    ctx: Context, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    bank = install(ctx)
    other = install(ctx, "bank-other")
    at(ctx, local(DAY, 9))
    theirs = await paid(ctx, api, other, 44_000)
    ours = await paid(ctx, api, bank, 45_000)
    at(ctx, local(DAY + timedelta(days=1), 1, 30))
    path = camt.write(
        tmp_path / "x.xml",
        [
            credit(local(DAY, 10), 44_000, theirs),  # another provider's attempt
            Entry(local(DAY, 10), [Tx(45_001, memo=f"chuyen tien {ours}")]),
        ],
    )
    run = await reconcile(ctx, path)
    assert await classes(ctx, run.id, path) == {
        "missing_at_paygov": [(1, None)],
        "amount_mismatch": [(2, await attempt_id(ctx, ours))],
    }


async def test_a_statement_in_another_currency_is_refused_and_nothing_is_loaded(
    ctx: Context,
) -> None:
    install(ctx)
    with pytest.raises(service.StatementRefused) as refused:
        await reconcile(ctx, SHARED_DATA / "camt053" / "oca-test-camt053.xml")
    assert "the statement is in EUR; bank-r settles in VND" in str(refused.value)
    assert await count(ctx, StatementLine) == 0
    async with ctx.db.read() as session:
        run = await session.scalar(select(ReconRun))
    assert run is not None
    assert run.status == "failed"
    assert "EUR" in (run.error or "")


async def test_a_malformed_statement_names_the_place_and_loads_nothing(
    ctx: Context, tmp_path: Path
) -> None:
    install(ctx)
    good = camt.statement([credit(local(DAY, 10), 1_000, "PGAAAAAAAAAAAAAA")] * 3)
    bad = good.replace(b'<Amt Ccy="VND">1000</Amt>', b'<Amt Ccy="VND">1O00</Amt>', 1)
    path = tmp_path / "bad.xml"
    path.write_bytes(bad)
    with pytest.raises(service.StatementRefused) as refused:
        await reconcile(ctx, path)
    assert "bad.xml" in str(refused.value)
    assert "1O00" in str(refused.value)
    assert await count(ctx, StatementLine) == 0


async def test_two_runs_of_one_provider_and_day_cannot_overlap(
    ctx: Context, tmp_path: Path
) -> None:
    install(ctx)
    at(ctx, local(DAY + timedelta(days=1), 1, 30))
    path = camt.write(tmp_path / "e.xml", [])
    async with ctx.db.transaction() as session:
        session.add(
            ReconRun(
                id="rec_STUCK",
                provider=CODE,
                day=DAY,
                status="running",
                source="file",
                started_by="someone",
                counts={},
                started_at=ctx.clock.now(),
                heartbeat_at=ctx.clock.now(),
            )
        )
    with pytest.raises(service.RunInProgress):
        await reconcile(ctx, path)
    # Past the lease the silent run is taken to have died, and a new one takes over.
    ctx.clock.advance(timedelta(seconds=ctx.settings.reconcile_lease_seconds + 1))
    run = await reconcile(ctx, path)
    assert run.status == "completed"
    async with ctx.db.read() as session:
        stuck = await session.get(ReconRun, "rec_STUCK")
    assert stuck is not None
    assert stuck.status == "failed"
    assert "abandoned" in (stuck.error or "")


async def test_the_worker_reconciles_yesterday_once_after_the_hour(
    ctx: Context, api: httpx.AsyncClient
) -> None:
    from bank_adapters.base import StatementLine as Line
    from paygov.reconciliation.nightly import reconcile_nightly

    bank = install(ctx)
    at(ctx, local(DAY, 9))
    ref = await paid(ctx, api, bank, 150_000)
    asked: list[date] = []

    async def fetch_statement(day: date) -> Any:
        asked.append(day)
        yield Line(local(DAY, 10).astimezone(UTC), 150_000, ref, None, "F1")

    bank.adapter.fetch_statement = fetch_statement
    at(ctx, local(DAY + timedelta(days=1), 1, 29))
    assert await reconcile_nightly(ctx) == 0  # not yet 01:30
    at(ctx, local(DAY + timedelta(days=1), 1, 30))
    assert await reconcile_nightly(ctx) == 1
    assert await reconcile_nightly(ctx) == 0  # done for the day
    assert asked == [DAY]
    async with ctx.db.read() as session:
        run = await session.scalar(select(ReconRun))
    assert run is not None
    assert run.started_by == "worker:nightly"
    assert run.source == "fetch"
    fetched = [line async for line in fetch_statement(DAY)]
    assert await classes(ctx, run.id, fetched) == {"matched": [(1, await attempt_id(ctx, ref))]}


async def test_a_vnpay_settlement_file_is_read_with_its_layout(
    ctx: Context, api: httpx.AsyncClient, tmp_path: Path
) -> None:
    """VNPay's daily file (PayGov's assumed layout): payments with fees, a refund VNPay
    made that PayGov never asked for."""
    bank = install(ctx)
    bank.protocol, bank.statement = "vnpay", None  # the protocol's default layout
    at(ctx, local(DAY, 9))
    first = await paid(ctx, api, bank, 150_000)
    second = await paid(ctx, api, bank, 1_250_000)
    at(ctx, local(DAY + timedelta(days=1), 1, 30))
    path = tmp_path / "vnpay.csv"
    path.write_text(
        "STT,Mã website,Mã giao dịch VNPAY,Mã tham chiếu,Loại giao dịch,Ngân hàng,Số tiền,"
        "Phí giao dịch,Thời gian,Nội dung thanh toán\n"
        f"1,PAYGOV01,14123456,{first},Thanh toán,NCB,150.000,1.650,20/11/2026 09:20:27,Le phi\n"
        f"2,PAYGOV01,14123457,{second},Thanh toán,VCB,1.250.000,13.750,20/11/2026 11:02:05,Phi\n"
        f"3,PAYGOV01,14123460,{first},Hoàn trả một phần,NCB,50.000,0,20/11/2026 15:40:00,HT\n",
        encoding="utf-8-sig",
    )
    run = await reconcile(ctx, path)
    assert await classes(ctx, run.id, path) == {
        "matched": [(1, await attempt_id(ctx, first)), (2, await attempt_id(ctx, second))],
        "refund_mismatch": [(3, await attempt_id(ctx, first))],
    }
    assert run.fees == 1_650 + 13_750


async def test_a_copied_statement_belongs_to_the_loading_transaction(ctx: Context) -> None:
    """The COPY goes to the driver directly; it must still roll back with its transaction."""
    from paygov.reconciliation import repository

    line = Line(local(DAY, 10).astimezone(UTC), 1_000, None, None, None)

    async def load_then_fail() -> None:
        async with ctx.db.transaction() as session:
            await repository.create_stage(session)
            await repository.stage_lines(session, [service.staged(1, line)])
            await repository.drop_stage(session)
            raise RuntimeError("after the lines were sent")

    with pytest.raises(RuntimeError):
        await load_then_fail()
    assert await count(ctx, StatementLine) == 0
