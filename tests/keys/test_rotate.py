"""`paygov keys rotate` and `keys status`: every secret at rest moves to the new master key."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from paygov.audit.models import AuditEntry
from paygov.audit.service import verify
from paygov.keys import service as keys
from paygov.kit.clock import Clock
from paygov.kit.context import Context
from paygov.kit.crypto import SecretBox, key_id
from paygov.kit.settings import Settings, new_key
from paygov.payments.models import Payment
from tests.conftest import make_settings
from tests.factories import AgencyKeys, payment_body
from tests.test_cli import one_line_error, paygov

PAYER = {
    "name": "Nguyễn Văn An",
    "id_number": "079203001234",
    "email": "an.nguyen@example.vn",
    "phone": "0901234567",
}
PROVIDERS = 4  # in config/providers.sandbox.toml
UNKNOWN_KEY = b"c" * 32  # neither A nor B


@dataclass
class Seed:
    key_a: str
    agency: AgencyKeys
    payment_ids: list[str]


@pytest.fixture
async def seed(sandbox_providers: Context, agency: AgencyKeys, api: httpx.AsyncClient) -> Seed:
    """An agency, the sandbox providers and two payments with payer data, under key A."""
    ids = []
    for reference in ("HS-1", "HS-2"):
        response = await api.post(
            "/v1/payments", json=payment_body(reference=reference, payer=PAYER)
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["payment_id"])
    settings = sandbox_providers.settings
    assert settings.master_key is not None
    return Seed(settings.master_key.get_secret_value(), agency, sorted(ids))


def settings_for(ctx: Context, tmp_path: Path, key: str, old: str | None) -> Settings:
    return make_settings(ctx.settings.database_url, tmp_path, master_key=key, master_key_old=old)


@pytest.fixture
async def key_b() -> str:
    return new_key()


@pytest.fixture
async def rotating(ctx: Context, seed: Seed, key_b: str, tmp_path: Path) -> AsyncIterator[Context]:
    """The same database after the deploy: PAYGOV_MASTER_KEY=B, PAYGOV_MASTER_KEY_OLD=A."""
    context = Context.build(settings_for(ctx, tmp_path, key_b, seed.key_a), clock=Clock())
    yield context
    await context.close()


@pytest.fixture
async def only_b(ctx: Context, key_b: str, tmp_path: Path) -> AsyncIterator[Context]:
    """The same database once PAYGOV_MASTER_KEY_OLD is removed."""
    context = Context.build(settings_for(ctx, tmp_path, key_b, None), clock=Clock())
    yield context
    await context.close()


async def sealed_values(ctx: Context) -> dict[tuple[str, str], tuple[str, str]]:
    """(table, row id) → (token, purpose) for every sealed value in the database."""
    found = {}
    async with ctx.db.read() as session:
        for column, purpose in keys.SEALED:
            rows = await session.execute(
                select(column.pk, column.sealed).where(column.sealed.is_not(None))
            )
            for pk, token in rows:
                found[column.table, pk] = (token, purpose)
    return found


def plaintexts(box: SecretBox, values: dict[tuple[str, str], tuple[str, str]]) -> dict[Any, Any]:
    return {where: box.decrypt_json(token, purpose) for where, (token, purpose) in values.items()}


async def rotate(ctx: Context, batch_size: int = keys.BATCH_SIZE) -> dict[str, int]:
    return await keys.rotate(
        ctx.db, ctx.box, at=ctx.clock.now(), actor="test", batch_size=batch_size
    )


async def status(ctx: Context) -> dict[str, int]:
    async with ctx.db.read() as session:
        return await keys.status(session, ctx.box)


async def corrupt(ctx: Context, payment_id: str) -> None:
    """Seal a payment's payer data under a key neither master key matches."""
    token = SecretBox(UNKNOWN_KEY).encrypt_json(PAYER, "payer")
    async with ctx.db.transaction() as session:
        await session.execute(
            update(Payment).where(Payment.id == payment_id).values(payer_sealed=token)
        )


class TestRotate:
    async def test_every_value_moves_to_the_new_key_unchanged(
        self, ctx: Context, rotating: Context, key_b: str
    ) -> None:
        before = plaintexts(ctx.box, await sealed_values(ctx))

        counts = await rotate(rotating)

        assert counts == {"agencies": 1, "providers": PROVIDERS, "payments": 2}
        after = await sealed_values(rotating)
        assert after.keys() == before.keys()
        b_id = key_id(rotating.settings.master_key_bytes)
        assert {token.split(".")[1] for token, _ in after.values()} == {b_id}
        assert plaintexts(rotating.box, after) == before

    async def test_without_the_old_key_everything_still_reads(
        self, rotating: Context, only_b: Context, seed: Seed
    ) -> None:
        await rotate(rotating)

        values = await sealed_values(only_b)
        agency = values["agencies", seed.agency.agency.id]
        assert only_b.box.decrypt_json(*agency) == [seed.agency.webhook_secret]
        for payment_id in seed.payment_ids:
            assert only_b.box.decrypt_json(*values["payments", payment_id]) == PAYER
        async with only_b.db.read() as session:
            await only_b.providers.refresh(session, only_b.box, force=True)
        assert len(only_b.providers.by_code) == PROVIDERS

    async def test_small_batches_reach_every_row(self, rotating: Context) -> None:
        counts = await rotate(rotating, batch_size=1)

        assert counts == {"agencies": 1, "providers": PROVIDERS, "payments": 2}
        assert await status(rotating) == {"agencies": 0, "providers": 0, "payments": 0}

    async def test_a_second_run_changes_nothing(self, rotating: Context) -> None:
        await rotate(rotating)
        first = await sealed_values(rotating)

        assert await rotate(rotating) == {"agencies": 0, "providers": 0, "payments": 0}
        assert await sealed_values(rotating) == first

    async def test_status_counts_what_is_left(self, rotating: Context) -> None:
        assert await status(rotating) == {"agencies": 1, "providers": PROVIDERS, "payments": 2}
        await rotate(rotating)
        assert await status(rotating) == {"agencies": 0, "providers": 0, "payments": 0}

    async def test_each_run_is_audited(self, rotating: Context) -> None:
        await rotate(rotating)
        await rotate(rotating)

        async with rotating.db.read() as session:
            entries = list(
                await session.scalars(
                    select(AuditEntry)
                    .where(AuditEntry.action == "keys.rotated")
                    .order_by(AuditEntry.id)
                )
            )
            assert (await verify(session)).ok
        assert [entry.details for entry in entries] == [
            {"agencies": 1, "providers": PROVIDERS, "payments": 2},
            {"agencies": 0, "providers": 0, "payments": 0},
        ]


class TestUnreadableValue:
    async def test_stops_naming_the_row_and_keeps_the_batches_done(
        self, rotating: Context, seed: Seed
    ) -> None:
        first, second = seed.payment_ids
        await corrupt(rotating, second)

        with pytest.raises(keys.UnreadableSecret) as stopped:
            await rotate(rotating, batch_size=1)

        assert f"payments row {second}: payer_sealed decrypts with neither" in str(stopped.value)
        assert "\n" not in str(stopped.value)
        # everything before the bad row was committed; only the bad row is left
        assert await status(rotating) == {"agencies": 0, "providers": 0, "payments": 1}
        values = await sealed_values(rotating)
        assert rotating.box.is_current(values["payments", first][0])
        async with rotating.db.read() as session:
            entry = await session.scalar(
                select(AuditEntry).where(AuditEntry.action == "keys.rotated")
            )
        assert entry is not None
        assert entry.details["payments"] == 1
        assert entry.details["stopped"] == str(stopped.value)


class TestWithoutTheOldKey:
    async def test_refuses_while_values_under_another_key_exist(
        self, ctx: Context, seed: Seed, only_b: Context
    ) -> None:
        before = await sealed_values(ctx)

        with pytest.raises(keys.OldKeyMissing, match="PAYGOV_MASTER_KEY_OLD is not set"):
            await rotate(only_b)

        assert await sealed_values(ctx) == before

    async def test_nothing_to_do_is_fine(self, rotating: Context, only_b: Context) -> None:
        await rotate(rotating)

        assert await rotate(only_b) == {"agencies": 0, "providers": 0, "payments": 0}


def env(settings: Settings) -> dict[str, str]:
    assert settings.master_key is not None
    assert settings.api_key_secret is not None
    return {
        "PAYGOV_ENVIRONMENT": "test",
        "PAYGOV_DATABASE_URL": settings.database_url,
        "PAYGOV_MASTER_KEY": settings.master_key.get_secret_value(),
        "PAYGOV_MASTER_KEY_OLD": (
            settings.master_key_old.get_secret_value() if settings.master_key_old else ""
        ),
        "PAYGOV_API_KEY_SECRET": settings.api_key_secret.get_secret_value(),
    }


class TestCommands:
    async def test_rotate_then_status(self, rotating: Context) -> None:
        result = paygov(env(rotating.settings), "keys", "rotate")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"agencies": 1, "providers": PROVIDERS, "payments": 2}

        result = paygov(env(rotating.settings), "keys", "status")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"agencies": 0, "providers": 0, "payments": 0}

    async def test_missing_old_key_is_one_line(self, seed: Seed, only_b: Context) -> None:
        line = one_line_error(paygov(env(only_b.settings), "keys", "rotate"))
        assert line == (
            f"paygov: {1 + PROVIDERS + 2} sealed values are under a key other than "
            "PAYGOV_MASTER_KEY and PAYGOV_MASTER_KEY_OLD is not set; "
            "set it to the previous master key"
        )

    async def test_unreadable_value_is_one_line(self, rotating: Context, seed: Seed) -> None:
        await corrupt(rotating, seed.payment_ids[1])

        line = one_line_error(paygov(env(rotating.settings), "keys", "rotate"))

        assert line.startswith(f"paygov: payments row {seed.payment_ids[1]}: payer_sealed")
        # the row before it, in the same batch, was re-encrypted and kept
        assert await status(rotating) == {"agencies": 0, "providers": 0, "payments": 1}
