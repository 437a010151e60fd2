"""Provider statements read for reconciliation: camt.053 and CSV, streamed, exact, safe.

`read_camt053(stream)` and `read_csv(stream, mapping)` turn a statement file (a binary
stream) into `StatementLine`s one at a time, so a file of a million lines is read in
bounded memory; any problem raises `StatementError` naming where it is. The signed_json
adapter reads its banks' camt.053 with them; reconciliation reads statement files.
"""

from bank_adapters.statements.camt053 import read_camt053
from bank_adapters.statements.csv_file import CsvMapping, read_csv
from bank_adapters.statements.errors import StatementError
from bank_adapters.statements.mappings import (
    PAYGOV_STATEMENT_COLUMNS,
    PAYGOV_STATEMENT_CSV,
    VNPAY_SETTLEMENT_COLUMNS,
    VNPAY_SETTLEMENT_CSV,
)

__all__ = [
    "PAYGOV_STATEMENT_COLUMNS",
    "PAYGOV_STATEMENT_CSV",
    "VNPAY_SETTLEMENT_COLUMNS",
    "VNPAY_SETTLEMENT_CSV",
    "CsvMapping",
    "StatementError",
    "read_camt053",
    "read_csv",
]
