"""schemathesis against the running server's /openapi.json: no input yields a server error,
and every response matches the documented schema. Runs on both databases."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from paygov.kit.settings import new_key
from tests.conftest import BACKENDS
from tests.pg import TEMPLATE, PostgresServer, free_port


@pytest.fixture(scope="module", params=BACKENDS)
def live_server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
    postgres: PostgresServer | None,
) -> Iterator[tuple[str, str]]:
    """`paygov serve` in its own process on a fresh database; yields (base URL, API key)."""
    workdir = tmp_path_factory.mktemp("live")
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir}/paygov.sqlite3"
        Path(f"{workdir}/paygov.sqlite3").write_bytes(sqlite_template.read_bytes())
    else:
        if postgres is None:
            pytest.skip("PostgreSQL server binaries not available (CI=true makes this a failure)")
        postgres._run(
            "createdb",
            "-h",
            "127.0.0.1",
            "-p",
            str(postgres.port),
            "-U",
            "postgres",
            "-T",
            TEMPLATE,
            "live_openapi",
        )
        url = postgres.url("live_openapi")
    env = {
        **os.environ,
        "PAYGOV_ENVIRONMENT": "test",
        "PAYGOV_DATABASE_URL": url,
        "PAYGOV_MASTER_KEY": new_key(),
        "PAYGOV_API_KEY_SECRET": new_key(),
        "PAYGOV_RATE_LIMIT_PER_SECOND": "100000",
        "PAYGOV_RATE_LIMIT_BURST": "100000",
    }
    cli = [sys.executable, "-m", "paygov.cli"]
    created = subprocess.run(
        [
            *cli,
            "agency",
            "create",
            "--code",
            "fuzz",
            "--name",
            "Fuzz",
            "--test",
            "--return-host",
            "dvc.example.gov.vn",
            "--beneficiary",
            "0011001234567@970436",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    port = free_port()
    server = subprocess.Popen([*cli, "serve", "--port", str(port)], env=env, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base, json.loads(created.stdout)["api_key"]
    finally:
        server.terminate()
        server.wait(timeout=20)


@pytest.fixture(scope="module")
def api_schema(live_server: tuple[str, str]) -> schemathesis.BaseSchema:
    base, _ = live_server
    return schemathesis.openapi.from_url(f"{base}/openapi.json")


def test_api_never_errors_and_matches_its_schema(
    api_schema: schemathesis.BaseSchema, live_server: tuple[str, str]
) -> None:
    _, key = live_server
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 7
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def fuzz(case: schemathesis.Case) -> None:
            # Business rules (the agency's return hosts, items summing to the amount) cannot
            # live in a schema, so schema-valid data may still be refused with a 4xx.
            case.call_and_validate(
                headers={"Authorization": f"Bearer {key}"},
                excluded_checks=[checks.positive_data_acceptance],
            )

        fuzz()


def test_every_route_is_documented_with_errors(api_schema: schemathesis.BaseSchema) -> None:
    document = api_schema.raw_schema
    operations = {(path, method) for path, item in document["paths"].items() for method in item}
    assert {
        ("/v1/payments", "post"),
        ("/v1/payments", "get"),
        ("/v1/payments/{payment_id}", "get"),
        ("/v1/payments/{payment_id}/cancel", "post"),
        ("/v1/payments/{payment_id}/events", "get"),
    } <= operations
    for path, item in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in item.items():
            assert "401" in operation["responses"], (method, path)
            errors = operation["responses"]["401"]["content"]["application/json"]
            assert errors["examples"], (method, path)
