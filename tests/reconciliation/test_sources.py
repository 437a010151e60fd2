"""A provider's `[provider.statement]` table is checked when providers are imported."""

from __future__ import annotations

from typing import Any

import pytest

from paygov.kit.errors import ValidationFailed
from paygov.reconciliation import sources


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"layout": "mt940"}, "statement.layout must be one of paygov, vnpay_settlement"),
        ({"format": "pdf"}, "statement.format: Input should be 'camt053' or 'csv'"),
        ({"csv": {"amount_column": "x"}}, "statement.csv.booked_at_column: Field required"),
        ({"colour": "blue"}, "statement.colour: Extra inputs are not permitted"),
    ],
)
def test_a_bad_table_is_one_clear_line(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        sources.parse_config("vnpay", table)
    assert str(refused.value) == f"provider vnpay: {message}"


def test_no_table_means_the_defaults() -> None:
    config = sources.parse_config("vnpay", None)
    assert (config.format, config.currency, config.layout, config.csv) == (None, "VND", None, None)
