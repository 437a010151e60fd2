"""Ready CSV mappings: PayGov's own statement CSV and a VNPay-style settlement file.

The sandbox bank writes both with the column tuples below, so what it serves and what
PayGov reads cannot drift apart.
"""

from __future__ import annotations

from typing import Final

from bank_adapters.statements.csv_file import CsvMapping

# PayGov's bank integration spec §8.3 (docs/bank-api.md), served by the sandbox's direct
# banks and VietQR collection account: UTF-8, ISO 8601 times with offset, signed whole
# VND, a fee row written as amount -X and fee X.
PAYGOV_STATEMENT_COLUMNS: Final = (
    "booked_at",
    "amount",
    "txn_ref",
    "memo",
    "bank_reference",
    "fee",
)
PAYGOV_STATEMENT_CSV: Final = CsvMapping(
    booked_at_column="booked_at",
    amount_column="amount",
    txn_ref_column="txn_ref",
    memo_column="memo",
    provider_txn_id_column="bank_reference",
    fee_column="fee",
)

# VNPay sends merchants a daily reconciliation file of day T's successful transactions
# (by e-mail or SFTP) and pays the total less its fees; its column layout is agreed per
# merchant contract and not published. This is PayGov's assumed layout, the one the
# sandbox serves: Vietnamese headers, UTF-8 with BOM (opens in Excel), `dd/MM/yyyy
# HH:mm:ss` in GMT+7, amounts in whole VND grouped the Vietnamese way (`150.000`),
# refunds listed with positive amounts and a refund type. A merchant whose file differs
# configures its own CsvMapping.
VNPAY_PAYMENT: Final = "Thanh toán"
VNPAY_FULL_REFUND: Final = "Hoàn trả toàn phần"  # vnp_TransactionType 02
VNPAY_PARTIAL_REFUND: Final = "Hoàn trả một phần"  # vnp_TransactionType 03
VNPAY_SETTLEMENT_COLUMNS: Final = (
    "STT",  # row number
    "Mã website",  # vnp_TmnCode
    "Mã giao dịch VNPAY",  # vnp_TransactionNo (of the refund, for a refund)
    "Mã tham chiếu",  # vnp_TxnRef: PayGov's txn_ref
    "Loại giao dịch",  # one of the three types above
    "Ngân hàng",  # vnp_BankCode
    "Số tiền",  # VND, positive
    "Phí giao dịch",  # VND VNPay keeps, positive
    "Thời gian",  # vnp_PayDate, or when the refund was booked
    "Nội dung thanh toán",  # vnp_OrderInfo
)
VNPAY_SETTLEMENT_CSV: Final = CsvMapping(
    booked_at_column="Thời gian",
    amount_column="Số tiền",
    fee_column="Phí giao dịch",
    txn_ref_column="Mã tham chiếu",
    memo_column="Nội dung thanh toán",
    provider_txn_id_column="Mã giao dịch VNPAY",
    type_column="Loại giao dịch",
    type_values={
        VNPAY_PAYMENT: "payment",
        VNPAY_FULL_REFUND: "refund",
        VNPAY_PARTIAL_REFUND: "refund",
    },
    ignored_columns=("STT", "Mã website", "Ngân hàng"),
    date_format="%d/%m/%Y %H:%M:%S",
    decimal_separator=",",
    thousands_separator=".",
)
