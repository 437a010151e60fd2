"""CSV statements read by `bank_adapters.statements.read_csv` through a CsvMapping: PayGov's
own CSV (bank-api.md §8.3), the VNPay-style settlement file, other providers' layouts, and
malformed files refused with the line and column."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bank_adapters.base import StatementLine
from bank_adapters.statements import (
    PAYGOV_STATEMENT_CSV,
    VNPAY_SETTLEMENT_CSV,
    CsvMapping,
    StatementError,
    read_csv,
)

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
HEADER = "booked_at,amount,txn_ref,memo,bank_reference,fee\r\n"
PAYMENT = "2026-01-15T09:20:27+07:00,150000,PG7K3M9Q2X4V8N1R,Lệ phí,VCB2601150004471,0\r\n"


def read(text: str | bytes, mapping: CsvMapping = PAYGOV_STATEMENT_CSV) -> list[StatementLine]:
    data = text.encode() if isinstance(text, str) else text
    return list(read_csv(io.BytesIO(data), mapping))


def refusal(text: str | bytes, mapping: CsvMapping = PAYGOV_STATEMENT_CSV) -> str:
    with pytest.raises(StatementError) as caught:
        read(text, mapping)
    return str(caught.value)


def mapping(**fields: Any) -> CsvMapping:
    return CsvMapping.model_validate(
        {"booked_at_column": "at", "amount_column": "amount", **fields}
    )


class TestPayGovCsv:
    def test_the_example_of_the_bank_integration_spec(self) -> None:
        spec = (ROOT / "docs" / "bank-api.md").read_text(encoding="utf-8")
        section = spec[spec.index("### 8.3 CSV") :]
        text = section.split("```\n")[1].replace("\n", "\r\n")

        assert read(text) == [
            StatementLine(
                booked_at=datetime(2026, 1, 15, 2, 20, 27, tzinfo=UTC),
                amount=150_000,
                txn_ref="PG7K3M9Q2X4V8N1R",
                memo="PG7K3M9Q2X4V8N1R Lệ phí cấp hộ chiếu phổ thông",
                provider_txn_id="VCB2601150004471",
            ),
            StatementLine(
                booked_at=datetime(2026, 1, 15, 8, 2, 11, tzinfo=UTC),
                amount=-50_000,
                txn_ref="PG7K3M9Q2X4V8N1R",
                memo="REFUND rf_01JH9A0B7C6D5E4F3G2H1J0K9M",
                provider_txn_id="RFVCB26011500731204",
            ),
            StatementLine(
                booked_at=datetime(2026, 1, 15, 16, 59, 59, tzinfo=UTC),
                amount=-1_100,
                txn_ref=None,
                memo="PHI DICH VU THU HO 1 GD / service fee",
                provider_txn_id="FEEVCB20260115",
                fee=1_100,
            ),
        ]

    def test_lines_come_as_the_file_is_read(self) -> None:
        lines = read_csv(
            io.BytesIO((HEADER + PAYMENT + "broken\r\n").encode()), PAYGOV_STATEMENT_CSV
        )

        assert next(lines).amount == 150_000
        with pytest.raises(StatementError) as caught:
            next(lines)
        assert str(caught.value) == "line 3: 1 columns where 6 are expected"

    def test_the_callers_stream_is_left_open(self) -> None:
        stream = io.BytesIO((HEADER + PAYMENT).encode())

        list(read_csv(stream, PAYGOV_STATEMENT_CSV))

        assert not stream.closed


class TestVnpaySettlement:
    def test_payments_and_refunds_of_the_fixture(self) -> None:
        lines = read((DATA / "vnpay-settlement-2026-01-15.csv").read_bytes(), VNPAY_SETTLEMENT_CSV)

        assert lines == [
            StatementLine(
                booked_at=datetime(2026, 1, 15, 2, 20, 27, tzinfo=UTC),
                amount=150_000,
                txn_ref="PG0000000000002A",
                memo="Le phi cap ho chieu pho thong",
                provider_txn_id="14123456",
                fee=1_650,
                kind="payment",
            ),
            StatementLine(
                booked_at=datetime(2026, 1, 15, 4, 2, 5, tzinfo=UTC),
                amount=1_250_000,
                txn_ref="PG0000000000002B",
                memo="Phi truoc ba, Da Nang",
                provider_txn_id="14123457",
                fee=13_750,
                kind="payment",
            ),
            StatementLine(  # written positive, a refund: a debit
                booked_at=datetime(2026, 1, 15, 8, 40, tzinfo=UTC),
                amount=-50_000,
                txn_ref="PG0000000000002A",
                memo="Hoan tra GD 14123456",
                provider_txn_id="14123460",
                kind="refund",
            ),
            StatementLine(
                booked_at=datetime(2026, 1, 15, 16, 59, 59, tzinfo=UTC),
                amount=-1_250_000,
                txn_ref="PG0000000000002B",
                memo="Hoan tra GD 14123457",
                provider_txn_id="14123461",
                kind="refund",
            ),
        ]


class TestOtherLayouts:
    def test_positions_debit_and_credit_euros_and_a_currency_column(self) -> None:
        layout = mapping(
            has_header=False,
            booked_at_column=1,
            amount_column=None,
            debit_column=2,
            credit_column=3,
            currency_column=4,
            memo_column=5,
            delimiter=";",
            decimal_separator=",",
            thousands_separator=".",
            date_format="%d.%m.%Y",
            timezone="Europe/Amsterdam",
        )
        text = "05.01.2013;754,25;;EUR;Insurance\n05.01.2013;0;1.405,31;EUR;3rd party\n\n"

        assert read(text, layout) == [
            StatementLine(
                booked_at=datetime(2013, 1, 4, 23, tzinfo=UTC),
                amount=-75_425,
                txn_ref=None,
                memo="Insurance",
                provider_txn_id=None,
                currency="EUR",
            ),
            StatementLine(
                booked_at=datetime(2013, 1, 4, 23, tzinfo=UTC),
                amount=140_531,
                txn_ref=None,
                memo="3rd party",
                provider_txn_id=None,
                currency="EUR",
            ),
        ]

    def test_a_fee_row_written_positive_is_a_debit_whose_fee_is_its_amount(self) -> None:
        layout = mapping(type_column="type", type_values={"PHI": "fee", "TT": "payment"})
        text = "at,amount,type\n2026-01-15 23:59:59,3300,PHI\n2026-01-15 09:00:00,-20000,TT\n"

        fee, payment = read(text, layout)

        assert (fee.amount, fee.fee, fee.kind) == (-3_300, 3_300, "fee")
        assert (payment.amount, payment.fee, payment.kind) == (-20_000, 0, "payment")
        assert fee.booked_at == datetime(2026, 1, 15, 16, 59, 59, tzinfo=UTC)  # Vietnam time

    def test_title_rows_skipped_and_unpadded_times_read(self) -> None:
        layout = mapping(skip_rows=2, date_format="%d/%m/%Y %H:%M:%S", ignored_columns=("STT",))
        text = "SAO KÊ GIAO DỊCH\nNgày 15/01/2026\nSTT,at,amount\n1,5/1/2026 9:05:07,150000\n"

        [line] = read(text, layout)

        assert line.booked_at == datetime(2026, 1, 5, 2, 5, 7, tzinfo=UTC)


class TestRefused:
    def test_a_bad_amount_names_its_line_and_column(self) -> None:
        text = HEADER + PAYMENT * 15 + PAYMENT.replace(",150000,", ",12a,")

        assert refusal(text) == 'line 17, column "amount": "12a" is not a whole number of VND'

    @pytest.mark.parametrize(
        ("text", "message"),
        [
            (HEADER.replace("fee", "fee,extra"), 'line 1: unknown column "extra"'),
            (HEADER.replace(",fee", ""), 'line 1: missing column "fee"'),
            (HEADER.replace("memo", "txn_ref"), 'line 1: column "txn_ref" appears twice'),
            ("", "line 1: no header row"),
            (
                HEADER + PAYMENT + PAYMENT.replace(",0\r", "\r"),
                "line 3: 5 columns where 6 are expected",
            ),
            (
                HEADER + PAYMENT.replace("2026-01-15T09", "2026-13-15T09"),
                'line 2, column "booked_at": "2026-13-15T09:20:27+07:00" is not a time like '
                "ISO 8601",
            ),
            (
                HEADER + PAYMENT.replace(",150000,", ",150000.5,"),
                'line 2, column "amount": "150000.5" is not a whole number of VND',
            ),
            (
                HEADER + PAYMENT.replace(",0\r", ",-1100\r"),
                'line 2, column "fee": "-1100" is negative: write it as positive',
            ),
            (HEADER + 'x,"1"2,,,,\r\n', "line 2: not CSV: ',' expected after '\"'"),
            (
                (HEADER + PAYMENT.replace("Lệ phí", "Lê phí")).encode("latin-1"),
                "line 2: not utf-8-sig text (invalid continuation byte)",
            ),
        ],
    )
    def test_a_malformed_paygov_file(self, text: str | bytes, message: str) -> None:
        assert refusal(text) == message

    @pytest.mark.parametrize(
        ("old", "new", "message"),
        [
            (
                ",150.000,1.650,",
                ",150000.00,1.650,",
                'line 2, column "Số tiền": "150000.00" is not a whole number of VND',
            ),
            (
                ",150.000,1.650,",
                ",150.000,1.650,5,",
                "line 2: 11 columns where 10 are expected",
            ),
            (
                ",Thanh toán,NCB,150.000",
                ",Hủy,NCB,150.000",
                'line 2, column "Loại giao dịch": "Hủy" is not one of "Thanh toán", '
                '"Hoàn trả toàn phần", "Hoàn trả một phần"',
            ),
            (
                "15/01/2026 09:20:27",
                "2026-01-15 09:20:27",
                'line 2, column "Thời gian": "2026-01-15 09:20:27" is not a time like '
                "%d/%m/%Y %H:%M:%S",
            ),
        ],
    )
    def test_a_malformed_vnpay_file(self, old: str, new: str, message: str) -> None:
        text = (DATA / "vnpay-settlement-2026-01-15.csv").read_text(encoding="utf-8-sig")
        assert text.count(old) == 1

        assert refusal(text.replace(old, new), VNPAY_SETTLEMENT_CSV) == message

    def test_debit_and_credit_both_set(self) -> None:
        layout = mapping(amount_column=None, debit_column="debit", credit_column="credit")

        assert refusal("at,debit,credit\n2026-01-15,5,7\n", layout) == (
            'line 2, column "debit": and column "credit" are both set'
        )

    def test_an_unknown_currency_code(self) -> None:
        layout = mapping(currency_column="ccy")

        assert refusal("at,amount,ccy\n2026-01-15,5,dong\n", layout) == (
            'line 2, column "ccy": "dong" is not an ISO 4217 code'
        )


class TestMappingIsChecked:
    @pytest.mark.parametrize(
        ("fields", "problem"),
        [
            ({"colour": "red"}, "Extra inputs are not permitted"),
            ({"debit_column": "d", "credit_column": "c"}, "give amount_column, or debit_column"),
            ({"amount_column": None, "debit_column": "d"}, "debit_column and credit_column go"),
            ({"fee_column": "amount"}, "two fields are mapped to the same column"),
            ({"type_column": "type"}, "type_column and type_values go together"),
            ({"has_header": False}, "without a header, columns are positions"),
            ({"thousands_separator": "."}, "decimal_separator and thousands_separator must"),
            ({"default_currency": "dong"}, "default_currency 'dong' is not a code"),
            ({"date_format": "dd/MM/yyyy"}, 'date_format is "iso" or a strptime format'),
            ({"encoding": "base64"}, "encoding 'base64' is not a text encoding"),
            ({"timezone": "Asia/Saigon City"}, "unknown timezone 'Asia/Saigon City'"),
            ({"type_column": "t", "type_values": {"X": "payout"}}, "Input should be 'payment'"),
            ({"amount_column": 0}, "Input should be greater than or equal to 1"),
        ],
    )
    def test_a_wrong_mapping_is_refused(self, fields: dict[str, Any], problem: str) -> None:
        with pytest.raises(ValidationError, match=problem):
            mapping(**fields)
