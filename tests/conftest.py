"""Fixtures: both databases, a PayGov context on a fresh database, an API client, agencies."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from paygov.app import create_app
from paygov.kit import migrations
from paygov.kit.clock import Clock
from paygov.kit.context import Context
from paygov.kit.settings import Settings, new_key
from tests.factories import AgencyKeys, create_agency
from tests.pg import TEMPLATE, PostgresServer

IN_CI = os.environ.get("CI", "").lower() == "true"
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    """The session's PostgreSQL with a migrated template; None (skip) only outside CI."""
    try:
        server = PostgresServer.start()
    except Exception as exc:  # pragma: no cover - depends on the machine
        if IN_CI:
            pytest.fail(f"CI=true and PostgreSQL could not start: {exc}")
        yield None
        return
    try:
        server._run(
            "createdb", "-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", TEMPLATE
        )
        migrations.upgrade(server.url(TEMPLATE))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    migrations.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(
    backend: str, tmp_path: Path, sqlite_template: Path, postgres: PostgresServer | None
) -> AsyncIterator[str]:
    """A fresh, migrated database of the test's backend."""
    if backend == "sqlite":
        path = tmp_path / "paygov.sqlite3"
        shutil.copy(sqlite_template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    if postgres is None:
        pytest.skip("PostgreSQL server binaries not available (CI=true makes this a failure)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(
        host="127.0.0.1", port=postgres.port, user="postgres", database="postgres"
    )
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE {TEMPLATE}')
    finally:
        await admin.close()
    yield postgres.url(name)


def make_settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": database_url,
        "master_key": new_key(),
        "api_key_secret": new_key(),
        "var_dir": tmp_path,
        "public_url": "http://paygov.test",
        "rate_limit_per_second": 10_000.0,
        "rate_limit_burst": 10_000,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def cli_env(ctx: Context, **extra: str) -> dict[str, str]:
    """The environment a `paygov` subprocess needs to work on the test's database."""
    settings = ctx.settings
    assert settings.master_key is not None
    assert settings.api_key_secret is not None
    return {
        **os.environ,
        "PAYGOV_ENVIRONMENT": "test",
        "PAYGOV_DATABASE_URL": settings.database_url,
        "PAYGOV_MASTER_KEY": settings.master_key.get_secret_value(),
        "PAYGOV_API_KEY_SECRET": settings.api_key_secret.get_secret_value(),
        "PAYGOV_VAR_DIR": str(settings.var_dir),
        **extra,
    }


@pytest.fixture
async def ctx(database_url: str, tmp_path: Path) -> AsyncIterator[Context]:
    context = Context.build(make_settings(database_url, tmp_path), clock=Clock())
    yield context
    await context.close()


@pytest.fixture
async def client(ctx: Context) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(ctx)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://paygov.test") as http:
        yield http


@pytest.fixture
async def agency(ctx: Context) -> AgencyKeys:
    return await create_agency(ctx)


@pytest.fixture
async def api(client: httpx.AsyncClient, agency: AgencyKeys) -> httpx.AsyncClient:
    """The client, authenticated as the test agency."""
    client.headers["Authorization"] = f"Bearer {agency.api_key}"
    return client


SANDBOX_PROVIDERS = Path(__file__).resolve().parents[1] / "config" / "providers.sandbox.toml"


@pytest.fixture
async def sandbox_providers(ctx: Context) -> Context:
    """The sandbox providers imported into the test database (the sandbox itself not run)."""
    from paygov.providers import service as providers

    async with ctx.db.transaction() as session:
        await providers.import_catalogue(
            session,
            ctx.box,
            SANDBOX_PROVIDERS,
            at=ctx.clock.now(),
            actor="test",
            variables={"PAYGOV_SANDBOX_URL": "http://sandbox.test"},
        )
    return ctx
