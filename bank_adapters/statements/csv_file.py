"""CSV statements read through a per-provider column mapping (DESIGN.md §10).

A `CsvMapping` says where each field is and how values are written; `read_csv` streams the
file (csv over io.TextIOWrapper) and turns each row into a StatementLine. The mapping is
checked once and compiled into column positions and converters, so the per-row work is
plain string operations: no regex, no pydantic, no Decimal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Annotated, BinaryIO, Final, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bank_adapters.base import StatementKind, StatementLine
from bank_adapters.statements.amounts import MAX_DIGITS, decimals, expected, minor_units
from bank_adapters.statements.errors import StatementError

if TYPE_CHECKING:
    from _csv import Reader

SCALE: Final = (1, 10, 100, 1_000, 10_000)  # 10 ** decimals, for 0-4 decimals
CACHE: Final = 1 << 16  # entries of each conversion cache: bounded memory
ISO: Final = "iso"  # date_format for ISO 8601 (datetime.fromisoformat)
# strptime directives of fixed width that the fast path slices instead of parsing.
FIXED: Final = {"%Y": 4, "%m": 2, "%d": 2, "%H": 2, "%M": 2, "%S": 2}
DIGITS: Final = str.maketrans("123456789", "000000000")  # every ASCII digit → 0
# The fields a mapping places, each by its `<field>_column`.
FIELDS: Final = (
    *("booked_at", "amount", "debit", "credit", "fee"),
    *("txn_ref", "memo", "provider_txn_id", "currency", "type"),
)

Column = Annotated[str, Field(min_length=1)] | Annotated[int, Field(ge=1)]
"""A column by its header name, or by its position counted from 1 (as a spreadsheet does)."""


class CsvMapping(BaseModel):
    """How one provider writes its CSV statement.

    Amounts: one signed `amount_column` (credits positive, debits negative), or a
    `debit_column`/`credit_column` pair of positive amounts (an empty cell is 0). Numbers
    are written with `decimal_separator` and optionally `thousands_separator` (groups of 3
    are checked, so `150000.00` is never read as `15000000` by a `.`-grouping mapping) and
    converted to the currency's minor unit (VND 0 decimals, EUR 2).

    Types: with a `type_column`, `type_values` maps each value the file uses to a kind;
    any other value is an error. A `refund` or `fee` row written as a positive number is
    a debit: its amount is made negative. A `fee` row's fee is its amount when the fee
    column says nothing. Fees are positive in the file.

    Times: `date_format` is `"iso"` (ISO 8601) or a strptime format; a time written
    without an offset is in `timezone`. Lines carry aware UTC times.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    encoding: str = "utf-8-sig"  # utf-8-sig also reads plain UTF-8
    delimiter: str = Field(",", min_length=1, max_length=1)
    has_header: bool = True  # False: every column is given by its position
    skip_rows: int = Field(0, ge=0)  # rows before the header (titles of an export)
    booked_at_column: Column
    amount_column: Column | None = None
    debit_column: Column | None = None
    credit_column: Column | None = None
    fee_column: Column | None = None
    txn_ref_column: Column | None = None
    memo_column: Column | None = None
    provider_txn_id_column: Column | None = None
    currency_column: Column | None = None
    type_column: Column | None = None
    ignored_columns: tuple[str, ...] = ()  # header names the file has and PayGov skips
    date_format: str = ISO
    timezone: str = "Asia/Ho_Chi_Minh"
    decimal_separator: str = Field(".", min_length=1, max_length=1)
    thousands_separator: str = Field("", max_length=1)
    default_currency: str = "VND"  # when there is no currency column
    type_values: dict[str, StatementKind] = Field(default_factory=dict)

    def columns(self) -> dict[str, Column]:
        """The mapped columns by field (`amount`, `debit`, ...), unmapped ones left out."""
        found = {name: getattr(self, f"{name}_column") for name in FIELDS}
        return {name: column for name, column in found.items() if column is not None}

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        columns = self.columns()
        if ("amount" in columns) == ("debit" in columns or "credit" in columns):
            raise ValueError("give amount_column, or debit_column and credit_column")
        if ("debit" in columns) != ("credit" in columns):
            raise ValueError("debit_column and credit_column go together")
        if len(set(columns.values())) != len(columns):
            raise ValueError("two fields are mapped to the same column")
        if ("type" in columns) != bool(self.type_values):
            raise ValueError("type_column and type_values go together")
        if not self.has_header and (self.ignored_columns or _named(columns)):
            raise ValueError("without a header, columns are positions and none is ignored")
        if self.decimal_separator == self.thousands_separator:
            raise ValueError("decimal_separator and thousands_separator must differ")
        if decimals(self.default_currency) is None:
            raise ValueError(f"default_currency {self.default_currency!r} is not a code")
        if self.date_format != ISO and "%" not in self.date_format:
            raise ValueError('date_format is "iso" or a strptime format')
        try:
            "".encode(self.encoding)  # LookupError: unknown, or not a text encoding
        except LookupError:
            raise ValueError(f"encoding {self.encoding!r} is not a text encoding") from None
        _zone(self.timezone)
        return self


def _named(columns: dict[str, Column]) -> list[str]:
    return [c for c in columns.values() if isinstance(c, str)]


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}") from None


def read_csv(stream: BinaryIO, mapping: CsvMapping) -> Iterator[StatementLine]:
    """The lines of a CSV statement, read as the stream goes; StatementError if it is not one.

    Errors name the line (counted from 1, header included) and the column:
    `line 17, column "amount": "12a" is not a whole number of VND`. Empty rows are
    skipped. The stream is left open.
    """
    text = io.TextIOWrapper(stream, encoding=mapping.encoding, newline="")
    reader = csv.reader(text, delimiter=mapping.delimiter, strict=True)
    try:
        layout = _Layout.read(reader, mapping)
        yield from layout.lines(reader)
    except UnicodeDecodeError as exc:
        # The decoder fails on the chunk that starts within the line being read; the bad
        # byte is as many lines further as the chunk has newlines before it.
        line = reader.line_num + 1 + exc.object[: exc.start].count(b"\n")
        raise StatementError(
            f"line {line}", f"not {mapping.encoding} text ({exc.reason})"
        ) from None
    except csv.Error as exc:
        raise StatementError(f"line {reader.line_num}", f"not CSV: {exc}") from None
    finally:
        text.detach()  # the caller's stream is not ours to close


class _CellError(Exception):
    def __init__(self, column: str, problem: str) -> None:
        self.column = column
        self.problem = problem


class _Layout:
    """A mapping applied to one file, resolved before row 1: positions (from 0, -1 for an
    unmapped field), labels for messages, converters. `line` is the hot path: fields are
    read from slots by position, no per-field dispatch, no pydantic."""

    __slots__ = (
        *("mapping", "width", "needed", "labels", "parse_time", "parse_number"),
        *("places", "time_at", "amount_at", "debit_at", "credit_at", "fee_at", "ref_at"),
        *("memo_at", "id_at", "currency_at", "type_at"),
    )

    def __init__(self, mapping: CsvMapping, width: int | None, positions: dict[str, int]) -> None:
        self.mapping = mapping
        self.width = width  # the header's; None: the first row's (no header)
        self.needed = max(positions.values()) + 1
        self.labels = {
            name: f'column "{column}"' if isinstance(column, str) else f"column {column}"
            for name, column in mapping.columns().items()
        }
        # Times and amounts repeat across a day's rows; a bounded cache of each conversion
        # (text → value, pure functions) saves most of their cost.
        self.parse_time = lru_cache(CACHE)(_utc_parser(mapping.date_format, mapping.timezone))
        self.parse_number = lru_cache(CACHE)(
            _number_parser(mapping.decimal_separator, mapping.thousands_separator)
        )
        self.places = {mapping.default_currency: decimals(mapping.default_currency) or 0}
        self.time_at = positions["booked_at"]
        self.amount_at, self.debit_at, self.credit_at, self.fee_at, self.ref_at = (
            positions.get(name, -1) for name in ("amount", "debit", "credit", "fee", "txn_ref")
        )
        self.memo_at, self.id_at, self.currency_at, self.type_at = (
            positions.get(name, -1) for name in ("memo", "provider_txn_id", "currency", "type")
        )

    @classmethod
    def read(cls, reader: Reader, mapping: CsvMapping) -> _Layout:
        """The layout, after skipping `skip_rows` and reading the header if there is one."""
        for _ in range(mapping.skip_rows):
            next(reader, None)
        names: dict[str, int] = {}
        width = None
        if mapping.has_header:
            header = next(reader, None)
            if header is None:
                raise StatementError(f"line {reader.line_num + 1}", "no header row")
            names = _header_positions(header, mapping, reader.line_num)
            width = len(header)
        positions = {
            name: names[column] if isinstance(column, str) else column - 1
            for name, column in mapping.columns().items()
        }
        layout = cls(mapping, width, positions)
        if width is not None and layout.needed > width:
            problem = f"the header has {width} columns, the mapping reads column {layout.needed}"
            raise StatementError(f"line {reader.line_num}", problem)
        return layout

    def lines(self, reader: Reader) -> Iterator[StatementLine]:
        """Every non-empty row as a line; the first error stops the file."""
        width, needed, line_of = self.width, self.needed, self.line
        previous = reader.line_num
        for row in reader:
            line, previous = previous + 1, reader.line_num
            if not any(row):
                continue
            if width is None:  # no header: the first row sets the width
                width = len(row)
            if len(row) != width or width < needed:
                expected_width = width if len(row) != width else needed
                raise StatementError(
                    f"line {line}", f"{len(row)} columns where {expected_width} are expected"
                )
            try:
                yield line_of(row)
            except _CellError as exc:
                raise StatementError(f"line {line}, {exc.column}", exc.problem) from None

    def line(self, row: list[str]) -> StatementLine:
        """One row as a StatementLine (raises _CellError)."""
        currency = self.mapping.default_currency
        if self.currency_at >= 0:
            currency = self.currency(row[self.currency_at].strip())
        kind = None if self.type_at < 0 else self.kind(row[self.type_at].strip())
        if self.amount_at >= 0:
            amount = self.number(row, self.amount_at, "amount", currency)
        else:
            amount = self.debit_credit(row, currency)
        fee = 0 if self.fee_at < 0 else self.number(row, self.fee_at, "fee", currency)
        if kind is not None:
            amount, fee = _by_kind(kind, amount, fee)
        return StatementLine(
            self.booked_at(row[self.time_at].strip()),
            amount,
            row[self.ref_at].strip() or None if self.ref_at >= 0 else None,
            row[self.memo_at].strip() or None if self.memo_at >= 0 else None,
            row[self.id_at].strip() or None if self.id_at >= 0 else None,
            fee,
            False,
            currency,
            kind,
        )

    # -- one field each ----------------------------------------------------------------

    def currency(self, code: str) -> str:
        if code not in self.places:
            places = decimals(code)
            if places is None:
                raise _CellError(self.labels["currency"], f'"{code}" is not an ISO 4217 code')
            self.places[code] = places
        return code

    def kind(self, value: str) -> StatementKind:
        kind = self.mapping.type_values.get(value)
        if kind is None:
            known = ", ".join(f'"{v}"' for v in self.mapping.type_values)
            raise _CellError(self.labels["type"], f'"{value}" is not one of {known}')
        return kind

    def debit_credit(self, row: list[str], currency: str) -> int:
        debit = self.number(row, self.debit_at, "debit", currency)
        credit = self.number(row, self.credit_at, "credit", currency)
        if debit and credit:
            raise _CellError(self.labels["debit"], f"and {self.labels['credit']} are both set")
        return credit - debit

    def number(self, row: list[str], position: int, name: str, currency: str) -> int:
        """A column's amount in minor units. An empty debit, credit or fee cell is 0; those
        columns hold positive amounts."""
        text = row[position].strip()
        if not text and name != "amount":
            return 0
        value = self.parse_number(text, self.places[currency])
        if value is None:
            raise _CellError(self.labels[name], f'"{text}" is not {expected(currency)}')
        if value < 0 and name != "amount":
            raise _CellError(self.labels[name], f'"{text}" is negative: write it as positive')
        return value

    def booked_at(self, text: str) -> datetime:
        try:
            return self.parse_time(text)
        except ValueError:
            like = "ISO 8601" if self.mapping.date_format == ISO else self.mapping.date_format
            problem = f'"{text}" is not a time like {like}'
            raise _CellError(self.labels["booked_at"], problem) from None


def _by_kind(kind: StatementKind, amount: int, fee: int) -> tuple[int, int]:
    """The type column's rule: a refund or fee written positive is a debit; a fee row
    with no fee of its own is a fee of its amount."""
    if kind in ("refund", "fee") and amount > 0:
        amount = -amount
    if kind == "fee" and not fee:
        fee = -amount
    return amount, fee


def _header_positions(header: list[str], mapping: CsvMapping, line: int) -> dict[str, int]:
    """Column positions by header name; StatementError for duplicates, unknown, missing."""
    names = [cell.strip() for cell in header]
    wanted = set(_named(mapping.columns()))
    known = wanted | set(mapping.ignored_columns)
    for position, name in enumerate(names):
        if name in names[:position]:
            raise StatementError(f"line {line}", f'column "{name}" appears twice')
        if name not in known:
            raise StatementError(f"line {line}", f'unknown column "{name}"')
    missing = [name for name in wanted if name not in names]
    if missing:
        raise StatementError(f"line {line}", f'missing column "{sorted(missing)[0]}"')
    return {name: position for position, name in enumerate(names)}


def _number_parser(point: str, grouping: str) -> Callable[[str, int], int | None]:
    """`(text, places) -> minor units or None` for one mapping's separators.

    Grouped numbers must group by exactly 3 (`1.234.567`), checked against a template so
    that `150000.00` is never taken for `15000000` under a `.` grouping.
    """
    templates = {size: f"{10 ** (size - 1):,}".replace(",", grouping) for size in range(1, 19)}

    def number(text: str, places: int) -> int | None:
        if text.isdigit() and text.isascii() and len(text) <= MAX_DIGITS:
            return int(text) * SCALE[places]  # the common case: a plain whole number
        if grouping and grouping in text:
            sign = text[0] if text[0] in "+-" else ""
            whole, separated, fraction = text[len(sign) :].partition(point)
            digits = whole.replace(grouping, "")
            pattern = templates.get(len(digits), "").translate(DIGITS)
            if whole.translate(DIGITS) != pattern:
                return None
            text = sign + digits + separated + fraction
        return minor_units(text, places, point)

    return number


def _utc_parser(date_format: str, timezone: str) -> Callable[[str], datetime]:
    """`text -> aware UTC datetime`; a time written without an offset is in `timezone`."""
    parse, zone = _time_parser(date_format), _zone(timezone)

    def utc(text: str) -> datetime:
        moment = parse(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        return moment.astimezone(UTC)

    return utc


def _time_parser(date_format: str) -> Callable[[str], datetime]:
    """A parser for `date_format`: fromisoformat, fixed-width slicing, or strptime.

    strptime costs microseconds a call (a regex inside); a format made only of `%Y %m %d
    %H %M %S` and literals is sliced at known offsets instead, after one check of the
    text's shape, strptime judging whatever does not fit (`1/2/2026`): both read the
    same texts the same way.
    """
    if date_format == ISO:
        return datetime.fromisoformat
    shape = _shape(date_format)
    if shape is None:
        return lambda text: datetime.strptime(text, date_format)
    template, slices = shape
    year, month, day, hour, minute, second = (slices.get(d, slice(0, 0)) for d in FIXED)

    def parse(text: str) -> datetime:
        if text.translate(DIGITS) != template:
            return datetime.strptime(text, date_format)
        return datetime(
            int(text[year]),
            int(text[month]),
            int(text[day]),
            int(text[hour] or 0),
            int(text[minute] or 0),
            int(text[second] or 0),
        )

    return parse


def _shape(date_format: str) -> tuple[str, dict[str, slice]] | None:
    """The text a fixed-width format gives with every digit written `0`, and where each
    field is; None unless every directive is fixed-width and the date is complete."""
    template: list[str] = []
    slices: dict[str, slice] = {}
    index = 0
    while index < len(date_format):
        piece = date_format[index : index + 2] if date_format[index] == "%" else date_format[index]
        if len(piece) == 2:
            if piece not in FIXED or piece in slices:
                return None
            offset = len(template)
            slices[piece] = slice(offset, offset + FIXED[piece])
            template += "0" * FIXED[piece]
        elif piece.isdigit():
            return None  # a literal digit would be taken for a field
        else:
            template.append(piece)
        index += len(piece)
    return ("".join(template), slices) if {"%Y", "%m", "%d"} <= slices.keys() else None
