"""The pro-rata split by largest remainder (a pure function)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from paygov.refunds.allocation import split_pro_rata


def test_largest_remainder_gets_the_missing_vnd() -> None:
    # Exact shares 33 332.67, 33 333.33, 33 334.00: floors miss 1 VND, the .67 takes it.
    assert split_pro_rata(100_000, [49_999, 50_000, 50_001]) == [33_333, 33_333, 33_334]


def test_ties_go_to_the_earlier_item() -> None:
    assert split_pro_rata(100_000, [50_000, 50_000, 50_000]) == [33_334, 33_333, 33_333]


def test_whole_amount_returns_the_weights() -> None:
    assert split_pro_rata(150_000, [100_000, 50_000]) == [100_000, 50_000]


def test_zero_weights_get_nothing() -> None:
    assert split_pro_rata(7, [0, 10, 0, 5]) == [0, 5, 0, 2]


@pytest.mark.parametrize(
    ("amount", "weights"), [(1, []), (1, [0, 0]), (11, [5, 5]), (-1, [5]), (1, [-1, 3])]
)
def test_refuses_impossible_splits(amount: int, weights: list[int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        split_pro_rata(amount, weights)


@given(
    st.lists(st.integers(min_value=0, max_value=10**12), min_size=1, max_size=50)
    .filter(lambda weights: sum(weights) > 0)
    .flatmap(lambda weights: st.tuples(st.integers(0, sum(weights)), st.just(weights)))
)
def test_parts_sum_exactly_and_never_exceed_their_item(case: tuple[int, list[int]]) -> None:
    amount, weights = case
    parts = split_pro_rata(amount, weights)
    assert sum(parts) == amount
    assert all(0 <= part <= weight for part, weight in zip(parts, weights, strict=True))
    # Pro rata: each part is within 1 VND of its exact share.
    total = sum(weights)
    assert all(
        abs(part * total - amount * w) < total for part, w in zip(parts, weights, strict=True)
    )
