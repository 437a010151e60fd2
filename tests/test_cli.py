"""The `paygov` command as an operator uses it: JSON out, one clear line on bad input."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from paygov.kit.context import Context
from paygov.kit.settings import new_key
from tests.conftest import cli_env
from tests.factories import payment_body


def paygov(ctx_or_env: Context | dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(ctx_or_env) if isinstance(ctx_or_env, Context) else ctx_or_env
    return subprocess.run(
        [sys.executable, "-m", "paygov.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


CREATE = [
    "agency",
    "create",
    "--code",
    "qn-dvc",
    "--name",
    "Cổng DVC Quảng Ninh",
    "--return-host",
    "dichvucong.quangninh.gov.vn",
    "--return-host",
    "dvc.example.gov.vn",
    "--beneficiary",
    "0011001234567@970436",
    "--beneficiary",
    "123456789@970415",
]


class TestAgencyCommands:
    async def test_create_prints_agency_key_and_secret(
        self, ctx: Context, client: httpx.AsyncClient
    ) -> None:
        result = paygov(ctx, *CREATE, "--test")
        assert result.returncode == 0, result.stderr
        created = json.loads(result.stdout)
        assert created["agency_id"].startswith("agy_")
        assert created["mode"] == "test"
        assert created["api_key"].startswith("pk_test_")
        secret = created["webhook_secret"]
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret[6:])) >= 24
        assert [b["default"] for b in created["beneficiary_accounts"]] == [True, False]

        response = await client.post(
            "/v1/payments",
            json=payment_body(),
            headers={"Authorization": f"Bearer {created['api_key']}"},
        )
        assert response.status_code == 201
        assert response.json()["items"][0]["beneficiary_account"] == "0011001234567"

        listed = json.loads(paygov(ctx, "agency", "list").stdout)
        assert [agency["code"] for agency in listed] == ["qn-dvc"]

    async def test_live_agency_gets_live_key(self, ctx: Context) -> None:
        result = paygov(ctx, *CREATE)
        assert json.loads(result.stdout)["api_key"].startswith("pk_live_")

    async def test_duplicate_code_is_one_line(self, ctx: Context) -> None:
        paygov(ctx, *CREATE, "--test")
        line = one_line_error(paygov(ctx, *CREATE, "--test"))
        assert line == "paygov: An agency with this code already exists."

    @pytest.mark.parametrize(
        ("args", "expected"),
        [
            (["--beneficiary", "not-an-account"], "must be ACCOUNT@BIN"),
            (["--return-host", "bad host!"], "is not a host name"),
            (["--code", "A B"], "agency code must be"),
        ],
    )
    async def test_bad_values_are_one_line(
        self, ctx: Context, args: list[str], expected: str
    ) -> None:
        line = one_line_error(paygov(ctx, *CREATE, *args, "--test"))
        assert expected in line

    async def test_missing_arguments_are_one_line(self, ctx: Context) -> None:
        result = paygov(ctx, "agency", "create", "--code", "x")
        assert result.returncode == 2
        assert "required: --name, --return-host" in one_line_error(result)


class TestApiKeyCommands:
    async def test_create_list_revoke(self, ctx: Context, client: httpx.AsyncClient) -> None:
        paygov(ctx, *CREATE, "--test")
        new_key = json.loads(paygov(ctx, "apikey", "create", "--agency", "qn-dvc").stdout)[
            "api_key"
        ]
        keys = json.loads(paygov(ctx, "apikey", "list", "--agency", "qn-dvc").stdout)
        assert len(keys) == 2
        assert all(key["revoked_at"] is None for key in keys)
        assert new_key not in json.dumps(keys)  # only a prefix is ever shown again

        headers = {"Authorization": f"Bearer {new_key}"}
        assert (await client.get("/v1/payments", headers=headers)).status_code == 200
        target = next(key for key in keys if new_key.startswith(key["prefix"]))
        assert paygov(ctx, "apikey", "revoke", target["key_id"]).returncode == 0
        refused = await client.get("/v1/payments", headers=headers)
        assert refused.status_code == 401

    async def test_revoking_an_unknown_key_is_one_line(self, ctx: Context) -> None:
        line = one_line_error(paygov(ctx, "apikey", "revoke", "key_nope"))
        assert line == "paygov: No active API key with this id."


class TestAuditAndSettings:
    async def test_audit_verify(self, ctx: Context) -> None:
        paygov(ctx, *CREATE, "--test")
        result = paygov(ctx, "audit", "verify")
        assert result.returncode == 0
        assert result.stdout.strip() == "OK: 2 audit entries, chain intact"

    def test_production_without_master_key_stops_in_one_line(self, tmp_path: Path) -> None:
        env = {
            "PAYGOV_ENVIRONMENT": "production",
            "PAYGOV_MASTER_KEY": "changeme",
            "PAYGOV_API_KEY_SECRET": "x" * 40,
            "PAYGOV_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3",
        }
        line = one_line_error(paygov(env, "agency", "list"))
        assert "PAYGOV_MASTER_KEY is missing or a placeholder" in line

    def test_development_generates_a_key_with_a_warning(self, tmp_path: Path) -> None:
        env = {
            "PAYGOV_ENVIRONMENT": "development",
            "PAYGOV_VAR_DIR": str(tmp_path),
            "PAYGOV_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/db.sqlite3",
        }
        assert paygov(env, "migrate").returncode == 0
        result = paygov(env, "agency", "list")
        assert result.returncode == 0
        assert json.loads(result.stdout) == []
        assert "PAYGOV_MASTER_KEY not set: generated a development secret" in result.stderr
        assert (tmp_path / "master.key").exists()

    def test_unreachable_database_is_one_line(self, tmp_path: Path) -> None:
        env = {
            "PAYGOV_ENVIRONMENT": "test",
            "PAYGOV_MASTER_KEY": new_key(),
            "PAYGOV_API_KEY_SECRET": new_key(),
            "PAYGOV_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
        }
        line = one_line_error(paygov(env, "agency", "list"))
        assert line.startswith("paygov: cannot reach the database")


class TestWebhookSecretRotation:
    async def test_start_then_finish(self, ctx: Context) -> None:
        from paygov.agencies import service as agencies

        created = json.loads(paygov(ctx, *CREATE, "--test").stdout)
        started = json.loads(
            paygov(ctx, "agency", "rotate-webhook-secret", "--code", "qn-dvc").stdout
        )
        assert started["active_secrets"] == 2
        new_secret = started["new_webhook_secret"]
        assert new_secret.startswith("whsec_")
        assert new_secret != created["webhook_secret"]
        async with ctx.db.read() as session:
            agency = await agencies.get_by_code(session, "qn-dvc")
        both = ctx.box.decrypt_json(agency.webhook_secrets, agencies.WEBHOOK_SECRET_PURPOSE)
        assert both == [new_secret, created["webhook_secret"]]  # webhooks carry both signatures

        finished = paygov(ctx, "agency", "rotate-webhook-secret", "--code", "qn-dvc", "--finish")
        assert json.loads(finished.stdout)["active_secrets"] == 1
        async with ctx.db.read() as session:
            agency = await agencies.get_by_code(session, "qn-dvc")
        assert ctx.box.decrypt_json(agency.webhook_secrets, agencies.WEBHOOK_SECRET_PURPOSE) == [
            new_secret
        ]
        assert paygov(ctx, "audit", "verify").stdout.startswith("OK: 4 audit entries")

    async def test_unknown_agency_is_one_line(self, ctx: Context) -> None:
        line = one_line_error(paygov(ctx, "agency", "rotate-webhook-secret", "--code", "nope"))
        assert line == "paygov: No agency with this code."
