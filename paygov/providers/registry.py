"""Finding adapter classes through the `paygov.bank_adapters` entry-point group."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from bank_adapters.base import Adapter, AdapterConfig
from paygov.kit.settings import ConfigurationError

GROUP = "paygov.bank_adapters"


@cache
def available() -> dict[str, str]:
    """Protocol name → entry-point target, for every installed adapter."""
    return {point.name: point.value for point in entry_points(group=GROUP)}


@cache
def adapter_class(protocol: str) -> type[Adapter]:  # type: ignore[type-arg]
    """The adapter class of a protocol, or one clear line saying why it cannot load."""
    points = [point for point in entry_points(group=GROUP) if point.name == protocol]
    if not points:
        known = ", ".join(sorted(available())) or "none"
        raise ConfigurationError(
            f"no adapter for protocol {protocol!r} in entry-point group {GROUP} "
            f"(installed: {known})"
        )
    try:
        loaded = points[0].load()
    except Exception as exc:
        raise ConfigurationError(
            f"adapter for protocol {protocol!r} ({points[0].value}) failed to load: {exc}"
        ) from exc
    if not (isinstance(loaded, type) and issubclass(loaded, Adapter)):
        raise ConfigurationError(f"{points[0].value} is not a bank adapter class")
    return loaded


def parse_config(protocol: str, code: str, raw: dict[str, Any]) -> AdapterConfig:
    """A provider's settings checked by its adapter's pydantic Config."""
    cls = adapter_class(protocol)
    try:
        return cls.Config.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigurationError(f"provider {code!r}: config.{where}: {first['msg']}") from None
