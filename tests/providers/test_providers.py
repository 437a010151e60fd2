"""Providers: imported from TOML, credentials sealed, adapters found by entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from paygov.kit.context import Context
from paygov.kit.settings import ConfigurationError
from paygov.providers import registry
from paygov.providers import service as providers
from paygov.reconciliation import sources
from tests.conftest import SANDBOX_PROVIDERS
from tests.test_cli import CREATE, one_line_error, paygov


class TestCatalogue:
    async def test_import_seals_credentials(self, sandbox_providers: Context) -> None:
        ctx = sandbox_providers
        async with ctx.db.read() as session:
            rows = (await session.execute(text("SELECT code, config_sealed FROM providers"))).all()
        assert {code for code, _ in rows} == {
            "vnpay-sandbox",
            "vietqr-sandbox",
            "vcb-direct-sandbox",
            "bidv-direct-sandbox",
        }
        for _, sealed in rows:
            assert "SANDBOXHASHSECRET" not in sealed
            assert "PRIVATE KEY" not in sealed
        assert ctx.providers.offered("test", 150_000) == []  # not loaded until refreshed
        async with ctx.db.read() as session:
            await ctx.providers.refresh(session, ctx.box, force=True)
        offered = {p.code for p in ctx.providers.offered("test", 1_500_000_000)}
        assert offered == {"vcb-direct-sandbox"}  # the only one accepting 1.5 billion
        assert ctx.providers.offered("live", 1_000) == []

    async def test_disabled_provider_is_not_offered(self, sandbox_providers: Context) -> None:
        ctx = sandbox_providers
        async with ctx.db.transaction() as session:
            await providers.set_enabled(
                session, "vnpay-sandbox", False, at=ctx.clock.now(), actor="test"
            )
        async with ctx.db.read() as session:
            await ctx.providers.refresh(session, ctx.box, force=True)
        assert "vnpay-sandbox" not in {p.code for p in ctx.providers.offered("test", 1000)}

    def test_unknown_protocol_is_one_clear_line(self, tmp_path: Path) -> None:
        path = tmp_path / "providers.toml"
        path.write_text(
            '[[provider]]\ncode = "x"\nprotocol = "carrier-pigeon"\nname = "X"\n'
            'mode = "test"\nmax_amount = 1000\n[provider.config]\n'
        )
        with pytest.raises(ConfigurationError, match="no adapter for protocol 'carrier-pigeon'"):
            providers.read_catalogue(path)

    def test_bad_adapter_config_names_the_field(self, tmp_path: Path) -> None:
        path = tmp_path / "providers.toml"
        path.write_text(
            '[[provider]]\ncode = "v"\nprotocol = "vnpay"\nname = "V"\n'
            'mode = "test"\nmax_amount = 1000\n[provider.config]\ntmn_code = "A"\n'
        )
        with pytest.raises(ConfigurationError, match=r"provider 'v': config\.hash_secret"):
            providers.read_catalogue(path)

    def test_all_three_protocols_are_installed(self) -> None:
        assert {"vnpay", "vietqr", "signed_json"} <= set(registry.available())


class TestStartup:
    async def test_serve_refuses_a_provider_without_its_adapter(self, ctx: Context) -> None:
        assert paygov(ctx, *CREATE, "--test").returncode == 0
        assert (
            paygov(
                ctx,
                "providers",
                "import",
                str(SANDBOX_PROVIDERS),
                "--set",
                "PAYGOV_SANDBOX_URL=http://127.0.0.1:9",
            ).returncode
            == 0
        )
        async with ctx.db.transaction() as session:  # as if the adapter were uninstalled
            await session.execute(
                text("UPDATE providers SET protocol = 'retired' WHERE code = 'vnpay-sandbox'")
            )
        line = one_line_error(paygov(ctx, "serve", "--port", "9"))
        assert "no adapter for protocol 'retired'" in line

    async def test_providers_list_shows_state(self, ctx: Context) -> None:
        paygov(
            ctx,
            "providers",
            "import",
            str(SANDBOX_PROVIDERS),
            "--set",
            "PAYGOV_SANDBOX_URL=http://127.0.0.1:9",
        )
        paygov(ctx, "providers", "disable", "bidv-direct-sandbox")
        listed = {row["code"]: row for row in json.loads(paygov(ctx, "providers", "list").stdout)}
        assert listed["bidv-direct-sandbox"]["enabled"] is False
        assert listed["vnpay-sandbox"]["circuit"] == "closed"
        assert listed["vnpay-sandbox"]["clearing_account"] == "clearing:vnpay-sandbox"

    def test_banks_list(self, tmp_path: Path) -> None:
        env = {"PAYGOV_ENVIRONMENT": "test", "PAYGOV_VAR_DIR": str(tmp_path)}
        banks = json.loads(paygov(env, "banks", "list").stdout)
        assert len(banks) >= 40
        by_code = {bank["code"]: bank for bank in banks}
        assert by_code["VCB"]["bin"] == "970436"
        assert by_code["BIDV"]["bin"] == "970418"


def test_example_catalogue_names_real_fields() -> None:
    """config/providers.example.toml stays true to the adapters' settings."""
    import tomllib

    example = Path(__file__).resolve().parents[2] / "config" / "providers.example.toml"
    entries = tomllib.loads(example.read_text(encoding="utf-8"))["provider"]
    assert {entry["protocol"] for entry in entries} == {"vnpay", "vietqr", "signed_json"}
    for entry in entries:
        fields = registry.adapter_class(entry["protocol"]).Config.model_fields
        required = {name for name, field in fields.items() if field.is_required()}
        assert set(entry["config"]) <= set(fields), entry["code"]
        assert required <= set(entry["config"]), entry["code"]
        sources.parse_config(entry["code"], entry.get("statement"))  # raises when wrong
