"""The citizen's pages: `/checkout/{token}` and what follows it (DESIGN.md §6).

Server-rendered, Vietnamese first, usable without JavaScript (the script only adds the
bank search, copy buttons and live polling). Every response is `Cache-Control: no-store`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bank_adapters.base import InboundRequest, QrCode
from paygov.banks.catalogue import WaysToPay, load_catalogue
from paygov.checkout import service
from paygov.checkout.i18n import Language, Strings, pick_language, strings
from paygov.checkout.service import Checkout, MethodNotOffered, WayUnavailable
from paygov.kit.context import Context
from paygov.kit.errors import PayGovError
from paygov.kit.http import error_response
from paygov.kit.money import format_vnd
from paygov.payments.attempts import CheckoutNotFound, PaymentNotPayable, ProviderNotOffered

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
NO_STORE = {"Cache-Control": "no-store"}
REFRESH_SECONDS = 5
MAX_FORM_BYTES = 4096

try:
    VIETNAM: tzinfo = ZoneInfo("Asia/Ho_Chi_Minh")
except ZoneInfoNotFoundError:  # a slim image without tzdata; Vietnam keeps UTC+7 all year
    VIETNAM = timezone(timedelta(hours=7), "ICT")

router = APIRouter(prefix="/checkout", tags=["checkout"], include_in_schema=False)

# Read config/banks.toml when the app is built: a malformed catalogue stops start-up with
# one ConfigurationError line instead of failing a citizen's first checkout.
load_catalogue()

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def local_time(at: datetime) -> str:
    """`14:05 03/02/2026`: Vietnam time, the way both languages write it there."""
    return at.astimezone(VIETNAM).strftime("%H:%M %d/%m/%Y")


templates.filters["vnd"] = format_vnd
templates.filters["local"] = local_time


def context_of(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def render(
    name: str, status_code: int, t: Strings, here: str | None, **values: Any
) -> HTMLResponse:
    """A page; `here` is the GET path the language switch links to (None: no switch)."""
    values.setdefault("test_mode", False)
    values.setdefault("watch", None)
    values.setdefault("refresh", None)
    html = templates.get_template(name).render(t=t, lang=t.language, here=here, **values)
    return HTMLResponse(html, status_code=status_code, headers=NO_STORE)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


def message(request: Request, t: Strings, title: str, text: str, status_code: int) -> HTMLResponse:
    here = request.url.path if request.method == "GET" else None
    return render("message.html", status_code, t, here, title=title, text=text)


async def on_checkout_not_found(request: Request, exc: Exception) -> Response:
    """An unknown checkout link: a readable page (JSON for the status poll)."""
    if request.url.path.endswith("/status"):
        assert isinstance(exc, CheckoutNotFound)
        response = error_response(exc)
        response.headers.update(NO_STORE)
        return response
    return not_found(request)


def not_found(request: Request) -> HTMLResponse:
    t = strings(pick_language(request.query_params.get("lang"), "vi"))
    return message(request, t, t.not_found_title, t.not_found_text, 404)


def language_of(request: Request, checkout: Checkout) -> Language:
    return pick_language(request.query_params.get("lang"), checkout.payment.language)


def paths(checkout: Checkout, lang: Language) -> dict[str, str]:
    base = f"/checkout/{quote(checkout.payment.checkout_token)}"
    return {
        "page": f"{base}?lang={lang}",
        "pay": f"{base}/pay?lang={lang}",
        "result": f"{base}/result?lang={lang}",
        "status": f"{base}/status",
        "base": base,
    }


def page_values(checkout: Checkout, lang: Language) -> dict[str, Any]:
    """What every page of one payment shows: the order, the links, the portal's URL."""
    return {
        "payment": checkout.payment,
        "agency": checkout.agency,
        "items": checkout.items,
        "paths": paths(checkout, lang),
        "return_url": checkout.payment.return_url,  # as stored: never from the query string
        "test_mode": checkout.agency.is_test,
    }


def choose_page(
    checkout: Checkout,
    ways: WaysToPay,
    lang: Language,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    return render(
        "checkout.html",
        status_code,
        strings(lang),
        paths(checkout, lang)["base"],
        ways=ways,
        error=error,
        started=checkout.has_open_attempt,
        **page_values(checkout, lang),
    )


def result_page(
    request: Request, checkout: Checkout, lang: Language, status_code: int = 200
) -> HTMLResponse:
    t = strings(lang)
    outcome = checkout.outcome
    if outcome == "choose":  # not payable and never tried: the deadline has passed
        outcome = "expired"
    values = page_values(checkout, lang)
    receipt = checkout.receipt
    pending = outcome == "pending"
    return render(
        "result.html",
        status_code,
        t,
        f"{paths(checkout, lang)['base']}/result",
        outcome=outcome,
        receipt=receipt,
        paid_with=paid_with(request, checkout, t),
        refresh=REFRESH_SECONDS if pending else None,
        watch="pending" if pending else None,
        **values,
    )


def paid_with(request: Request, checkout: Checkout, t: Strings) -> str | None:
    """The success page's "paid with": `Vietcombank · Via VNPay`, or `VietQR transfer`."""
    payment = checkout.payment
    if payment.provider is None:
        return None
    provider = context_of(request).providers.by_code.get(payment.provider)
    if provider is not None and provider.protocol == "vietqr":
        return t.vietqr_transfer
    bank = load_catalogue().by_code.get(payment.bank or "")
    if bank is None:
        return provider.name if provider is not None else payment.provider
    if provider is None:
        return bank.short_name
    via = t.via_vnpay if provider.protocol == "vnpay" else t.via_direct
    return f"{bank.short_name} · {via}"


async def read_form(request: Request) -> dict[str, str]:
    """A small url-encoded form, first value of each field; anything else reads as empty."""
    media_type = request.headers.get("content-type", "").lower()
    if "application/x-www-form-urlencoded" not in media_type:
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        fields = parse_qs(body.decode("utf-8", "replace"), max_num_fields=20)
    except ValueError:
        return {}
    return {key: values[0] for key, values in fields.items() if values}


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "127.0.0.1"


# --- routes ------------------------------------------------------------------------------


@router.api_route("/return/{provider_code}", methods=["GET", "POST"])
async def provider_return(provider_code: str, request: Request) -> Response:
    """The browser coming back from a provider: find the payment, show its result."""
    ctx = context_of(request)
    inbound = InboundRequest(
        method=request.method,
        query=dict(request.query_params),
        headers={key.lower(): value for key, value in request.headers.items()},
        body=await request.body(),
    )
    async with ctx.db.read() as session:
        try:
            token = await service.returned_token(session, ctx, provider_code, inbound)
        except service.ReturnNotRecognised:
            t = strings(pick_language(request.query_params.get("lang"), "vi"))
            return message(request, t, t.return_unknown_title, t.return_unknown_text, 404)
    return redirect(f"/checkout/{quote(token)}/result")


@router.get("/{token}")
async def checkout_page(token: str, request: Request) -> Response:
    """The order and the ways to pay it; a finished payment shows its outcome instead."""
    ctx = context_of(request)
    async with ctx.db.read() as session:
        checkout = await service.load(session, ctx, token)
        lang = language_of(request, checkout)
        if not checkout.payable:
            return result_page(request, checkout, lang)
        ways = await service.offered_ways(session, ctx, checkout)
    return choose_page(checkout, ways, lang)


async def _page_again(request: Request, token: str, error_key: str, status_code: int) -> Response:
    """The checkout page once more, with a readable error (or the outcome if it is over)."""
    ctx = context_of(request)
    async with ctx.db.read() as session:
        checkout = await service.load(session, ctx, token)
        lang = language_of(request, checkout)
        if not checkout.payable:
            return result_page(request, checkout, lang, status_code=409)
        ways = await service.offered_ways(session, ctx, checkout)
    error = getattr(strings(lang), error_key)
    return choose_page(checkout, ways, lang, error=error, status_code=status_code)


@router.post("/{token}/pay")
async def pay(token: str, request: Request) -> Response:
    """The citizen's choice: open an attempt (one transaction), then ask the provider."""
    ctx = context_of(request)
    method = (await read_form(request)).get("method")
    async with ctx.db.read() as session:
        checkout = await service.load(session, ctx, token)
        lang = language_of(request, checkout)
        if not checkout.payable:
            return result_page(request, checkout, lang, status_code=409)
        ways = await service.offered_ways(session, ctx, checkout)
    try:
        route = service.choose(ways, method)
    except MethodNotOffered:
        error = strings(lang).error_method
        return choose_page(checkout, ways, lang, error=error, status_code=400)
    try:
        async with ctx.db.transaction() as session:
            payment, attempt = await service.open_attempt(session, ctx, checkout, route)
    except PaymentNotPayable:
        return await _page_again(request, token, "error_not_offered", 409)
    except ProviderNotOffered:
        return await _page_again(request, token, "error_not_offered", 409)
    try:
        started = await service.start(ctx, route.provider, payment, attempt, client_ip(request))
    except WayUnavailable:
        return await _page_again(request, token, "error_unavailable", 503)
    if isinstance(started, QrCode):
        return redirect(f"{paths(checkout, lang)['base']}/qr/{attempt.id}?lang={lang}")
    return redirect(started.url)


@router.get("/{token}/qr/{attempt_id}.png")
async def qr_png(token: str, attempt_id: str, request: Request) -> Response:
    """The VietQR code as a PNG, drawn here from the adapter's payload."""
    ctx = context_of(request)
    gone = Response("Not found", status_code=404, media_type="text/plain", headers=NO_STORE)
    async with ctx.db.read() as session:
        try:
            checkout = await service.load(session, ctx, token)
            attempt, provider = await service.qr_attempt(session, ctx, checkout, attempt_id)
        except (CheckoutNotFound, service.QrNotFound):
            return gone
    if not service.qr_showable(checkout, attempt):
        return gone
    try:
        qr = await service.qr_code(ctx, provider, checkout.payment, attempt)
    except PayGovError:
        return gone
    return Response(service.qr_png(qr.payload), media_type="image/png", headers=NO_STORE)


@router.get("/{token}/qr/{attempt_id}")
async def qr_page(token: str, attempt_id: str, request: Request) -> Response:
    """The QR to scan, the details to type by hand, and waiting for the transfer."""
    ctx = context_of(request)
    async with ctx.db.read() as session:
        checkout = await service.load(session, ctx, token)
        lang = language_of(request, checkout)
        try:
            attempt, provider = await service.qr_attempt(session, ctx, checkout, attempt_id)
        except service.QrNotFound:
            return not_found(request)
    if not service.qr_showable(checkout, attempt):
        return redirect(paths(checkout, lang)["result"])
    t = strings(lang)
    try:
        qr = await service.qr_code(ctx, provider, checkout.payment, attempt)
    except WayUnavailable:
        return message(request, t, t.error_unavailable, t.error_unavailable, 503)
    except service.QrNotFound:
        return not_found(request)
    bank = load_catalogue().by_bin.get(qr.bank_bin)
    return render(
        "qr.html",
        200,
        t,
        request.url.path,
        qr=qr,
        bank=bank,
        png=f"{paths(checkout, lang)['base']}/qr/{quote(attempt.id)}.png",
        refresh=REFRESH_SECONDS,
        watch="qr",
        **page_values(checkout, lang),
    )


@router.get("/{token}/status")
async def status(token: str, request: Request) -> Response:
    """`{status, version}` for the page's polling; the version rises on every change."""
    ctx = context_of(request)
    async with ctx.db.read() as session:
        checkout = await service.load(session, ctx, token)
    body = {"status": checkout.status, "version": checkout.payment.version}
    return JSONResponse(body, headers=NO_STORE)


@router.get("/{token}/result")
async def result(token: str, request: Request) -> Response:
    """What happened, read from the database (never from the provider's return leg)."""
    ctx = context_of(request)
    async with ctx.db.read() as session:
        checkout = await service.load(session, ctx, token)
        lang = language_of(request, checkout)
        if checkout.outcome == "choose" and checkout.payable:
            return redirect(paths(checkout, lang)["page"])
    return result_page(request, checkout, lang)
