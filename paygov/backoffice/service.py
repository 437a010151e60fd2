"""Back-office business rules: sign-in (password, TOTP, lockout), sessions, re-authentication,
refund requests (their approval: approvals.py) and starting a reconciliation run. Services
flush; the route owns the transaction."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bank_adapters.base import ProviderUnavailable
from paygov.audit import service as audit
from paygov.backoffice import approvals, repository, security
from paygov.backoffice.settings import BackofficeSettings
from paygov.kit.context import Context
from paygov.kit.errors import Forbidden, PayGovError, ServiceUnavailable, ValidationFailed
from paygov.kit.ids import new_id
from paygov.payments.service import PaymentNotFound, amount_available
from paygov.reconciliation import service as reconciliation
from paygov.reconciliation.models import ReconRun
from paygov.refunds import service as refunds
from paygov.refunds.schemas import CreateRefund
from paygov.staff import repository as staff_repository
from paygov.staff.models import StaffSession, StaffUser
from paygov.staff.roles import Permission, Staff
from paygov.staff.service import StaffUserNotFound, staff_of

TOTP_PURPOSE = "staff-totp"


class DayNotOver(PayGovError):
    status_code = 422
    code = "day_not_over"
    message = "Reconcile a day that has begun: today or earlier."


class StatementUnavailable(ServiceUnavailable):
    """The provider did not give its statement (the run is recorded as failed); the
    detail says what went wrong."""

    code = "statement_unavailable"
    message = "The provider's statement could not be fetched; the run is recorded as failed."


def token_hash(clear: str) -> str:
    return hashlib.sha256(clear.encode()).hexdigest()


@dataclass(frozen=True)
class Visit:
    """A request's signed-in (or half signed-in) session and who it belongs to."""

    row: StaffSession
    user: StaffUser

    @property
    def staff(self) -> Staff:
        return staff_of(self.user)

    @property
    def csrf(self) -> str:
        return self.row.csrf_token


# --- passwords and enrolment --------------------------------------------------------------


async def set_credentials(
    session: AsyncSession, ctx: Context, email: str, password: str, *, actor: str
) -> str:
    """Set a user's password and a new TOTP secret; returns the secret (shown once)."""
    if len(password) < 12:
        raise ValidationFailed("A password has at least 12 characters.", field="password")
    user = await repository.user_by_email(session, email.strip().lower())
    if user is None:
        raise StaffUserNotFound(field="email")
    secret = security.new_totp_secret()
    now = ctx.clock.now()
    user.password_hash = security.hash_password(password)
    user.totp_sealed = ctx.box.encrypt(secret.encode(), TOTP_PURPOSE)
    user.totp_last_step = None
    user.failed_logins, user.locked_until = 0, None
    await staff_repository.end_sessions_of(session, user.id, now)
    await audit.record(
        session,
        at=now,
        actor=actor,
        action="staff_user.credentials_set",
        subject_type="staff_user",
        subject_id=user.id,
    )
    return secret


# --- sign-in ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in step: a session token for the cookie, or why not."""

    token: str | None = None
    locked: bool = False


def _locked(user: StaffUser, now: datetime) -> bool:
    return user.locked_until is not None and user.locked_until > now


async def _failed(
    session: AsyncSession, ctx: Context, bo: BackofficeSettings, user: StaffUser, step: str
) -> SignIn:
    now = ctx.clock.now()
    user.failed_logins += 1
    if user.failed_logins >= bo.lockout_failures:
        user.failed_logins = 0
        user.locked_until = now + timedelta(minutes=bo.lockout_minutes)
        await staff_repository.end_sessions_of(session, user.id, now)
        await audit.record(
            session,
            at=now,
            actor=f"staff:{user.email}",
            action="staff_user.locked",
            subject_type="staff_user",
            subject_id=user.id,
            details={"step": step, "until": user.locked_until.isoformat()},
        )
        return SignIn(locked=True)
    return SignIn()


def _new_session(user: StaffUser, now: datetime, stage: str) -> tuple[str, StaffSession]:
    clear = secrets.token_urlsafe(32)
    row = StaffSession(
        id=new_id("ses"),
        token_hash=token_hash(clear),
        user_id=user.id,
        stage=stage,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        reauth_at=None,
        ended_at=None,
    )
    return clear, row


async def password_step(
    session: AsyncSession, ctx: Context, bo: BackofficeSettings, email: str, password: str
) -> SignIn:
    """The first step: a half session (TOTP still due) when the password is right."""
    user = await repository.user_by_email(session, email.strip().lower()[:254])
    if user is None or user.disabled_at is not None or user.totp_sealed is None:
        security.verify_password(password, None)  # same time for unknown users
        return SignIn()
    now = ctx.clock.now()
    if _locked(user, now):
        return SignIn(locked=True)
    if not security.verify_password(password, user.password_hash):
        return await _failed(session, ctx, bo, user, "password")
    clear, row = _new_session(user, now, "password")
    repository.add(session, row)
    await session.flush()
    return SignIn(token=clear)


def _totp_ok(ctx: Context, user: StaffUser, code: str) -> bool:
    assert user.totp_sealed is not None
    secret = ctx.box.decrypt(user.totp_sealed, TOTP_PURPOSE).decode()
    step = security.check_totp(secret, code, ctx.clock.now(), user.totp_last_step)
    if step is None:
        return False
    user.totp_last_step = step
    return True


async def totp_step(
    session: AsyncSession, ctx: Context, bo: BackofficeSettings, visit: Visit, code: str
) -> SignIn:
    """The second step: a fresh, fully signed-in session replaces the half one (the token
    changes, so a token seen before sign-in is worth nothing after)."""
    now = ctx.clock.now()
    user = visit.user
    if _locked(user, now):
        return SignIn(locked=True)
    if not _totp_ok(ctx, user, code):
        return await _failed(session, ctx, bo, user, "totp")
    user.failed_logins = 0
    visit.row.ended_at = now
    clear, row = _new_session(user, now, "signed_in")
    repository.add(session, row)
    await session.flush()
    await audit.record(
        session,
        at=now,
        actor=visit.staff.actor,
        action="staff_user.signed_in",
        subject_type="staff_user",
        subject_id=user.id,
    )
    return SignIn(token=clear)


async def visit_of(
    session: AsyncSession, ctx: Context, bo: BackofficeSettings, clear: str | None
) -> Visit | None:
    """The live session behind a cookie, touched at most once a minute."""
    if not clear or len(clear) > 128:
        return None
    row = await repository.session_by_token(session, token_hash(clear))
    if row is None:
        return None
    now = ctx.clock.now()
    idle = timedelta(minutes=bo.session_idle_minutes)
    if now - row.last_seen_at > idle or now - row.created_at > timedelta(
        hours=bo.session_max_hours
    ):
        row.ended_at = now
        return None
    user = await repository.user(session, row.user_id)
    if user is None or user.disabled_at is not None or _locked(user, now):
        row.ended_at = now
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return Visit(row, user)


async def sign_out(session: AsyncSession, ctx: Context, visit: Visit) -> None:
    visit.row.ended_at = ctx.clock.now()


async def reauthenticate(
    session: AsyncSession,
    ctx: Context,
    bo: BackofficeSettings,
    visit: Visit,
    password: str,
    code: str,
) -> SignIn:
    """Password and a new TOTP code again: a refund may follow within a few minutes."""
    user = visit.user
    if not security.verify_password(password, user.password_hash) or not _totp_ok(ctx, user, code):
        return await _failed(session, ctx, bo, user, "reauth")
    user.failed_logins = 0
    visit.row.reauth_at = ctx.clock.now()
    return SignIn(token="ok")


def reauth_fresh(ctx: Context, bo: BackofficeSettings, visit: Visit) -> bool:
    at = visit.row.reauth_at
    return at is not None and ctx.clock.now() - at <= timedelta(minutes=bo.reauth_minutes)


# --- refunds and approvals ----------------------------------------------------------------


@dataclass(frozen=True)
class RefundOutcome:
    refund_id: str | None = None  # made now
    approval_id: str | None = None  # waiting for a second person


async def request_refund(
    session: AsyncSession,
    ctx: Context,
    bo: BackofficeSettings,
    visit: Visit,
    payment_id: str,
    amount: int,
    reason: str,
) -> RefundOutcome:
    """Refund now when at or below the threshold; above it, record a request for a
    second person. Either way only after a fresh re-authentication."""
    staff = visit.staff
    if not staff.may(Permission.REFUND):
        raise Forbidden(f"The {staff.role} role may not refund.")
    if not reauth_fresh(ctx, bo, visit):
        raise approvals.ReauthRequired()
    found = await repository.payment(session, payment_id)
    if found is None or not staff.sees_agency(found[0].agency_id):
        raise PaymentNotFound(field="payment_id")
    payment = found[0]
    body = CreateRefund(
        amount=amount, reason=reason, refund_amount_available=amount_available(payment)
    )
    now = ctx.clock.now()
    if amount <= bo.approval_threshold:
        refund_id = await approvals.refund_now(session, ctx, payment.agency_id, payment.id, body)
        await audit.record(
            session,
            at=now,
            actor=staff.actor,
            action="backoffice.refund_requested",
            subject_type="payment",
            subject_id=payment.id,
            details={"refund_id": refund_id, "amount": amount},
        )
        return RefundOutcome(refund_id=refund_id)
    if amount > amount_available(payment):
        raise refunds.RefundAmountTooHigh(field="amount")
    if any(a.status == "pending" for a in await repository.approvals_for(session, payment.id)):
        raise approvals.ApprovalPending()
    approval = await approvals.record_request(
        session,
        ctx,
        staff,
        kind="refund",
        agency_id=payment.agency_id,
        subject_id=payment.id,
        amount=amount,
        payload={"reason": reason},
    )
    return RefundOutcome(approval_id=approval.id)


# --- reconciliation -----------------------------------------------------------------------


def fetchable_providers(ctx: Context) -> list[str]:
    """Providers whose statements PayGov fetches itself (the others' come as files, through
    `paygov reconcile --file`)."""
    return sorted(
        code for code, p in ctx.providers.by_code.items() if not p.adapter.statement_file_only
    )


def statement_providers(ctx: Context) -> list[str]:
    """Enabled providers, whose statement files a person may upload."""
    return sorted(code for code, p in ctx.providers.by_code.items() if p.enabled)


async def start_run(
    ctx: Context, staff: Staff, provider_code: str, day: date, path: Path | None = None
) -> ReconRun:
    """Reconcile a provider's day now, as `staff`: from its statement API, or from the
    statement file at `path`. The run opens its own transactions: call it with none open."""
    if not staff.may(Permission.RECONCILE) or staff.agency_id is not None:
        raise Forbidden(f"The {staff.role} role may not start a reconciliation run.")
    if day > ctx.clock.now().astimezone(ZoneInfo(ctx.settings.business_timezone)).date():
        raise DayNotOver(field="day")
    try:
        return await reconciliation.reconcile(
            ctx, provider_code=provider_code, day=day, actor=staff.actor, path=path
        )
    except ProviderUnavailable as exc:
        raise StatementUnavailable(str(exc)[:500] or None) from exc
