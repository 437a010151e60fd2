"""The sandbox's direct banks and VietQR collection account serve statements that the
statement readers take back whole: the camt.053 and the CSV of a day say the same."""

from __future__ import annotations

import io
from datetime import datetime

from bank_adapters import signing
from bank_adapters.statements import PAYGOV_STATEMENT_CSV, read_csv
from tests.bank_adapters import test_signed_json as signed_json_tests
from tests.bank_adapters.test_signed_json import Sandbox, attempt, pay
from tests.bank_adapters.test_signed_json import sandbox as sandbox  # the fixture


class TestDirectBankStatements:
    async def test_the_csv_and_the_camt053_of_a_day_give_the_same_lines(
        self, sandbox: Sandbox
    ) -> None:
        bank = sandbox.adapter()
        for txn_ref in ("PG0123456789ABCD", "PG0123456789ABCE"):
            await pay(sandbox, (await bank.start(attempt(txn_ref))).url)
        await bank.refund(signed_json_tests.TestRefund().refund(amount=20_000))
        today = datetime.now(signing.VIETNAM).date()

        from_camt = [line async for line in bank.fetch_statement(today)]
        answer = await bank.call("GET", f"/statements/{today.isoformat()}.csv")
        from_csv = list(read_csv(io.BytesIO(answer.content), PAYGOV_STATEMENT_CSV))

        assert from_csv == from_camt
        assert sorted(line.amount for line in from_csv) == [-20_000, -2_200, 150_000, 150_000]
        assert [line.fee for line in from_csv if line.amount == -2_200] == [2_200]


class TestCollectionAccountStatement:
    async def test_a_credit_is_read_back_with_its_memo_and_no_txn_ref(
        self, sandbox: Sandbox
    ) -> None:
        account = next(
            p["config"]["account_number"]
            for p in sandbox.bank.providers
            if p["protocol"] == "vietqr"
        )
        memo = "PGQR12345678 Lệ phí đăng ký kinh doanh"
        sent = await sandbox.browser.post(
            "/vietqr/transfer.json",
            json={"account_number": account, "amount": 250_000, "memo": memo},
        )
        assert sent.status_code == 201, sent.text
        today = datetime.now(signing.VIETNAM).date().isoformat()

        answer = await sandbox.browser.get(f"/vietqr/statements/{today}.csv")
        [line] = read_csv(io.BytesIO(answer.content), PAYGOV_STATEMENT_CSV)

        assert (line.amount, line.txn_ref, line.provider_txn_id) == (
            250_000,
            None,
            sent.json()["transaction_id"],
        )
        assert line.memo is not None
        assert "PGQR12345678" in line.memo
