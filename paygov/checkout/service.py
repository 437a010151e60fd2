"""Checkout's rules: what a citizen may do with a payment link, and what each page shows.

The edge (api.py) owns every transaction. Opening an attempt is one short transaction;
calling the provider happens after it commits, so a slow bank never holds a row lock, and
a provider that does not answer leaves the attempt open: its outcome is unknown, and
unknown is never guessed (the worker asks the provider later).
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import segno
from sqlalchemy.ext.asyncio import AsyncSession

from bank_adapters.base import InboundRequest, ProviderUnavailable, QrCode, Redirect
from paygov.agencies import repository as agencies
from paygov.agencies.models import Agency
from paygov.banks.catalogue import Route, WaysToPay, load_catalogue, ways_to_pay
from paygov.kit.context import Context
from paygov.kit.errors import NotFound, PayGovError, ServiceUnavailable
from paygov.payments import attempts as attempts_service
from paygov.payments import repository
from paygov.payments.attempts import CheckoutNotFound, PaymentNotPayable
from paygov.payments.models import Attempt, Payment, PaymentItem
from paygov.payments.service import status_at
from paygov.providers.live import LiveProvider

TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
TXN_REF = re.compile(r"^[A-Z0-9]{1,20}$")
PAYABLE = ("created", "pending")

Outcome = Literal["choose", "succeeded", "pending", "declined", "failed", "expired", "cancelled"]
FINISHED: dict[str, Outcome] = {
    "succeeded": "succeeded",
    "failed": "failed",
    "expired": "expired",
    "cancelled": "cancelled",
}


class MethodNotOffered(PayGovError):
    status_code = 400
    code = "method_not_offered"
    message = "Choose one of the ways to pay listed on the page."


class WayUnavailable(ServiceUnavailable):
    code = "provider_unavailable"
    message = "This way to pay is unavailable right now; choose another."


class QrNotFound(NotFound):
    code = "qr_not_found"
    message = "No VietQR transfer for this payment link."


class ReturnNotRecognised(NotFound):
    code = "return_not_recognised"
    message = "The provider sent the browser back with no payment we know."


@dataclass(frozen=True)
class Checkout:
    """A payment as its checkout pages see it, at one instant."""

    payment: Payment
    agency: Agency
    items: list[PaymentItem]
    attempts: list[Attempt]
    status: str  # what the portal would see now (expired past the deadline)
    now: datetime

    @property
    def payable(self) -> bool:
        """Ways to pay are shown only before the deadline, whatever grace an attempt has."""
        return self.status in PAYABLE and self.now < self.payment.expires_at

    @property
    def has_open_attempt(self) -> bool:
        return any(attempt.status == "open" for attempt in self.attempts)

    @property
    def receipt(self) -> Attempt | None:
        """The attempt that paid: the first success (a second one is an overpayment)."""
        paid = [a for a in self.attempts if a.status == "succeeded"]
        return min(paid, key=lambda a: a.updated_at) if paid else None

    @property
    def outcome(self) -> Outcome:
        """Which result page to show."""
        if self.status in FINISHED:
            return FINISHED[self.status]
        if self.has_open_attempt:
            return "pending"
        if self.attempts and self.attempts[-1].status == "failed":
            return "declined" if self.payable else "expired"
        return "choose"


def valid_token(token: str) -> bool:
    """Checkout tokens are url-safe base64; anything else cannot be one (and never hits SQL)."""
    return bool(TOKEN.match(token))


async def load(session: AsyncSession, ctx: Context, token: str) -> Checkout:
    """The payment behind a checkout token with its agency, items and attempts.

    Also refreshes the process's providers (cached for a few seconds), which every page
    needs: to list the ways to pay, or to name the one that was used.
    """
    payment = await repository.by_checkout_token(session, token) if valid_token(token) else None
    if payment is None:
        raise CheckoutNotFound()
    agency = await agencies.get(session, payment.agency_id)
    items = (await repository.items_of(session, [payment.id]))[payment.id]
    tries = await repository.attempts_of(session, payment.id)
    await ctx.providers.refresh(session, ctx.box)
    now = ctx.clock.now()
    grace = attempts_service.grace(ctx)
    return Checkout(payment, agency, items, tries, status_at(payment, now, grace), now)


async def offered_ways(session: AsyncSession, ctx: Context, checkout: Checkout) -> WaysToPay:
    """The ways to pay that are enabled, healthy, of the agency's mode and take the amount."""
    await ctx.providers.refresh(session, ctx.box)
    offered = ctx.providers.offered(checkout.agency.mode, checkout.payment.amount)
    return ways_to_pay(load_catalogue(), offered)


def choose(ways: WaysToPay, method: str | None) -> Route:
    """The route a posted `method` names; anything not on the page is a 400."""
    route = ways.route(method) if method and len(method) <= 100 else None
    if route is None:
        raise MethodNotOffered(field="method")
    return route


async def open_attempt(
    session: AsyncSession, ctx: Context, checkout: Checkout, route: Route
) -> tuple[Payment, Attempt]:
    """Record the citizen's choice: a new open attempt, the payment `pending`."""
    if ctx.clock.now() >= checkout.payment.expires_at:
        raise PaymentNotPayable()
    return await attempts_service.open_attempt(
        session,
        ctx,
        token=checkout.payment.checkout_token,
        mode=checkout.agency.mode,
        provider=route.provider,
        bank_code=route.bank_code,
    )


async def start(
    ctx: Context, provider: LiveProvider, payment: Payment, attempt: Attempt, client_ip: str
) -> Redirect | QrCode:
    """Ask the provider's adapter for the request that sends the citizen to pay.

    Call it after the attempt is committed. A provider that does not answer opens its
    circuit a step further and raises WayUnavailable; the attempt stays open.
    """
    request = attempts_service.attempt_request(ctx, payment, attempt, client_ip)
    try:
        result = await provider.adapter.start(request)
    except ProviderUnavailable:
        provider.breaker.record_failure()
        raise WayUnavailable(field="method") from None
    provider.breaker.record_success()
    return result


async def qr_attempt(
    session: AsyncSession, ctx: Context, checkout: Checkout, attempt_id: str
) -> tuple[Attempt, LiveProvider]:
    """An attempt of this payment that goes through a VietQR provider."""
    attempt = next((a for a in checkout.attempts if a.id == attempt_id), None)
    if attempt is None:
        raise QrNotFound()
    await ctx.providers.refresh(session, ctx.box)
    provider = ctx.providers.by_code.get(attempt.provider)
    if provider is None or provider.protocol != "vietqr":
        raise QrNotFound()
    return attempt, provider


def qr_showable(checkout: Checkout, attempt: Attempt) -> bool:
    """A QR is shown only while paying it still makes sense: open attempt, before deadline."""
    return attempt.status == "open" and checkout.payable


async def qr_code(
    ctx: Context, provider: LiveProvider, payment: Payment, attempt: Attempt
) -> QrCode:
    """The attempt's VietQR again: the adapter builds it offline and deterministically."""
    request = attempts_service.attempt_request(ctx, payment, attempt)
    try:
        result = await provider.adapter.start(request)
    except ProviderUnavailable:
        raise WayUnavailable() from None
    if not isinstance(result, QrCode):
        raise QrNotFound()
    return result


def qr_png(payload: str, scale: int = 8) -> bytes:
    """The payload as a PNG (error correction M, the quiet zone the standard asks for)."""
    out = io.BytesIO()
    segno.make(payload, error="m", micro=False).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


async def returned_token(
    session: AsyncSession, ctx: Context, provider_code: str, inbound: InboundRequest
) -> str:
    """The checkout token of the attempt a provider's return leg names.

    Only navigation: the return leg proves nothing, the result page reads the database.
    """
    await ctx.providers.refresh(session, ctx.box)
    provider = ctx.providers.by_code.get(provider_code)
    if provider is None:
        raise ReturnNotRecognised()
    txn_ref = provider.adapter.parse_return(inbound).txn_ref
    if not txn_ref or not TXN_REF.match(txn_ref):
        raise ReturnNotRecognised()
    attempt = await repository.attempt_by_ref(session, txn_ref)
    if attempt is None or attempt.provider != provider_code:
        raise ReturnNotRecognised()
    payment = await repository.lock_payment(session, attempt.payment_id, lock=False)
    return payment.checkout_token
