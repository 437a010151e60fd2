"""One settings class for the whole service, read from `PAYGOV_*` environment variables."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

PLACEHOLDERS = {"", "changeme", "change-me", "placeholder", "secret", "xxx"}


class ConfigurationError(Exception):
    """Settings that cannot work; the message is one line an operator can act on."""


class Settings(BaseSettings):
    """Every knob of PayGov. See config/paygov.example.env for the documented list."""

    model_config = SettingsConfigDict(env_prefix="PAYGOV_", env_file=None, extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./var/paygov.sqlite3"
    var_dir: Path = Path("./var")
    public_url: str = "http://127.0.0.1:8000"

    # Secrets. In development they are generated into var/ when absent.
    master_key: SecretStr | None = None
    master_key_old: SecretStr | None = None
    api_key_secret: SecretStr | None = None

    # API behaviour
    max_body_bytes: int = 64 * 1024
    # Idempotency keys older than this are deleted by the worker, at most a batch a round.
    idempotency_retention_hours: int = 24
    idempotency_purge_batch_size: int = 1000
    rate_limit_per_second: float = 50.0
    rate_limit_burst: int = 100

    # Providers
    provider_refresh_seconds: float = 30.0
    provider_timeout_seconds: float = 10.0

    # Schedules (all injectable so tests can run days in seconds)
    expiry_grace_seconds: int = 900
    clock_offset_seconds: float = 0.0

    # Webhooks to portals (DESIGN.md §8): the wait before each retry, in seconds (a JSON
    # list in the environment); past the last one a delivery is `failed`. ≥ 3 days in all.
    webhook_retry_schedule: list[int] = [5, 300, 1800, 7200, 18000, 36000, 36000, 86400, 86400]
    # Each wait is lengthened by up to this fraction at random, so retries spread out.
    webhook_retry_jitter: float = 0.1
    webhook_timeout_seconds: float = 10.0
    # How long a claimed delivery is hidden from other workers while it is being sent.
    webhook_lease_seconds: int = 120
    webhook_batch_size: int = 50

    # Status polling of open attempts (DESIGN.md §9): the wait before each `adapter.query`,
    # in seconds (a JSON list in the environment), the first counted from the attempt's
    # start; still unknown after the last one → flagged for staff, never failed.
    attempt_poll_schedule: list[int] = [60, 300, 1800, 7200, 21600, *[86400] * 7]

    # Worker (`paygov worker`): the pause between rounds of jobs.
    worker_poll_seconds: float = 1.0
    worker_batch_size: int = 100

    # Reconciliation and reports (DESIGN.md §10): days are days of this time zone; the
    # worker reconciles yesterday at this local time; a run whose heartbeat is older than
    # the lease is taken to have died and may be restarted.
    business_timezone: str = "Asia/Ho_Chi_Minh"
    reconcile_at: str = "01:30"
    reconcile_lease_seconds: int = 600

    # Database pool
    db_pool_size: int = 20
    db_max_overflow: int = 10
    # Longest wait for any lock; also how long a duplicate idempotent request waits.
    db_lock_timeout_ms: int = 5000

    @model_validator(mode="after")
    def _refuse_placeholders(self) -> Settings:
        if self.environment == "production":
            for name in ("master_key", "api_key_secret"):
                value = getattr(self, name)
                if value is None or value.get_secret_value().strip().lower() in PLACEHOLDERS:
                    raise ConfigurationError(
                        f"PAYGOV_{name.upper()} is missing or a placeholder; "
                        "set a real secret (see config/paygov.example.env)"
                    )
        return self

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith("postgresql")

    @cached_property
    def master_key_bytes(self) -> bytes:
        return decode_key("PAYGOV_MASTER_KEY", self._secret("master_key", "master.key"))

    @cached_property
    def master_key_old_bytes(self) -> bytes | None:
        if self.master_key_old is None or not self.master_key_old.get_secret_value().strip():
            return None
        return decode_key("PAYGOV_MASTER_KEY_OLD", self.master_key_old.get_secret_value())

    @cached_property
    def api_key_secret_bytes(self) -> bytes:
        return self._secret("api_key_secret", "api_key.secret").encode()

    def _secret(self, name: str, filename: str) -> str:
        value = getattr(self, name)
        if value is not None and value.get_secret_value().strip().lower() not in PLACEHOLDERS:
            return str(value.get_secret_value())
        env_name = f"PAYGOV_{name.upper()}"
        if self.environment != "development":
            raise ConfigurationError(f"{env_name} is missing or a placeholder; set a real secret")
        path = self.var_dir / filename
        path.parent.mkdir(parents=True, exist_ok=True)
        try:  # O_EXCL: two processes starting together agree on one secret
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as file:
            file.write(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        log.warning("%s not set: generated a development secret in %s", env_name, path)
        return path.read_text().strip()


def decode_key(name: str, value: str) -> bytes:
    """A 32-byte AES key from its url-safe base64 form."""
    try:
        key = base64.urlsafe_b64decode(value.strip() + "=" * (-len(value.strip()) % 4))
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ConfigurationError(f"{name} must be 32 bytes in url-safe base64")
    return key


def new_key() -> str:
    """A fresh 32-byte key in the form the settings expect."""
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
