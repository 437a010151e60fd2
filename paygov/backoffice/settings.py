"""The back office's own settings (`PAYGOV_BACKOFFICE_*`)."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict


class BackofficeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYGOV_BACKOFFICE_", extra="ignore")

    # Refunds above this many VND wait for a second person's approval.
    approval_threshold: int = 5_000_000
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    lockout_failures: int = 5
    lockout_minutes: int = 15
    reauth_minutes: int = 5
