"""Plain factory functions with keyword defaults."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paygov.agencies import service as agencies
from paygov.agencies.models import Agency
from paygov.kit.context import Context


@dataclass
class AgencyKeys:
    agency: Agency
    api_key: str
    webhook_secret: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}


async def create_agency(
    ctx: Context,
    *,
    code: str = "dvc-hcm",
    name: str = "Cổng DVC TP.HCM",
    mode: str = "test",
    return_hosts: list[str] | None = None,
    beneficiaries: list[str] | None = None,
    webhook_url: str | None = None,
) -> AgencyKeys:
    async with ctx.db.transaction() as session:
        created = await agencies.create_agency(
            session,
            ctx.box,
            ctx.settings.api_key_secret_bytes,
            at=ctx.clock.now(),
            actor="test",
            code=code,
            name=name,
            mode=mode,
            return_hosts=return_hosts or ["dvc.example.gov.vn"],
            beneficiaries=(
                beneficiaries
                if beneficiaries is not None
                else ["0011001234567@970436", "1234567890@970415"]
            ),
            webhook_url=webhook_url,
        )
    return AgencyKeys(created.agency, created.api_key, created.webhook_secret)


def payment_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": 150_000,
        "reference": "HS-2026-000123",
        "description": "Lệ phí cấp giấy phép lái xe",
        "return_url": "https://dvc.example.gov.vn/ket-qua",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not ...}


async def staff_token(
    ctx: Context, *, role: str = "finance", email: str | None = None, agency: str | None = None
) -> dict[str, str]:
    """A staff user of the role and the Authorization header of a token acting as them."""
    from paygov.staff import service as staff

    email = email or f"{role}@stc.gov.vn"
    async with ctx.db.transaction() as session:
        await staff.create_user(
            session, email=email, role=role, agency_code=agency, at=ctx.clock.now(), actor="test"
        )
        token = await staff.issue_token(
            session, ctx.settings.api_key_secret_bytes, email, at=ctx.clock.now(), actor="test"
        )
    return {"Authorization": f"Bearer {token}"}
