"""What every edge needs, built once per process: settings, database, clock, secrets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from paygov.kit.clock import Clock
from paygov.kit.crypto import SecretBox
from paygov.kit.db import Database, create_engine
from paygov.kit.ratelimit import RateLimiter
from paygov.kit.settings import Settings
from paygov.providers.live import ProviderSet


@dataclass
class Context:
    settings: Settings
    db: Database
    clock: Clock
    box: SecretBox
    limiter: RateLimiter = field(repr=False)
    providers: ProviderSet = field(repr=False)

    @classmethod
    def build(cls, settings: Settings | None = None, clock: Clock | None = None) -> Context:
        settings = settings or Settings()
        engine = create_engine(
            settings.database_url,
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
            lock_timeout_ms=settings.db_lock_timeout_ms,
        )
        return cls(
            settings=settings,
            db=Database(engine),
            clock=clock or Clock(timedelta(seconds=settings.clock_offset_seconds)),
            box=SecretBox(settings.master_key_bytes, settings.master_key_old_bytes),
            limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
            providers=ProviderSet(
                settings.provider_refresh_seconds, settings.provider_timeout_seconds
            ),
        )

    async def close(self) -> None:
        await self.providers.close()
        await self.db.dispose()
