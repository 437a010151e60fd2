"""Manual corrections (DESIGN.md §10, §11): a statement line's money that PayGov could not
book by itself is booked to a payment order a person names, once a second person approves.

A correction is asked for on a discrepancy of a completed run: a credit classed
`missing_at_paygov` (an orphan the run did not correct), `amount_mismatch` or `unrelated`.
It is recorded as a `staff_approvals` row of kind `correction`
(paygov/backoffice/approvals.py). On approval everything is checked again, and the line's
money is recorded as the order's payment exactly as a provider's callback would be: a new
attempt at the line's provider, then the callback inbox under the key
`statement-manual:{day}:{subject}` (so it happens once, whatever happens later), which
gives the ledger, the payment's state (`late`, overpayment), the event and the webhook.
The discrepancy is resolved with a reason that names the correction, and audited.

Services flush; the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bank_adapters.base import AckResult, ProviderEvent
from paygov.agencies import repository as agencies
from paygov.audit import service as audit
from paygov.backoffice import approvals
from paygov.callbacks import service as callbacks
from paygov.kit.context import Context
from paygov.kit.db import is_unique_violation
from paygov.kit.errors import Conflict, Forbidden, PayGovError
from paygov.kit.ids import new_id
from paygov.payments import repository as payments_repository
from paygov.payments import service as payments
from paygov.payments.attempts import add_attempt
from paygov.payments.models import Attempt, Payment
from paygov.payments.service import PaymentNotFound
from paygov.providers.live import LiveProvider
from paygov.reconciliation import corrections_repository as repository
from paygov.reconciliation import repository as recon
from paygov.reconciliation import service as reconciliation
from paygov.reconciliation.models import ReconRun, Resolution
from paygov.staff.models import StaffApproval
from paygov.staff.roles import Staff
from paygov.staff.service import StaffUserNotFound, staff_of

KIND = "correction"
CORRECTABLE_CLASSES = ("missing_at_paygov", "amount_mismatch", "unrelated")
PAYMENT_LINE_KINDS = ("payment", "other")
# How the success is recorded on the attempt (`succeeded_via`): learned from a statement.
SOURCE = "reconciliation"


class DiscrepancyNotCorrectable(Conflict):
    code = "discrepancy_not_correctable"
    message = "This discrepancy cannot be corrected by booking its money to an order."


class CorrectionAmountMismatch(Conflict):
    code = "correction_amount_mismatch"
    message = "The line's amount is not the order's: an order is paid only by its full amount."


class CorrectionPaymentRefused(Conflict):
    code = "correction_payment_refused"
    message = "This order cannot take the line's money."


class CorrectionStale(Conflict):
    code = "correction_stale"
    message = "The discrepancy or the order changed since the correction was asked for."


class StaffUserDisabled(Forbidden):
    code = "staff_user_disabled"
    message = "This staff user is disabled."


@dataclass(frozen=True)
class Line:
    """The statement line a correction books, as a run of its day classed it."""

    run: ReconRun
    item_id: int
    cls: str
    subject: str
    line_no: int
    amount: int
    booked_at: datetime
    bank_ref: str | None

    @property
    def dedupe_key(self) -> str:
        """The callback-inbox key (unique per provider) that makes the booking happen once."""
        return f"statement-manual:{self.run.day.isoformat()}:{self.subject}"


# --- asking -------------------------------------------------------------------------------


async def request_correction(
    session: AsyncSession,
    ctx: Context,
    staff: Staff,
    *,
    run_id: str,
    item_id: int,
    payment_id: str,
    reason: str = "",
    via: str,
) -> StaffApproval:
    """Ask to book the line of discrepancy `item_id` of run `run_id` to payment
    `payment_id`: checked now, recorded as a pending `correction` approval (audited), and
    applied only when another person approves. `via` says where the request came from
    (`api`, `backoffice`, `cli:{os user}`)."""
    _may_correct(staff)
    if "\x00" in run_id:
        raise reconciliation.RunNotFound(field="run_id")
    run = await reconciliation.get_run(session, run_id)
    if run.status != "completed":
        raise CorrectionStale(
            f"Run {run.id} is {run.status}: correct from the day's latest completed run.",
            field="run_id",
        )
    row = await recon.discrepancy(session, run, item_id)
    if row is None:
        raise reconciliation.DiscrepancyNotFound(field="item_id")
    line = await _correctable(session, run, _as_dict(row))
    await ctx.providers.refresh(session, ctx.box)
    provider = ctx.providers.get(run.provider)
    payment, effect = await _payable(session, staff, provider, payment_id, line.amount)
    for pending in await repository.corrections(session, status="pending", limit=None):
        asked = pending.payload
        if (asked["provider"], asked["day"], asked["subject"]) == (
            run.provider,
            run.day.isoformat(),
            line.subject,
        ):
            raise approvals.ApprovalPending(
                f"Correction {pending.id} of this line is already waiting for approval."
            )
    payload: dict[str, object] = {
        "run_id": run.id,
        "item_id": line.item_id,
        "provider": run.provider,
        "day": run.day.isoformat(),
        "subject": line.subject,
        "class": line.cls,
        "line_no": line.line_no,
        "bank_ref": line.bank_ref,
        "booked_at": line.booked_at.isoformat(),
        "payment_id": payment.id,
        "effect": effect,
        "reason": reason.strip()[:500],
        "via": via[:64],
    }
    return await approvals.record_request(
        session,
        ctx,
        staff,
        kind=KIND,
        agency_id=payment.agency_id,
        subject_id=f"{run.id}:{line.item_id}",
        amount=line.amount,
        payload=payload,
    )


def _may_correct(staff: Staff) -> None:
    if not staff.may(approvals.PERMISSION[KIND]) or staff.agency_id is not None:
        raise Forbidden(f"The {staff.role} role may not correct reconciliation discrepancies.")


def _as_dict(row: Any) -> dict[str, Any]:
    return dict(zip(recon.DISCREPANCY_COLUMNS, row, strict=True))


async def _correctable(session: AsyncSession, run: ReconRun, found: dict[str, Any]) -> Line:
    """The discrepancy's line, if a correction may book it; else why not."""
    cls = found["class"]
    if cls not in CORRECTABLE_CLASSES:
        raise DiscrepancyNotCorrectable(
            f"A {cls} discrepancy is not money PayGov is missing: resolve it with a reason.",
            field="item_id",
        )
    if found["resolution"] is not None:
        raise reconciliation.AlreadyResolved(
            f"Resolved by {found['resolved_by']}: {found['resolution']}", field="item_id"
        )
    if found["corrected"]:
        raise DiscrepancyNotCorrectable(
            "The run booked this line itself to its attempt.", field="item_id"
        )
    statement = await repository.statement_line(session, run.id, found["line_no"] or 0)
    if (
        statement is None
        or statement.amount <= 0
        or statement.kind not in PAYMENT_LINE_KINDS
        or statement.reversal
    ):
        raise DiscrepancyNotCorrectable(
            "Only a credit to the collection account (not a fee, debit or reversal) can be"
            " booked to an order.",
            field="item_id",
        )
    if found["txn_ref"] is not None:
        attempt = await payments_repository.attempt_by_ref(session, found["txn_ref"])
        if attempt is not None and attempt.status == "succeeded":
            raise DiscrepancyNotCorrectable(
                f"PayGov already recorded this transfer as the payment of attempt"
                f" {attempt.txn_ref} ({attempt.amount} VND): resolve it with a reason.",
                field="item_id",
            )
    line = Line(
        run=run,
        item_id=int(found["item_id"]),
        cls=cls,
        subject=str(found["subject"]),
        line_no=statement.line_no,
        amount=statement.amount,
        booked_at=statement.booked_at,
        bank_ref=statement.bank_ref,
    )
    if await repository.inbox_key_taken(session, run.provider, line.dedupe_key):
        raise DiscrepancyNotCorrectable(
            "This line's money was booked to an order already.", field="item_id"
        )
    return line


async def _payable(
    session: AsyncSession,
    staff: Staff,
    provider: LiveProvider,
    payment_id: str,
    amount: int,
    *,
    lock: bool = False,
) -> tuple[Payment, str]:
    """The order, if it can take `amount` through `provider`, and how: `payment` (the
    order is not paid yet: the amounts must agree) or `overpayment` (it is paid already:
    the money is recorded as paid twice and offered for refund, as for a second callback)."""
    if not payment_id or len(payment_id) > 64 or "\x00" in payment_id:
        raise PaymentNotFound(field="payment_id")
    payment = await repository.payment(session, payment_id, lock=lock)
    if payment is None or not staff.sees_agency(payment.agency_id):
        raise PaymentNotFound(field="payment_id")
    agency = await agencies.get(session, payment.agency_id)
    if agency.mode != provider.mode:
        raise CorrectionPaymentRefused(
            f"Payment {payment.id} belongs to {agency.code}, a {agency.mode}-mode agency;"
            f" {provider.code} moves {provider.mode}-mode money.",
            field="payment_id",
        )
    if payment.status == "succeeded":
        return payment, "overpayment"
    if amount != payment.amount:
        raise CorrectionAmountMismatch(
            f"The line's {amount} VND is not the {payment.amount} VND of payment {payment.id}:"
            " an order is paid only by its full amount. Resolve the line with a reason and"
            " pay the money back instead.",
            field="payment_id",
        )
    return payment, "payment"


# --- approving ----------------------------------------------------------------------------


async def decide_correction(
    session: AsyncSession,
    ctx: Context,
    staff: Staff,
    approval_id: str,
    *,
    approve: bool,
    reauthenticated: bool = True,
    via: str | None = None,
) -> StaffApproval:
    """Approve (the money is booked now, in the caller's transaction) or reject a pending
    correction, as a second person. Only corrections: other kinds of request are decided
    where their re-authentication is asked for (the back office). A staff token or the CLI
    stands for the person, so `reauthenticated` defaults to true; the back office passes
    whether its session re-authenticated lately."""
    if "\x00" in approval_id or await repository.correction(session, approval_id) is None:
        raise approvals.ApprovalNotFound(field="approval_id")
    return await approvals.decide(
        session,
        ctx,
        staff,
        approval_id,
        approve=approve,
        reauthenticated=reauthenticated,
        via=via,
    )


async def apply(session: AsyncSession, ctx: Context, approval: StaffApproval, staff: Staff) -> str:
    """Book an approved correction (approvals.decide calls this): check everything again,
    record the line's money as the order's through the callback inbox, resolve the
    discrepancy, audit. Returns the txn_ref of the attempt that took the money."""
    asked = approval.payload
    await ctx.providers.refresh(session, ctx.box)
    try:
        provider = ctx.providers.get(str(asked["provider"]))
        line = await _still_open(session, asked, approval)
        payment, effect = await _payable(
            session, staff, provider, str(asked["payment_id"]), line.amount, lock=True
        )
    except CorrectionStale:
        raise
    except PayGovError as refused:
        raise CorrectionStale(f"{refused.detail} Nothing was booked.") from None
    if effect != asked["effect"]:
        raise CorrectionStale(
            f"Payment {payment.id} was paid meanwhile: the line's money would now be an"
            " overpayment. Nothing was booked; reject this request and ask again if that is"
            " what is meant."
        )
    attempt = await _new_attempt(session, ctx, payment, provider, line, approval)
    result = await callbacks.apply_learned(
        session,
        ctx,
        provider,
        ProviderEvent(
            txn_ref=attempt.txn_ref,
            outcome="succeeded",
            amount=line.amount,
            dedupe_key=line.dedupe_key,
            provider_txn_id=line.bank_ref,
            paid_at=line.booked_at,
            details={"source": SOURCE},
        ),
        "STATEMENT-MANUAL",
        f"approval={approval.id} run={line.run.id} line={line.line_no}"
        f" booked_at={line.booked_at.isoformat()} bank_ref={line.bank_ref}",
    )
    if result is None:  # another approval of the same line got there first
        raise CorrectionStale("This line's money was booked to an order already.")
    if result is not AckResult.CONFIRMED:  # the checks above make this a bug, not a refusal
        raise RuntimeError(f"correction {approval.id}: the inbox answered {result.value}")
    emails = await repository.emails(session, {approval.requested_by})
    asker = emails.get(approval.requested_by, approval.requested_by)
    await _resolve(session, ctx, Booking(line, attempt, payment, effect, approval, asker, staff))
    return attempt.txn_ref


async def _still_open(
    session: AsyncSession, asked: dict[str, Any], approval: StaffApproval
) -> Line:
    """The line as the day's standing run sees it now: still a discrepancy of the same class,
    unresolved, its money not booked, the same amount."""
    day = date.fromisoformat(str(asked["day"]))
    run = await recon.current_run(session, str(asked["provider"]), day)
    if run is None:
        raise CorrectionStale(f"No completed run stands for {asked['provider']} on {day}.")
    row = await repository.discrepancy_about(
        session, run, str(asked["subject"]), str(asked["class"])
    )
    if row is None:
        raise CorrectionStale(
            f"The day's latest run ({run.id}) has no {asked['class']} discrepancy about"
            f" {asked['subject']} any more. Nothing was booked."
        )
    found = _as_dict(row)
    if found["resolution"] is not None:
        raise CorrectionStale(
            f"The discrepancy was resolved meanwhile by {found['resolved_by']}:"
            f" {found['resolution']} Nothing was booked."
        )
    line = await _correctable(session, run, found)
    if line.amount != approval.amount:
        raise CorrectionStale(
            f"The line now reads {line.amount} VND, not {approval.amount}. Nothing was booked."
        )
    return line


async def _new_attempt(
    session: AsyncSession,
    ctx: Context,
    payment: Payment,
    provider: LiveProvider,
    line: Line,
    approval: StaffApproval,
) -> Attempt:
    """A new attempt at the line's provider for the line's amount, as checkout opens one
    (paygov/payments/attempts.py `open_attempt`), never polled: the provider never saw its
    txn_ref. Always a new one: an open attempt of the order may still bring its own money
    (its callback would then be taken for a duplicate of this one), and a succeeded one
    would take this money for a duplicate."""
    attempt = add_attempt(
        session,
        payment,
        provider=provider.code,
        bank=None,
        amount=line.amount,
        at=ctx.clock.now(),
        raw={"manual_correction": approval.id, "run_id": line.run.id, "line_no": line.line_no},
    )
    await payments.change(
        session,
        ctx,
        payment,
        event_type="payment.attempt_started",
        event_data={
            "attempt_id": attempt.id,
            "txn_ref": attempt.txn_ref,
            "provider": provider.code,
            "bank": None,
            "source": "manual_correction",
            "approval_id": approval.id,
        },
        # A later status stays: the success that follows makes it `late`, as money does.
        **({"status": "pending"} if payment.status == "created" else {}),
    )
    return attempt


@dataclass(frozen=True)
class Booking:
    """An approved correction as booked: what the resolutions and the audit entry say."""

    line: Line
    attempt: Attempt
    payment: Payment
    effect: str
    approval: StaffApproval
    asker: str  # the email of who asked
    approver: Staff

    def reason(self) -> str:
        note = str(self.approval.payload.get("reason") or "")
        return (
            f"Corrected by {self.approval.id}: {self.line.amount} VND booked to payment"
            f" {self.payment.id} as"
            f" {'an overpayment' if self.effect == 'overpayment' else 'its payment'}"
            f" (attempt {self.attempt.txn_ref}); asked by {self.asker}, approved by"
            f" {self.approver.email}." + (f" {note}" if note else "")
        )


async def _resolve(session: AsyncSession, ctx: Context, booked: Booking) -> None:
    """The line's discrepancy resolved with a reason naming the correction, and the
    attempt's own discrepancy resolved before it appears: the run of the day the money was
    booked finds a success with no line of that day (its line is on `line.run.day`'s
    statement) and calls it `missing_at_bank` — or `held`, then `missing_at_bank` the day
    after, when booked in the day's last hour. Audited."""
    now = ctx.clock.now()
    line, run, by = booked.line, booked.line.run, booked.approver.actor[:120]
    reason = booked.reason()
    recon.add_resolution(
        session,
        Resolution(
            id=new_id("res"),
            provider=run.provider,
            day=run.day,
            subject=line.subject,
            cls=line.cls,
            reason=reason[:2000],
            resolved_by=by,
            resolved_at=now,
        ),
    )
    for day in _days_classing(ctx, now):
        recon.add_resolution(
            session,
            Resolution(
                id=new_id("res"),
                provider=run.provider,
                day=day,
                subject=f"attempt:{booked.attempt.id}",
                cls="missing_at_bank",
                reason=f"Booked by correction {booked.approval.id} from {run.provider}'s"
                f" statement of {run.day.isoformat()} ({line.subject}): that day's line"
                " holds this money.",
                resolved_by=by,
                resolved_at=now,
            ),
        )
    try:
        await session.flush()
    except Exception as exc:
        if is_unique_violation(exc):  # someone resolved the line between our look and now
            raise CorrectionStale("The discrepancy was resolved meanwhile.") from None
        raise
    await audit.record(
        session,
        at=now,
        actor=booked.approver.actor,
        action="reconciliation.manually_corrected",
        subject_type="payment",
        subject_id=booked.payment.id,
        details={
            "approval_id": booked.approval.id,
            "requested_by": booked.asker,
            "approved_by": booked.approver.email,
            "provider": run.provider,
            "day": run.day.isoformat(),
            "run_id": run.id,
            "item_id": line.item_id,
            "subject": line.subject,
            "class": line.cls,
            "amount": line.amount,
            "effect": booked.effect,
            "txn_ref": booked.attempt.txn_ref,
            "reason": reason[:500],
        },
    )


def _days_classing(ctx: Context, at: datetime) -> list[date]:
    """The business days whose runs look at an attempt that succeeded at `at`."""
    day = at.astimezone(ZoneInfo(ctx.settings.business_timezone)).date()
    if at >= reconciliation.window(ctx, day).hold_from:
        return [day, day + timedelta(days=1)]
    return [day]


# --- reading ------------------------------------------------------------------------------


async def corrections(
    session: AsyncSession, *, status: str | None = "pending", limit: int = 100
) -> list[dict[str, Any]]:
    """Correction requests, newest first, as `correction_view`s (`status` None: all)."""
    found = await repository.corrections(session, status=status, limit=limit)
    emails = await repository.emails(
        session,
        {a.requested_by for a in found} | {a.decided_by for a in found if a.decided_by},
    )
    return [correction_view(approval, emails) for approval in found]


async def view_of(session: AsyncSession, approval: StaffApproval) -> dict[str, Any]:
    ids = {approval.requested_by} | ({approval.decided_by} if approval.decided_by else set())
    return correction_view(approval, await repository.emails(session, ids))


def correction_view(approval: StaffApproval, emails: dict[str, str]) -> dict[str, Any]:
    """A correction request as the API and the CLI show it."""
    asked = approval.payload
    return {
        "approval_id": approval.id,
        "status": approval.status,
        "run_id": asked["run_id"],
        "item_id": asked["item_id"],
        "provider": asked["provider"],
        "date": asked["day"],
        "subject": asked["subject"],
        "class": asked["class"],
        "line_no": asked["line_no"],
        "bank_ref": asked["bank_ref"],
        "booked_at": asked["booked_at"],
        "amount": approval.amount,
        "payment_id": asked["payment_id"],
        "effect": asked["effect"],
        "reason": asked.get("reason", ""),
        "requested_by": emails.get(approval.requested_by, approval.requested_by),
        "requested_at": approval.requested_at.isoformat(),
        "decided_by": emails.get(approval.decided_by, approval.decided_by)
        if approval.decided_by
        else None,
        "decided_at": approval.decided_at.isoformat() if approval.decided_at else None,
        "txn_ref": approval.outcome,
    }


# --- the CLI's person ---------------------------------------------------------------------


async def staff_by_email(session: AsyncSession, email: str) -> Staff:
    """The staff user a command acts as (`--by EMAIL`): known and not disabled."""
    user = await repository.user_by_email(session, email.strip().lower()[:254])
    if user is None:
        raise StaffUserNotFound(f"No staff user {email.strip()!r}.", field="by")
    if user.disabled_at is not None:
        raise StaffUserDisabled(f"Staff user {user.email} is disabled.", field="by")
    return staff_of(user)
