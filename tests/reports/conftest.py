"""A business day of two agencies, paid through the real callback path, and staff tokens.

Day D is 2026-11-23 in Asia/Ho_Chi_Minh (UTC+7). Agency A (`dvc-hcm`) and agency B
(`dvc-hn`) register the same two account numbers, so only the agency tells their
payable accounts apart.

| when (local)     | what                                                             |
|------------------|------------------------------------------------------------------|
| D-1 23:30        | A: p0 paid, LEPHI 100 000 (default account) + PHI 50 000 (second) |
| D 00:30 (D-1 UTC)| A: p1 paid, same items, payer given                             |
| D 10:00          | A: p2 paid LEPHI 200 000; p3 paid LEPHI 30 000 (default) + LEPHI |
|                  | 20 001 (second); p4 created, attempt open, never paid;           |
|                  | B: q1 paid 300 000; refunds succeed: p1 20 000 of PHI, p3 25 000 |
|                  | pro rata, p0 10 000 of LEPHI                                     |
| D+1 09:00        | A: p5 paid LEPHI 70 000; refund of p2 50 000 succeeds            |
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast
from unittest.mock import MagicMock

import httpx
import pytest

from bank_adapters.base import RefundResult
from paygov.kit.context import Context
from paygov.ledger import service as ledger
from paygov.providers.live import LiveProvider
from paygov.refunds.processing import process_refunds
from tests.factories import AgencyKeys, create_agency, staff_token
from tests.payments_flow.test_attempts import new_payment, start, tell
from tests.refunds.test_refunds import install, refund

DAY = date(2026, 11, 23)
PROVIDER = "vnpay-sandbox"
DEFAULT_ACCOUNT, SECOND_ACCOUNT = "0011001234567", "1234567890"
LEPHI_NAME = "Lệ phí cấp giấy phép"
PHI_NAME = "Phí thẩm định hồ sơ"
PAYER = {
    "name": "Nguyễn Văn Bình",
    "id_number": "079099012345",
    "email": "binh.nguyen@example.vn",
    "phone": "0912345678",
}


def lephi(amount: int, account: str | None = None) -> dict[str, Any]:
    item: dict[str, Any] = {"code": "LEPHI", "name": LEPHI_NAME, "amount": amount}
    return item | ({"beneficiary_account": account} if account else {})


def phi(amount: int) -> dict[str, Any]:
    return {
        "code": "PHI",
        "name": PHI_NAME,
        "amount": amount,
        "beneficiary_account": SECOND_ACCOUNT,
    }


# The `total` line of agency A's day D, as the CSV has it.
TOTAL_OF_A = ["total", "", "", "3", "400001", "3", "55000", "345001", "345001", "true"]


async def unexplained(ctx: Context, day: Day, credit: int, kind: str = "payment") -> None:
    """A ledger journal on day D that no payment or refund explains: `credit` VND into A's
    default payable account (negative: out of it), against the provider's clearing."""
    payable = ledger.payable_account(day.a.agency.id, DEFAULT_ACCOUNT)
    async with ctx.db.transaction() as session:
        await ledger.post(
            session,
            kind=kind,
            reference=f"unexplained-{kind}-{credit}",
            payment_id=None,
            at=datetime(2026, 11, 23, 5, 0, tzinfo=UTC),  # 12:00 local
            postings=[(f"clearing:{PROVIDER}", credit), (payable, -credit)],
        )


def travel(ctx: Context, day: date, hour: int, minute: int = 0) -> None:
    """Move the test's clock to a local time of the business time zone (UTC+7)."""
    target = datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC) - timedelta(hours=7)
    ctx.clock.offset += target - ctx.clock.now()


def acting_as(client: httpx.AsyncClient, keys: AgencyKeys) -> httpx.AsyncClient:
    client.headers["Authorization"] = f"Bearer {keys.api_key}"
    return client


async def staff_headers(ctx: Context, role: str, agency: str | None = None) -> dict[str, str]:
    """A new staff user of this role (and agency) and a bearer header with their token."""
    email = f"{role}.{agency or 'all'}.{uuid.uuid4().hex[:8]}@paygov.example.vn"
    return await staff_token(ctx, role=role, email=email, agency=agency)


@dataclass
class Day:
    a: AgencyKeys
    b: AgencyKeys
    bank: LiveProvider
    payments: dict[str, str]  # p0..p5, q1 -> payment id


async def pay(
    ctx: Context,
    api: httpx.AsyncClient,
    bank: LiveProvider,
    items: list[dict[str, Any]],
    **extra: Any,
) -> str:
    """A payment of these items, paid through the provider's callback; its id."""
    amount = sum(item["amount"] for item in items)
    created = await new_payment(api, amount=amount, items=items, **extra)
    await tell(ctx, bank, await start(ctx, created["payment_id"], bank), amount=amount)
    return str(created["payment_id"])


async def refunded(
    ctx: Context, api: httpx.AsyncClient, payment_id: str, amount: int, available: int, **extra: Any
) -> None:
    response = await refund(api, payment_id, amount, available, **extra)
    assert response.status_code == 201, response.text
    assert await process_refunds(ctx) == 1


@pytest.fixture
async def day(sandbox_providers: Context, client: httpx.AsyncClient) -> Day:
    ctx = sandbox_providers
    bank = install(ctx, code=PROVIDER)
    cast(MagicMock, bank.adapter).refund.return_value = RefundResult("succeeded")
    a = await create_agency(ctx, code="dvc-hcm", name="Cổng DVC TP.HCM")
    b = await create_agency(ctx, code="dvc-hn", name="Cổng DVC Hà Nội")
    ids: dict[str, str] = {}
    api = acting_as(client, a)
    both = [lephi(100_000), phi(50_000)]

    travel(ctx, DAY - timedelta(days=1), 23, 30)
    ids["p0"] = await pay(ctx, api, bank, both)

    travel(ctx, DAY, 0, 30)
    ids["p1"] = await pay(ctx, api, bank, both, payer=PAYER)

    travel(ctx, DAY, 10)
    ids["p2"] = await pay(ctx, api, bank, [lephi(200_000)])
    ids["p3"] = await pay(ctx, api, bank, [lephi(30_000), lephi(20_001, SECOND_ACCOUNT)])
    unpaid = await new_payment(api, amount=80_000, items=[lephi(80_000)], reference="HS-UNPAID")
    ids["p4"] = unpaid["payment_id"]
    await start(ctx, ids["p4"], bank)
    await refunded(ctx, api, ids["p1"], 20_000, 150_000, items=[{"code": "PHI", "amount": 20_000}])
    await refunded(ctx, api, ids["p3"], 25_000, 50_001)
    await refunded(
        ctx, api, ids["p0"], 10_000, 150_000, items=[{"code": "LEPHI", "amount": 10_000}]
    )
    ids["q1"] = await pay(ctx, acting_as(client, b), bank, [lephi(300_000)])

    travel(ctx, DAY + timedelta(days=1), 9)
    api = acting_as(client, a)
    ids["p5"] = await pay(ctx, api, bank, [lephi(70_000)])
    await refunded(ctx, api, ids["p2"], 50_000, 200_000)
    del client.headers["Authorization"]
    return Day(a, b, bank, ids)
