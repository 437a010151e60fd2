"""The sandbox's VNPay settlement file, served at a GET URL and read back whole with
`VNPAY_SETTLEMENT_CSV`: what VNPay would send PayGov for a day of its payments."""

from __future__ import annotations

import io
from datetime import datetime

from bank_adapters.signing import VIETNAM
from bank_adapters.statements import VNPAY_SETTLEMENT_CSV, read_csv
from tests.bank_adapters.test_vnpay import CREATED, Sandbox, refund_of
from tests.bank_adapters.test_vnpay import sandbox as sandbox  # the fixture


def today() -> str:
    return datetime.now(VIETNAM).date().isoformat()


class TestSettlementFile:
    async def test_a_days_payments_and_refunds_read_back(self, sandbox: Sandbox) -> None:
        await sandbox.pay("pay", created_at=CREATED)
        await sandbox.pay("pay", created_at=CREATED, txn_ref="PG7K3M9Q2X8W4R2U", amount=1_250_000)
        await sandbox.pay("decline", created_at=CREATED, txn_ref="PG7K3M9Q2X8W4R3V")
        paid = sandbox.bank.payments["PG7K3M9Q2X8W4R1T"]
        refunded = await sandbox.vnpay.refund(refund_of(50_000, txn_no=paid["transaction_no"]))

        answer = await sandbox.client.get(f"/vnpay/settlement/{today()}.csv")
        lines = list(read_csv(io.BytesIO(answer.content), VNPAY_SETTLEMENT_CSV))

        assert answer.content.startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads it as UTF-8
        assert [(line.txn_ref, line.amount, line.fee, line.kind) for line in lines] == [
            ("PG7K3M9Q2X8W4R1T", 150_000, 1_650, "payment"),
            ("PG7K3M9Q2X8W4R2U", 1_250_000, 13_750, "payment"),
            ("PG7K3M9Q2X8W4R1T", -50_000, 0, "refund"),
        ]
        assert [line.provider_txn_id for line in lines] == [
            paid["transaction_no"],
            sandbox.bank.payments["PG7K3M9Q2X8W4R2U"]["transaction_no"],
            refunded.provider_refund_id,
        ]
        assert lines[0].booked_at == paid["booked_at"].replace(microsecond=0)

    async def test_another_merchant_or_another_day_is_an_empty_file(self, sandbox: Sandbox) -> None:
        await sandbox.pay("pay", created_at=CREATED)

        other = await sandbox.client.get(f"/vnpay/settlement/{today()}.csv?tmn_code=OTHER001")
        before = await sandbox.client.get("/vnpay/settlement/2020-01-01.csv")

        assert list(read_csv(io.BytesIO(other.content), VNPAY_SETTLEMENT_CSV)) == []
        assert list(read_csv(io.BytesIO(before.content), VNPAY_SETTLEMENT_CSV)) == []

    async def test_a_bad_day_is_refused(self, sandbox: Sandbox) -> None:
        answer = await sandbox.client.get("/vnpay/settlement/15-01-2026.csv")

        assert answer.status_code == 422
