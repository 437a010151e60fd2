"""Four eyes (DESIGN.md §11): refunds above the threshold, changes to an agency's
beneficiary accounts and manual corrections of reconciliation discrepancies
(paygov/reconciliation/corrections.py) are recorded as `staff_approvals` by one person and
applied only when a different person, allowed to make that change, approves. Services
flush; the route owns the transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies import repository as agencies_repository
from paygov.agencies import service as agencies
from paygov.agencies.models import BeneficiaryAccount
from paygov.audit import service as audit
from paygov.auth import service as auth
from paygov.backoffice import repository
from paygov.idempotency.service import Claim
from paygov.kit.context import Context
from paygov.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from paygov.kit.ids import new_id
from paygov.payments.service import amount_available
from paygov.refunds import service as refunds
from paygov.refunds.schemas import CreateRefund
from paygov.staff.models import StaffApproval
from paygov.staff.roles import Permission, Staff

# Who may ask for and decide each kind of change.
PERMISSION = {
    "refund": Permission.REFUND,
    "beneficiary": Permission.ADMINISTER,
    "correction": Permission.RESOLVE,
}
# The kinds the back office approvals page can show (its template knows how to draw them).
# Corrections are also decided through the finance API and `paygov reconciliation approve`.
PAGE_KINDS = frozenset({"refund", "beneficiary", "correction"})


class ApprovalNotFound(NotFound):
    code = "approval_not_found"
    message = "No pending approval with this id."


class ApprovalDecided(Conflict):
    code = "approval_already_decided"
    message = "This request was already approved or rejected."


class OwnApproval(Forbidden):
    code = "own_approval"
    message = "A second person must approve what you asked for."


class ReauthRequired(Forbidden):
    code = "reauth_required"
    message = "Confirm your password and code again first."


class ApprovalPending(Conflict):
    code = "approval_pending"
    message = "The same change is already waiting for approval."


class BeneficiaryChangeRefused(Conflict):
    code = "beneficiary_change_refused"
    message = "This change no longer fits the agency's beneficiary accounts."


def may_decide(staff: Staff, approval: StaffApproval) -> bool:
    """Whether the back office approvals page offers `staff` this request to decide."""
    return approval.kind in PAGE_KINDS and _permitted(staff, approval)


def _permitted(staff: Staff, approval: StaffApproval) -> bool:
    return staff.may(PERMISSION[approval.kind]) and (
        approval.agency_id is None or staff.sees_agency(approval.agency_id)
    )


def audit_subject(kind: str, subject_id: str, payload: dict[str, object]) -> tuple[str, str]:
    """What the audit log files a request under: the payment whose money it moves, or the
    agency whose accounts it changes."""
    if kind == "correction":
        return "payment", str(payload["payment_id"])
    return ("payment" if kind == "refund" else "agency"), subject_id


async def record_request(
    session: AsyncSession,
    ctx: Context,
    staff: Staff,
    *,
    kind: str,
    agency_id: str,
    subject_id: str,
    amount: int | None,
    payload: dict[str, object],
) -> StaffApproval:
    """A pending request, audited; nothing else changes until someone else approves."""
    now = ctx.clock.now()
    approval = StaffApproval(
        id=new_id("apr"),
        kind=kind,
        agency_id=agency_id,
        subject_id=subject_id,
        amount=amount,
        payload=payload,
        status="pending",
        requested_by=staff.user_id,
        requested_at=now,
        decided_by=None,
        decided_at=None,
        outcome=None,
    )
    repository.add(session, approval)
    await session.flush()
    subject_type, audited_id = audit_subject(kind, subject_id, payload)
    await audit.record(
        session,
        at=now,
        actor=staff.actor,
        action="approval.requested",
        subject_type=subject_type,
        subject_id=audited_id,
        details={"approval_id": approval.id, "kind": kind, "amount": amount, **payload},
    )
    return approval


async def refund_now(
    session: AsyncSession, ctx: Context, agency_id: str, payment_id: str, body: CreateRefund
) -> str:
    """Create the refund as the agency would through the API; its id."""
    agency = await auth.profile_of(session, agency_id)
    claim = Claim(route=refunds.CREATE_ROUTE, key=None, body_hash="", at=ctx.clock.now())
    reply = await refunds.create_refund(session, ctx, agency, payment_id, body, claim)
    return str(orjson.loads(reply.body)["refund_id"])


# --- beneficiary accounts -----------------------------------------------------------------


async def request_beneficiary_change(
    session: AsyncSession,
    ctx: Context,
    staff: Staff,
    agency_code: str,
    *,
    account: str,
    make_default: bool,
) -> StaffApproval:
    """Ask to add `ACCOUNT@BIN` (optionally as the default) or, for an account the agency
    already has, to make it the default. Checked now and again when approved."""
    if not staff.may(PERMISSION["beneficiary"]):
        raise Forbidden(f"The {staff.role} role may not change beneficiary accounts.")
    agency = await agencies.get_by_code(session, agency_code)
    existing = await agencies_repository.beneficiaries(session, agency.id)
    number = account.strip()
    if any(row.account_number == number for row in existing):
        payload: dict[str, object] = {"action": "default", "account_number": number}
    else:
        number, bank_bin = agencies.parse_beneficiary(account)
        payload = {
            "action": "add",
            "account_number": number,
            "bank_bin": bank_bin,
            "make_default": make_default or not existing,
        }
    _check_change(existing, payload)
    pending = await repository.pending_approvals(session, agency.id)
    if any(a.kind == "beneficiary" and a.payload == payload for a in pending):
        raise ApprovalPending()
    return await record_request(
        session,
        ctx,
        staff,
        kind="beneficiary",
        agency_id=agency.id,
        subject_id=agency.code,
        amount=None,
        payload=payload,
    )


def _check_change(existing: list[BeneficiaryAccount], payload: dict[str, Any]) -> None:
    numbers = {row.account_number: row for row in existing}
    number = payload["account_number"]
    if payload["action"] == "add" and number in numbers:
        raise ValidationFailed("The agency already has this account.", field="account")
    if payload["action"] == "default" and (number not in numbers or numbers[number].is_default):
        raise ValidationFailed("Choose another of the agency's accounts.", field="account")


async def _apply_beneficiary(session: AsyncSession, approval: StaffApproval, at: datetime) -> str:
    """The approved change, if the accounts still allow it (they may have changed since)."""
    assert approval.agency_id is not None
    existing = await agencies_repository.beneficiaries(session, approval.agency_id)
    payload = approval.payload
    try:
        _check_change(existing, payload)
    except ValidationFailed:
        raise BeneficiaryChangeRefused() from None
    number = str(payload["account_number"])
    if payload["action"] == "add":
        row = BeneficiaryAccount(
            agency_id=approval.agency_id,
            account_number=number,
            bank_bin=str(payload["bank_bin"]),
            is_default=False,
            created_at=at,
        )
        agencies_repository.add(session, row)
        existing.append(row)
    if payload["action"] == "default" or payload.get("make_default"):
        for account in existing:
            account.is_default = account.account_number == number
    await session.flush()
    return number


# --- deciding -----------------------------------------------------------------------------


async def decide(
    session: AsyncSession,
    ctx: Context,
    staff: Staff,
    approval_id: str,
    *,
    approve: bool,
    reauthenticated: bool,
    via: str | None = None,
) -> StaffApproval:
    """A second person approves (the change is made now) or rejects a pending request.
    Everything the change depends on is checked again when it is applied; a refusal
    raises and the caller's transaction writes nothing. `via` (e.g. `cli:alice`) is noted
    in the audit entry when the decision did not come through a staff session or token."""
    approval = await repository.approval(session, approval_id)
    if approval is None:
        raise ApprovalNotFound(field="approval_id")
    if approval.agency_id is not None and not staff.sees_agency(approval.agency_id):
        raise ApprovalNotFound(field="approval_id")
    if not _permitted(staff, approval):
        raise Forbidden(f"The {staff.role} role may not decide this {approval.kind} request.")
    if approval.status != "pending":
        raise ApprovalDecided(
            f"Request {approval.id} was already {approval.status}.", field="approval_id"
        )
    if approval.requested_by == staff.user_id:
        raise OwnApproval()
    if approve and not reauthenticated:
        raise ReauthRequired()
    now = ctx.clock.now()
    if approve:
        approval.outcome = await _apply(session, ctx, approval, staff, now)
    approval.status = "approved" if approve else "rejected"
    approval.decided_by, approval.decided_at = staff.user_id, now
    await session.flush()
    subject_type, audited_id = audit_subject(approval.kind, approval.subject_id, approval.payload)
    details: dict[str, object] = {
        "approval_id": approval.id,
        "kind": approval.kind,
        "outcome": approval.outcome,
    }
    if via is not None:
        details["via"] = via
    await audit.record(
        session,
        at=now,
        actor=staff.actor,
        action="approval.approved" if approve else "approval.rejected",
        subject_type=subject_type,
        subject_id=audited_id,
        details=details,
    )
    return approval


async def _apply(
    session: AsyncSession, ctx: Context, approval: StaffApproval, staff: Staff, at: datetime
) -> str:
    if approval.kind == "beneficiary":
        return await _apply_beneficiary(session, approval, at)
    if approval.kind == "correction":
        # Imported here: corrections records its requests through this module.
        from paygov.reconciliation.corrections import apply as apply_correction

        return await apply_correction(session, ctx, approval, staff)
    found = await repository.payment(session, approval.subject_id)
    assert found is not None
    assert approval.amount is not None
    payment = found[0]
    body = CreateRefund(
        amount=approval.amount,
        reason=str(approval.payload.get("reason", "")),
        refund_amount_available=amount_available(payment),
    )
    return await refund_now(session, ctx, payment.agency_id, payment.id, body)


def approval_view(approval: StaffApproval, emails: dict[str, str]) -> dict[str, Any]:
    return {
        "id": approval.id,
        "kind": approval.kind,
        "subject_id": approval.subject_id,
        "amount": approval.amount,
        "reason": approval.payload.get("reason", ""),
        "change": approval.payload,
        "status": approval.status,
        "requested_by": emails.get(approval.requested_by, approval.requested_by),
        "requested_by_id": approval.requested_by,
        "requested_at": approval.requested_at,
        "decided_by": emails.get(approval.decided_by or "", ""),
        "outcome": approval.outcome,
    }
