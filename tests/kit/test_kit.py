"""Shared plumbing: secrets at rest, identifiers, money formatting, settings."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from paygov.kit.context import Context
from paygov.kit.crypto import DecryptionFailed, SecretBox
from paygov.kit.ids import new_id, ulid
from paygov.kit.money import format_vnd
from paygov.kit.settings import ConfigurationError, Settings, new_key


class TestSecretBox:
    def test_round_trip_and_purpose_binding(self) -> None:
        box = SecretBox(bytes(32))
        sealed = box.encrypt_json({"name": "Nguyễn Văn A"}, "payer")
        assert "Nguy" not in sealed
        assert box.decrypt_json(sealed, "payer") == {"name": "Nguyễn Văn A"}
        with pytest.raises(DecryptionFailed):
            box.decrypt(sealed, "webhook-secrets")

    def test_old_key_still_reads_during_rotation(self) -> None:
        old, new = bytes(32), bytes(range(32))
        sealed = SecretBox(old).encrypt(b"whsec_x", "webhook-secrets")
        rotating = SecretBox(new, old)
        assert rotating.decrypt(sealed, "webhook-secrets") == b"whsec_x"
        assert not rotating.is_current(sealed)
        assert rotating.is_current(rotating.encrypt(b"y", "webhook-secrets"))
        with pytest.raises(DecryptionFailed):
            SecretBox(new).decrypt(sealed, "webhook-secrets")

    def test_tampering_is_detected(self) -> None:
        box = SecretBox(bytes(32))
        sealed = box.encrypt(b"secret", "payer")
        flipped = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
        with pytest.raises(DecryptionFailed):
            box.decrypt(flipped, "payer")


class TestIds:
    def test_shape_and_order(self) -> None:
        assert re.fullmatch(r"pay_[0-9A-HJKMNP-TV-Z]{26}", new_id("pay"))
        assert ulid(1_000) < ulid(2_000)
        assert ulid(0).startswith("0000000000")


@pytest.mark.parametrize(
    ("amount", "text"), [(0, "0 ₫"), (5_000, "5.000 ₫"), (1_234_567, "1.234.567 ₫")]
)
def test_format_vnd(amount: int, text: str) -> None:
    assert format_vnd(amount) == text


class TestSettings:
    def test_production_refuses_placeholder_secrets(self) -> None:
        with pytest.raises(ConfigurationError, match="PAYGOV_MASTER_KEY"):
            Settings(
                environment="production",
                master_key="changeme",  # type: ignore[arg-type]
                api_key_secret=new_key(),
            )  # type: ignore[arg-type]

    def test_master_key_must_be_32_bytes(self) -> None:
        settings = Settings(environment="test", master_key="c2hvcnQ=")  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="32 bytes"):
            _ = settings.master_key_bytes


async def test_payer_data_is_encrypted_at_rest(ctx: Context, api: object) -> None:
    import httpx

    assert isinstance(api, httpx.AsyncClient)
    payer = {
        "name": "Trần Thị Bích",
        "id_number": "079123456789",
        "email": "bich@example.vn",
        "phone": "+84 912 345 678",
    }
    created = await api.post(
        "/v1/payments",
        json={
            "amount": 50_000,
            "reference": "HS-1",
            "description": "Lệ phí",
            "return_url": "https://dvc.example.gov.vn/r",
            "payer": payer,
        },
    )
    assert created.status_code == 201
    assert "079123456789" not in created.text
    async with ctx.db.read() as session:
        stored = await session.scalar(text("SELECT payer_sealed FROM payments"))
    assert stored is not None
    for value in payer.values():
        assert value not in stored
    assert ctx.box.decrypt_json(stored, "payer") == payer
