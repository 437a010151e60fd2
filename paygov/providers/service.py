"""Configuring providers and turning them into live adapter instances."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from string import Template
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from paygov.audit import service as audit
from paygov.kit.crypto import SecretBox
from paygov.kit.errors import ValidationFailed
from paygov.kit.money import MAX_AMOUNT
from paygov.kit.settings import ConfigurationError
from paygov.providers import registry, repository
from paygov.providers.live import CONFIG_PURPOSE, LiveProvider, ProviderNotFound
from paygov.providers.models import Provider
from paygov.reconciliation import sources


def read_catalogue(path: Path, variables: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The `[[provider]]` tables of a providers TOML file, checked against their adapters.

    `${NAME}` in the file is replaced from `variables`, then from the environment.
    """
    try:
        text = Template(path.read_text(encoding="utf-8"))
        document = tomllib.loads(text.safe_substitute({**os.environ, **(variables or {})}))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"{path}: {exc}") from None
    entries = document.get("provider", [])
    for entry in entries:
        for key in ("code", "protocol", "name", "mode", "max_amount", "config"):
            if key not in entry:
                raise ConfigurationError(f"{path}: a provider lacks {key!r}")
        if entry["mode"] not in ("test", "live"):
            raise ConfigurationError(f"{path}: provider {entry['code']!r}: mode must be test|live")
        if not 0 < int(entry["max_amount"]) <= MAX_AMOUNT:
            raise ConfigurationError(f"{path}: provider {entry['code']!r}: bad max_amount")
        registry.parse_config(entry["protocol"], entry["code"], entry["config"])
    return list(entries)


async def import_catalogue(
    session: AsyncSession,
    box: SecretBox,
    path: Path,
    *,
    at: datetime,
    actor: str,
    variables: Mapping[str, str] | None = None,
) -> list[Provider]:
    """Create or update every provider of the file; credentials are sealed at rest."""
    saved = []
    for entry in read_catalogue(path, variables):
        provider = await repository.get(session, entry["code"])
        sealed = box.encrypt_json(entry["config"], CONFIG_PURPOSE)
        if provider is None:
            provider = Provider(code=entry["code"], created_at=at)
            repository.add(session, provider)
            action = "provider.created"
        else:
            action = "provider.updated"
        provider.protocol = entry["protocol"]
        provider.name = entry["name"]
        provider.mode = entry["mode"]
        provider.enabled = bool(entry.get("enabled", True))
        provider.max_amount = int(entry["max_amount"])
        provider.config_sealed = sealed
        statement = entry.get("statement")
        sources.parse_config(entry["code"], statement)  # a bad table stops the import here
        provider.statement = statement
        provider.updated_at = at
        await session.flush()
        await audit.record(
            session,
            at=at,
            actor=actor,
            action=action,
            subject_type="provider",
            subject_id=provider.code,
            details={
                "protocol": provider.protocol,
                "mode": provider.mode,
                "enabled": provider.enabled,
                "max_amount": provider.max_amount,
            },
        )
        saved.append(provider)
    return saved


async def set_enabled(
    session: AsyncSession, code: str, enabled: bool, *, at: datetime, actor: str
) -> Provider:
    provider = await repository.get(session, code)
    if provider is None:
        raise ProviderNotFound(field="code")
    provider.enabled = enabled
    provider.updated_at = at
    await audit.record(
        session,
        at=at,
        actor=actor,
        action="provider.enabled" if enabled else "provider.disabled",
        subject_type="provider",
        subject_id=code,
        details={},
    )
    return provider


async def list_providers(session: AsyncSession) -> list[Provider]:
    return await repository.all_providers(session)


def check_amount(provider: LiveProvider, amount: int) -> None:
    if amount > provider.max_amount:
        raise ValidationFailed(
            f"{provider.name} accepts at most {provider.max_amount} VND",
            field="provider",
            code="amount_above_provider_limit",
        )
