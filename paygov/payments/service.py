"""Business rules of payment orders: creation, the status a portal sees, search, cancel."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies.profile import AgencyProfile
from paygov.idempotency.service import Claim
from paygov.kit.context import Context
from paygov.kit.errors import Conflict, NotFound, ValidationFailed
from paygov.kit.ids import new_id
from paygov.kit.money import CURRENCY
from paygov.payments import repository
from paygov.payments.models import Payment, PaymentEvent, PaymentItem
from paygov.payments.schemas import CreatePayment
from paygov.webhooks import outbox

PAYER_PURPOSE = "payer"
TEST_RETURN_HOSTS = frozenset({"localhost", "127.0.0.1"})


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = "No payment with this id."


class PaymentNotCancellable(Conflict):
    code = "payment_not_cancellable"
    message = "Only a payment in status 'created' can be cancelled."


class ItemsDoNotSum(ValidationFailed):
    code = "items_sum_mismatch"
    message = "The items' amounts must add up to the payment's amount."


class UnknownBeneficiary(ValidationFailed):
    code = "unknown_beneficiary"
    message = "A beneficiary account is not registered for this agency."


class ReturnUrlNotAllowed(ValidationFailed):
    code = "return_url_not_allowed"
    message = "return_url must be https on a host registered for this agency."


class InvalidCursor(ValidationFailed):
    code = "invalid_cursor"
    message = "The cursor is not one this API returned."


def status_at(payment: Payment, now: datetime, grace: timedelta) -> str:
    """What a portal sees: past the deadline an unresolved payment reads `expired` at once,
    or after the grace period while an attempt is still with a provider."""
    if payment.status in ("created", "pending"):
        deadline = payment.expires_at + (grace if payment.attempt_open else timedelta(0))
        if now >= deadline:
            return "expired"
    return payment.status


async def change(
    session: AsyncSession,
    ctx: Context,
    payment: Payment,
    *,
    event_type: str,
    event_data: dict[str, Any],
    **changes: Any,
) -> None:
    """Every change of a locked payment: version, history, and (for the changes a portal is
    told about) the outbox, all in the caller's transaction."""
    at = ctx.clock.now()
    event_id = new_id("evt")
    await repository.transition(
        session,
        payment,
        at=at,
        event_type=event_type,
        event_id=event_id,
        event_data=event_data,
        **changes,
    )
    if event_type in outbox.PAYMENT_WEBHOOK_TYPES:
        items = (await repository.items_of(session, [payment.id]))[payment.id]
        await outbox.record(
            session,
            agency_id=payment.agency_id,
            subject_id=payment.id,
            event_type=event_type,
            event_id=event_id,
            data=PaymentView(payment, items).render(ctx),
            at=at,
        )


def to_millisecond(at: datetime) -> datetime:
    """API timestamps show milliseconds; storing the same keeps cursors and bodies exact."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def timestamp(at: datetime | None) -> str | None:
    return (
        None
        if at is None
        else at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def check_return_url(url: str, agency: AgencyProfile) -> None:
    """https on a registered host; in test mode also http(s) on localhost. No tricks."""
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        raise ReturnUrlNotAllowed(field="return_url")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018  (raises on a malformed port)
    except ValueError:
        raise ReturnUrlNotAllowed(field="return_url") from None
    if parts.username is not None or parts.password is not None:
        raise ReturnUrlNotAllowed(field="return_url")
    if parts.scheme == "https" and host in agency.return_hosts:
        return
    if agency.is_test and parts.scheme in ("http", "https") and host in TEST_RETURN_HOSTS:
        return
    raise ReturnUrlNotAllowed(field="return_url")


@dataclass(frozen=True)
class PaymentView:
    """A payment with its items, ready to show a portal."""

    payment: Payment
    items: list[PaymentItem] | list[dict[str, Any]]

    def render(self, ctx: Context) -> dict[str, Any]:
        p = self.payment
        items = [_item_dict(item) for item in self.items]
        status = status_at(p, ctx.clock.now(), timedelta(seconds=ctx.settings.expiry_grace_seconds))
        return {
            "payment_id": p.id,
            "status": status,
            "version": p.version,
            "amount": p.amount,
            "currency": CURRENCY,
            "reference": p.reference,
            "description": p.description,
            "items": items,
            "metadata": p.extra,
            "language": p.language,
            "return_url": p.return_url,
            "checkout_url": f"{ctx.settings.public_url.rstrip('/')}/checkout/{p.checkout_token}",
            "created_at": timestamp(p.created_at),
            "expires_at": timestamp(p.expires_at),
            "provider": p.provider,
            "bank": p.bank,
            "paid_at": timestamp(p.paid_at),
            "late": p.late,
            "failure": (
                {"code": p.failure_code, "message": p.failure_message or ""}
                if p.failure_code
                else None
            ),
            "refund_summary": {
                "amount_refunded": p.amount_refunded,
                "amount_available": amount_available(p),
                "amount_overpaid": p.amount_overpaid,
            },
        }


def amount_available(payment: Payment) -> int:
    """What may still be refunded: a paid order's amount and any overpayment, less refunds
    not failed (DESIGN.md §4: an overpayment is offered for refund)."""
    if payment.status != "succeeded":
        return 0
    return payment.amount + payment.amount_overpaid - payment.amount_refunded


def _item_dict(item: PaymentItem | dict[str, Any]) -> dict[str, Any]:
    if isinstance(item, dict):
        return {key: item[key] for key in ("code", "name", "amount", "beneficiary_account")}
    return {
        "code": item.code,
        "name": item.name,
        "amount": item.amount,
        "beneficiary_account": item.beneficiary_account,
    }


@dataclass(frozen=True)
class Created:
    view: PaymentView
    body: bytes  # the 201 response, exactly as stored with the idempotency key


async def create_payment(
    session: AsyncSession,
    ctx: Context,
    agency: AgencyProfile,
    body: CreatePayment,
    claim: Claim | None = None,
) -> Created:
    """Validate an order against the agency's rules and store it with its first event
    (and the idempotency key guarding it) in one write."""
    check_return_url(body.return_url, agency)
    items = _items(agency, body)
    now = to_millisecond(ctx.clock.now())
    payment = Payment(
        id=new_id("pay"),
        agency_id=agency.id,
        reference=body.reference,
        description=body.description,
        amount=body.amount,
        status="created",
        version=1,
        attempt_open=False,
        declines=0,
        late=False,
        language=body.language,
        return_url=body.return_url,
        checkout_token=secrets.token_urlsafe(24),
        extra=body.metadata or {},
        payer_sealed=(
            ctx.box.encrypt_json(body.payer.model_dump(exclude_none=True), PAYER_PURPOSE)
            if body.payer
            else None
        ),
        provider=None,
        bank=None,
        failure_code=None,
        failure_message=None,
        amount_refunded=0,
        amount_overpaid=0,
        expires_at=now + timedelta(seconds=body.expires_in),
        paid_at=None,
        created_at=now,
        updated_at=now,
    )
    row = repository.payment_row(payment)
    for position, item in enumerate(items):
        item.update(payment_id=payment.id, position=position)
    event = {
        "id": new_id("evt"),
        "payment_id": payment.id,
        "type": "payment.created",
        "version": 1,
        "data": {"status": "created", "amount": body.amount},
        "created_at": now,
    }
    view = PaymentView(payment, items)
    response = orjson.dumps(view.render(ctx))
    key_row = claim.row(agency.id, 201, response) if claim else None
    await repository.insert_payment(session, row, items, event, key_row)
    return Created(view, response)


def _items(agency: AgencyProfile, body: CreatePayment) -> list[dict[str, Any]]:
    default = agency.default_beneficiary
    if body.items is None:
        return [
            {
                "code": "FEE",
                "name": body.description,
                "amount": body.amount,
                "beneficiary_account": default,
            }
        ]
    registered = set(agency.beneficiaries)
    rows: list[dict[str, Any]] = []
    for index, item in enumerate(body.items):
        if item.beneficiary_account is not None and item.beneficiary_account not in registered:
            raise UnknownBeneficiary(field=f"items[{index}].beneficiary_account")
        rows.append(
            {
                "code": item.code,
                "name": item.name,
                "amount": item.amount,
                "beneficiary_account": item.beneficiary_account or default,
            }
        )
    if sum(item.amount for item in body.items) != body.amount:
        raise ItemsDoNotSum(field="items")
    return rows


async def get_payment(session: AsyncSession, agency: AgencyProfile, payment_id: str) -> PaymentView:
    payment = await _owned(session, agency, payment_id)
    items = await repository.items_of(session, [payment.id])
    return PaymentView(payment, items[payment.id])


async def _owned(
    session: AsyncSession, agency: AgencyProfile, payment_id: str, *, for_update: bool = False
) -> Payment:
    """The agency's own payment; another agency's reads as not found, never forbidden."""
    if "\x00" in payment_id:  # no id holds one, and PostgreSQL refuses it in a query
        raise PaymentNotFound(field="payment_id")
    payment = await repository.get(session, agency.id, payment_id, for_update=for_update)
    if payment is None:
        raise PaymentNotFound(field="payment_id")
    return payment


@dataclass(frozen=True)
class Page:
    views: list[PaymentView]
    next_cursor: str | None


def encode_cursor(payment: Payment) -> str:
    raw = orjson.dumps([payment.created_at.isoformat(), payment.id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, payment_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        parsed = datetime.fromisoformat(at)
        if parsed.tzinfo is None or not isinstance(payment_id, str) or "\x00" in payment_id:
            raise ValueError(cursor)
        return parsed.astimezone(UTC), payment_id
    except (ValueError, TypeError, OverflowError, orjson.JSONDecodeError):
        raise InvalidCursor(field="cursor") from None


async def search_payments(
    session: AsyncSession,
    ctx: Context,
    agency: AgencyProfile,
    *,
    reference: str | None = None,
    status: str | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    cursor: str | None = None,
    limit: int = 50,
) -> Page:
    """The agency's payments, newest first, a page at a time."""
    rows = await repository.search(
        session,
        agency.id,
        now=ctx.clock.now(),
        grace=timedelta(seconds=ctx.settings.expiry_grace_seconds),
        reference=reference,
        status=status,
        created_from=created_from,
        created_to=created_to,
        after=decode_cursor(cursor) if cursor else None,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = await repository.items_of(session, [row.id for row in rows]) if rows else {}
    return Page(
        [PaymentView(row, items[row.id]) for row in rows], encode_cursor(rows[-1]) if more else None
    )


async def cancel_payment(
    session: AsyncSession, ctx: Context, agency: AgencyProfile, payment_id: str
) -> PaymentView:
    """Cancel an order nobody has started paying; anything else is a 409."""
    payment = await _owned(session, agency, payment_id, for_update=True)
    now = ctx.clock.now()
    if status_at(payment, now, timedelta(seconds=ctx.settings.expiry_grace_seconds)) != "created":
        raise PaymentNotCancellable()
    await change(
        session,
        ctx,
        payment,
        event_type="payment.cancelled",
        event_data={"status": "cancelled"},
        status="cancelled",
    )
    items = await repository.items_of(session, [payment.id])
    return PaymentView(payment, items[payment.id])


async def events_of(
    session: AsyncSession, agency: AgencyProfile, payment_id: str
) -> list[PaymentEvent]:
    payment = await _owned(session, agency, payment_id)
    return await repository.events_of(session, payment.id)
