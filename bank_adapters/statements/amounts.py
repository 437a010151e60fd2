"""Amounts as whole numbers of a currency's ISO 4217 minor unit, read exactly from text.

No float and no Decimal on the way: the digits are checked and joined, then `int()`.
"""

from __future__ import annotations

from typing import Final

# ISO 4217 currencies whose minor unit is not 2 decimals (list 1, 2024). Every other
# well-formed code is taken to have 2: reconciliation refuses a currency that is not its
# provider's, so a code outside ISO 4217 cannot slip through as money.
MINOR_UNITS: Final[dict[str, int]] = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG"), 0),
    **dict.fromkeys(("RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}
MAX_DIGITS: Final = 18  # ISO 20022 amounts have at most 18 digits


def decimals(currency: str) -> int | None:
    """The number of decimals of a currency's minor unit; None if `currency` is not a code."""
    if len(currency) != 3 or not (currency.isascii() and currency.isalpha() and currency.isupper()):
        return None
    return MINOR_UNITS.get(currency, 2)


def expected(currency: str) -> str:
    """What an amount of `currency` must look like, for error messages."""
    places = decimals(currency) or 0
    if places == 0:
        return f"a whole number of {currency}"
    return f"an amount of {currency} with at most {places} decimals"


def minor_units(text: str, places: int, point: str = ".") -> int | None:
    """`text` (`-`/`+`, digits, optionally `point` and digits) in minor units, or None.

    Decimals beyond `places` are allowed only when they are zeros (`150000.00` VND is
    150000; `100000.5` VND is None).
    """
    sign = 1
    if text.startswith(("-", "+")):
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    whole, separated, fraction = text.partition(point)
    if not (_digits(whole) and len(whole) <= MAX_DIGITS):
        return None
    if separated and not _digits(fraction):
        return None
    if len(fraction) > places:
        if fraction[places:].strip("0"):
            return None
        fraction = fraction[:places]
    return sign * int(whole + fraction.ljust(places, "0"))


def _digits(text: str) -> bool:
    return text.isdigit() and text.isascii()
