"""Providers as a process uses them: adapter instances with their circuit breakers."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from bank_adapters.base import Adapter
from paygov.kit.circuit import CircuitBreaker
from paygov.kit.crypto import SecretBox
from paygov.kit.errors import NotFound
from paygov.providers import registry, repository

CONFIG_PURPOSE = "provider-config"


class ProviderNotFound(NotFound):
    code = "provider_not_found"
    message = "No provider with this code."


@dataclass
class LiveProvider:
    """A provider ready to use: its row's facts, its adapter, its circuit breaker."""

    code: str
    protocol: str
    name: str
    mode: str
    enabled: bool
    max_amount: int
    adapter: Adapter  # type: ignore[type-arg]
    # How its statements are read (format, CSV columns, currency); None: the defaults.
    statement: dict[str, Any] | None = None
    breaker: CircuitBreaker = field(default_factory=CircuitBreaker)

    @property
    def clearing_account(self) -> str:
        return f"clearing:{self.code}"

    def accepts(self, mode: str, amount: int) -> bool:
        return self.enabled and self.mode == mode and amount <= self.max_amount

    def offered(self, mode: str, amount: int) -> bool:
        """Shown at checkout: enabled, same mode, accepts the amount, circuit not open."""
        return self.accepts(mode, amount) and self.breaker.available


class ProviderSet:
    """The process's providers, loaded from the database and refreshed now and then."""

    def __init__(self, ttl_seconds: float = 30.0, timeout_seconds: float = 10.0) -> None:
        self.ttl = ttl_seconds
        self.loaded_at: float | None = None
        self.by_code: dict[str, LiveProvider] = {}
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=3.0), follow_redirects=False
        )

    async def refresh(self, session: AsyncSession, box: SecretBox, *, force: bool = False) -> None:
        if (
            not force
            and self.loaded_at is not None
            and time.monotonic() - self.loaded_at < self.ttl
        ):
            return
        fresh: dict[str, LiveProvider] = {}
        for row in await repository.all_providers(session):
            raw = box.decrypt_json(row.config_sealed, CONFIG_PURPOSE)
            config = registry.parse_config(row.protocol, row.code, raw)
            adapter = registry.adapter_class(row.protocol)(row.code, config, self.http)
            previous = self.by_code.get(row.code)
            fresh[row.code] = LiveProvider(
                code=row.code,
                protocol=row.protocol,
                name=row.name,
                mode=row.mode,
                enabled=row.enabled,
                max_amount=row.max_amount,
                adapter=adapter,
                statement=row.statement,
                breaker=previous.breaker if previous else CircuitBreaker(),
            )
        self.by_code = fresh
        self.loaded_at = time.monotonic()

    def get(self, code: str) -> LiveProvider:
        provider = self.by_code.get(code)
        if provider is None:
            raise ProviderNotFound(field="provider")
        return provider

    def offered(self, mode: str, amount: int) -> list[LiveProvider]:
        return [p for p in self.by_code.values() if p.offered(mode, amount)]

    async def close(self) -> None:
        await self.http.aclose()
