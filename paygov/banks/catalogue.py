"""The bank catalogue (config/banks.toml) and the ways to pay it opens at checkout.

A bank is what a citizen knows ("Vietcombank"); a provider is what PayGov talks to
("vnpay-sandbox"). `ways_to_pay` joins the two: VietQR from any bank app, then for each
bank the offered providers it can pay through (its own direct API, VNPay with its code).
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from paygov.kit.settings import ConfigurationError
from paygov.providers.live import LiveProvider

DEFAULT_PATH = Path(__file__).resolve().parents[2] / "config" / "banks.toml"

CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,15}$")  # fits Attempt.bank, never holds ":"
BIN = re.compile(r"^[0-9]{6}$")
COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")
REQUIRED = {"name": str, "short_name": str, "code": str, "bin": str, "vnpay": bool}
OPTIONAL = {"direct", "color", "popular", "badge", "aliases"}
MAX_BADGE = 7

RouteKind = Literal["vietqr", "direct", "vnpay"]


@dataclass(frozen=True)
class Bank:
    """A NAPAS member bank as a citizen knows it."""

    name: str
    short_name: str
    code: str
    bin: str
    vnpay: bool
    direct: tuple[str, ...]
    color: str
    popular: bool = False
    badge: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def badge_text(self) -> str:
        return self.badge or self.code.split("-")[0][:MAX_BADGE]

    @property
    def text_color(self) -> str:
        """Black or white, whichever reads better on the badge colour (WCAG contrast)."""
        luminance = _luminance(self.color)
        on_white = (1.05) / (luminance + 0.05)
        on_black = (luminance + 0.05) / 0.05
        return "#ffffff" if on_white >= on_black else "#111111"

    @property
    def search_text(self) -> str:
        """Every name the bank goes by, folded for a diacritic-blind search."""
        return fold(" ".join([self.short_name, self.name, self.code, *self.aliases]))


@dataclass(frozen=True)
class Catalogue:
    banks: tuple[Bank, ...]
    by_code: dict[str, Bank] = field(repr=False)
    by_bin: dict[str, Bank] = field(repr=False)

    @classmethod
    def of(cls, banks: Iterable[Bank]) -> Catalogue:
        listed = tuple(banks)
        return cls(listed, {b.code: b for b in listed}, {b.bin: b for b in listed})


@dataclass(frozen=True)
class Route:
    """One way to pay: the form value the citizen posts, the provider, and the bank."""

    method: str
    kind: RouteKind
    provider: LiveProvider
    bank_code: str | None = None


@dataclass(frozen=True)
class BankWays:
    bank: Bank
    routes: tuple[Route, ...]


@dataclass(frozen=True)
class WaysToPay:
    """What checkout offers for one payment: VietQR first, then the banks."""

    vietqr: tuple[Route, ...]
    banks: tuple[BankWays, ...]

    @property
    def popular(self) -> tuple[BankWays, ...]:
        return tuple(ways for ways in self.banks if ways.bank.popular)

    @property
    def others(self) -> tuple[BankWays, ...]:
        return tuple(ways for ways in self.banks if not ways.bank.popular)

    @property
    def empty(self) -> bool:
        return not self.vietqr and not self.banks

    def route(self, method: str) -> Route | None:
        """The offered route a posted `method` names, or None (unknown or not offered)."""
        for route in self.vietqr:
            if route.method == method:
                return route
        for ways in self.banks:
            for route in ways.routes:
                if route.method == method:
                    return route
        return None


def fold(text: str) -> str:
    """Lower case without diacritics: "Ngân hàng Đông Á" → "ngan hang dong a"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()


def _luminance(color: str) -> float:
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def parse_catalogue(document: dict[str, Any], source: str = "banks.toml") -> Catalogue:
    """Check every `[[bank]]` table; the first problem is one line naming the bank."""
    entries = document.get("bank")
    if not isinstance(entries, list) or not entries:
        raise ConfigurationError(f"{source}: no [[bank]] tables")
    banks = [_bank(entry, index, source) for index, entry in enumerate(entries, start=1)]
    for attribute in ("code", "bin"):
        seen: set[str] = set()
        for bank in banks:
            value = getattr(bank, attribute)
            if value in seen:
                raise ConfigurationError(f"{source}: {attribute} {value!r} is listed twice")
            seen.add(value)
    return Catalogue.of(banks)


def _bank(entry: Any, index: int, source: str) -> Bank:
    if not isinstance(entry, dict):
        raise ConfigurationError(f"{source}: bank #{index} is not a table")
    where = f"{source}: bank #{index} ({entry.get('code', '?')})"
    for key, kind in REQUIRED.items():
        if not isinstance(entry.get(key), kind):
            raise ConfigurationError(f"{where}: {key!r} is missing or not a {kind.__name__}")
    unknown = set(entry) - set(REQUIRED) - OPTIONAL
    if unknown:
        raise ConfigurationError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    if not CODE.match(entry["code"]):
        raise ConfigurationError(f"{where}: code must be 2-16 of A-Z 0-9 -")
    if not BIN.match(entry["bin"]):
        raise ConfigurationError(f"{where}: bin must be 6 digits")
    color = entry.get("color", "#44546A")
    if not isinstance(color, str) or not COLOR.match(color):
        raise ConfigurationError(f"{where}: color must be #RRGGBB")
    direct = entry.get("direct", [])
    aliases = entry.get("aliases", [])
    for key, value in (("direct", direct), ("aliases", aliases)):
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise ConfigurationError(f"{where}: {key} must be a list of strings")
    badge = entry.get("badge", "")
    if not isinstance(badge, str) or len(badge) > MAX_BADGE:
        raise ConfigurationError(f"{where}: badge must be at most {MAX_BADGE} characters")
    if not isinstance(entry.get("popular", False), bool):
        raise ConfigurationError(f"{where}: popular must be true or false")
    if not entry["name"].strip() or not entry["short_name"].strip():
        raise ConfigurationError(f"{where}: name and short_name must not be empty")
    return Bank(
        name=entry["name"].strip(),
        short_name=entry["short_name"].strip(),
        code=entry["code"],
        bin=entry["bin"],
        vnpay=entry["vnpay"],
        direct=tuple(direct),
        color=color.upper(),
        popular=entry.get("popular", False),
        badge=badge,
        aliases=tuple(aliases),
    )


def read_catalogue(path: Path) -> Catalogue:
    """Read and check a banks TOML file; anything wrong is a ConfigurationError."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{path}: {exc}") from None
    return parse_catalogue(document, str(path))


@cache
def load_catalogue(path: Path = DEFAULT_PATH) -> Catalogue:
    """The catalogue, read once per process."""
    return read_catalogue(path)


def _display_order(banks: tuple[Bank, ...]) -> list[Bank]:
    """Popular banks in the file's order (curated: the big state banks first), then the
    rest A-Z: most citizens find their bank at a glance, the others by name or search."""
    popular = [bank for bank in banks if bank.popular]
    others = sorted((bank for bank in banks if not bank.popular), key=lambda b: fold(b.short_name))
    return popular + others


def ways_to_pay(catalogue: Catalogue, offered: list[LiveProvider]) -> WaysToPay:
    """VietQR through any offered vietqr provider, then each bank with its offered routes:
    its own direct signed_json providers first, then VNPay. A bank with none is left out."""
    vietqr = tuple(
        Route(f"vietqr:{p.code}", "vietqr", p)
        for p in sorted(offered, key=lambda p: p.code)
        if p.protocol == "vietqr"
    )
    by_code = {p.code: p for p in offered}
    vnpay = sorted((p for p in offered if p.protocol == "vnpay"), key=lambda p: p.code)
    banks: list[BankWays] = []
    for bank in _display_order(catalogue.banks):
        routes = [
            Route(f"bank:{bank.code}:{code}", "direct", by_code[code], bank.code)
            for code in bank.direct
            if code in by_code and by_code[code].protocol == "signed_json"
        ]
        if bank.vnpay:
            routes += [Route(f"bank:{bank.code}:{p.code}", "vnpay", p, bank.code) for p in vnpay]
        if routes:
            banks.append(BankWays(bank, tuple(routes)))
    return WaysToPay(vietqr, tuple(banks))


def bank_rows(catalogue: Catalogue | None = None) -> list[dict[str, str]]:
    """One row per bank for `paygov banks` (code, BIN, names, routes), catalogue order."""
    listed = catalogue or load_catalogue()
    return [
        {
            "code": bank.code,
            "bin": bank.bin,
            "short_name": bank.short_name,
            "name": bank.name,
            "vnpay": "yes" if bank.vnpay else "no",
            "direct": ", ".join(bank.direct),
        }
        for bank in listed.banks
    ]
