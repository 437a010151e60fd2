"""How a provider's statement file is read: its format, CSV columns and currency, from the
provider's `[provider.statement]` table (config/providers.example.toml)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from bank_adapters.base import StatementLine
from bank_adapters.statements import (
    PAYGOV_STATEMENT_CSV,
    VNPAY_SETTLEMENT_CSV,
    CsvMapping,
    read_camt053,
    read_csv,
)
from paygov.kit.errors import ValidationFailed
from paygov.providers.live import LiveProvider

FORMATS_BY_SUFFIX = {".xml": "camt053", ".csv": "csv", ".txt": "csv"}
# Built-in CSV layouts a provider may name; the default follows its protocol.
CSV_LAYOUTS = {"paygov": PAYGOV_STATEMENT_CSV, "vnpay_settlement": VNPAY_SETTLEMENT_CSV}
DEFAULT_LAYOUT = {"vnpay": "vnpay_settlement"}


class StatementConfig(BaseModel):
    """A provider's statement settings. `layout` names a built-in CSV layout; `csv` gives
    the columns of any other CSV file."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["camt053", "csv"] | None = None
    currency: str = "VND"
    layout: str | None = None
    csv: CsvMapping | None = None


def config_of(provider: LiveProvider) -> StatementConfig:
    return parse_config(provider.code, provider.statement)


def parse_config(code: str, raw: dict[str, Any] | None) -> StatementConfig:
    """Checked when providers are imported, so a bad table stops the import, not a run."""
    try:
        config = StatementConfig.model_validate(raw or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValidationFailed(
            f"provider {code}: statement.{where}: {first['msg']}", field="statement"
        ) from None
    if config.layout is not None and config.layout not in CSV_LAYOUTS:
        raise ValidationFailed(
            f"provider {code}: statement.layout must be one of {', '.join(sorted(CSV_LAYOUTS))}",
            field="statement",
        )
    return config


def currency(provider: LiveProvider) -> str:
    return config_of(provider).currency


def read(provider: LiveProvider, stream: BinaryIO, name: str) -> Iterator[StatementLine]:
    """The file's lines, streamed; the format from the provider's settings or the name."""
    mapping = csv_mapping(provider, name)
    return read_camt053(stream) if mapping is None else read_csv(stream, mapping)


def copyable(provider: LiveProvider, name: str) -> bool:
    """Whether the file may go to the database as it is (bank_adapters copyable): a CSV
    file in PayGov's layout, for a provider that settles in its currency."""
    mapping = csv_mapping(provider, name)
    return mapping == PAYGOV_STATEMENT_CSV and currency(provider) == mapping.default_currency


def csv_mapping(provider: LiveProvider, name: str) -> CsvMapping | None:
    """How the file's CSV is read; None for a camt.053 file."""
    config = config_of(provider)
    suffix = name[name.rfind(".") :].lower() if "." in name else ""
    kind = config.format or FORMATS_BY_SUFFIX.get(suffix)
    if kind is None:
        raise ValidationFailed(
            f"{name}: say the statement's format (camt053 or csv) in the provider's settings,"
            " or name the file .xml or .csv",
            field="file",
        )
    if kind == "camt053":
        return None
    layout = config.layout or DEFAULT_LAYOUT.get(provider.protocol, "paygov")
    return config.csv or CSV_LAYOUTS[layout]
