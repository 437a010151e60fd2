"""Registering agencies: codes, modes, return hosts, webhook endpoint, beneficiary accounts."""

from __future__ import annotations

import base64
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies import repository
from paygov.agencies.models import Agency, BeneficiaryAccount
from paygov.audit import service as audit
from paygov.auth import service as auth
from paygov.kit.crypto import SecretBox
from paygov.kit.errors import Conflict, NotFound, ValidationFailed
from paygov.kit.ids import new_id
from paygov.kit.net import resolves_to_private

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,31}$")
HOST_RE = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)
ACCOUNT_RE = re.compile(r"^([0-9A-Za-z]{4,34})@(\d{6})$")
WEBHOOK_SECRET_PURPOSE = "webhook-secrets"


class AgencyCodeTaken(Conflict):
    code = "agency_code_taken"
    message = "An agency with this code already exists."


class AgencyNotFound(NotFound):
    code = "agency_not_found"
    message = "No agency with this code."


@dataclass(frozen=True)
class NewAgency:
    agency: Agency
    api_key: str
    webhook_secret: str
    beneficiaries: list[BeneficiaryAccount]


def new_webhook_secret() -> str:
    """`whsec_` + base64 of 32 random bytes (Standard Webhooks)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def parse_beneficiary(text: str) -> tuple[str, str]:
    """`ACCOUNT@BIN` → (account number, NAPAS BIN)."""
    match = ACCOUNT_RE.match(text.strip())
    if not match:
        raise ValidationFailed(
            f"beneficiary {text!r} must be ACCOUNT@BIN, e.g. 0011001234567@970436",
            field="beneficiary",
            code="invalid_beneficiary",
        )
    return match.group(1), match.group(2)


def check_webhook_url(url: str, *, live: bool) -> None:
    """Webhook endpoints must be https in live mode and never point inside our network."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValidationFailed(
            "webhook URL must be an absolute http(s) URL",
            field="webhook_url",
            code="invalid_webhook_url",
        )
    if live and parts.scheme != "https":
        raise ValidationFailed(
            "live-mode webhook URLs must use https", field="webhook_url", code="invalid_webhook_url"
        )
    if live and resolves_to_private(parts.hostname):
        raise ValidationFailed(
            "live-mode webhook URL resolves to a private, loopback or link-local address",
            field="webhook_url",
            code="webhook_url_private",
        )


async def create_agency(
    session: AsyncSession,
    box: SecretBox,
    api_key_secret: bytes,
    *,
    at: datetime,
    actor: str,
    code: str,
    name: str,
    mode: str,
    return_hosts: list[str],
    province: str | None = None,
    webhook_url: str | None = None,
    beneficiaries: list[str] | None = None,
) -> NewAgency:
    """Register an agency with its first API key and webhook secret (both shown once)."""
    code = code.strip().lower()
    if not CODE_RE.match(code):
        raise ValidationFailed(
            "agency code must be 2-32 lowercase letters, digits or '-'",
            field="code",
            code="invalid_agency_code",
        )
    if not name.strip():
        raise ValidationFailed("agency name must not be empty", field="name", code="invalid_name")
    hosts = [host.strip().lower() for host in return_hosts]
    for host in hosts:
        if not HOST_RE.match(host):
            raise ValidationFailed(
                f"return host {host!r} is not a host name",
                field="return_host",
                code="invalid_return_host",
            )
    if webhook_url:
        check_webhook_url(webhook_url, live=mode == "live")
    accounts = [parse_beneficiary(text) for text in beneficiaries or []]
    if len({number for number, _ in accounts}) != len(accounts):
        raise ValidationFailed(
            "a beneficiary account is listed twice", field="beneficiary", code="invalid_beneficiary"
        )
    if await repository.code_taken(session, code):
        raise AgencyCodeTaken(field="code")

    secret = new_webhook_secret()
    agency = Agency(
        id=new_id("agy"),
        code=code,
        name=name.strip(),
        province=province,
        mode=mode,
        webhook_url=webhook_url or None,
        return_hosts=hosts,
        webhook_secrets=box.encrypt_json([secret], WEBHOOK_SECRET_PURPOSE),
        created_at=at,
        updated_at=at,
    )
    rows = [
        BeneficiaryAccount(
            agency_id=agency.id,
            account_number=number,
            bank_bin=bin_,
            is_default=index == 0,
            created_at=at,
        )
        for index, (number, bin_) in enumerate(accounts)
    ]
    repository.add(session, agency, *rows)
    await session.flush()
    await audit.record(
        session,
        at=at,
        actor=actor,
        action="agency.created",
        subject_type="agency",
        subject_id=agency.id,
        details={
            "code": code,
            "mode": mode,
            "return_hosts": hosts,
            "webhook_url": webhook_url,
            "beneficiaries": [f"{n}@{b}" for n, b in accounts],
        },
    )
    api_key = await auth.issue_key(session, api_key_secret, agency, at=at, actor=actor)
    return NewAgency(agency, api_key, secret, rows)


async def get_by_code(session: AsyncSession, code: str) -> Agency:
    agency = await repository.by_code(session, code.strip().lower())
    if agency is None:
        raise AgencyNotFound(field="code")
    return agency


async def list_agencies(session: AsyncSession) -> list[Agency]:
    return await repository.all_agencies(session)


async def rotate_webhook_secret(
    session: AsyncSession,
    box: SecretBox,
    code: str,
    *,
    at: datetime,
    actor: str,
    finish: bool = False,
) -> list[str]:
    """Start a rotation (a new secret first, the current one kept: webhooks carry both
    signatures while the portal switches) or finish it (keep only the newest).
    Returns the secrets now active; the new one is shown here and never again."""
    agency = await get_by_code(session, code)
    current: list[str] = box.decrypt_json(agency.webhook_secrets, WEBHOOK_SECRET_PURPOSE)
    active = current[:1] if finish else [new_webhook_secret(), current[0]]
    agency.webhook_secrets = box.encrypt_json(active, WEBHOOK_SECRET_PURPOSE)
    agency.updated_at = at
    await audit.record(
        session,
        at=at,
        actor=actor,
        action="webhook_secret.rotation_finished" if finish else "webhook_secret.rotation_started",
        subject_type="agency",
        subject_id=agency.id,
        details={"active_secrets": len(active)},
    )
    return active
