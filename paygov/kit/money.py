"""Money is an integer number of Vietnamese dong. There is no minor unit."""

from __future__ import annotations

CURRENCY = "VND"
MAX_AMOUNT = 10**12


def format_vnd(amount: int) -> str:
    """`1234567` → `1.234.567 ₫`, the way Vietnamese receipts print it."""
    return f"{amount:,}".replace(",", ".") + " ₫"
