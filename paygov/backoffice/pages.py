"""Page plumbing of the back office: templates, the session guard, CSRF, forms, errors,
and `staff_page`, the one shape every signed-in route has."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from paygov.backoffice import service
from paygov.backoffice.i18n import strings
from paygov.backoffice.service import Visit
from paygov.backoffice.settings import BackofficeSettings
from paygov.checkout.api import local_time
from paygov.kit.context import Context
from paygov.kit.errors import PayGovError, ValidationFailed
from paygov.kit.http import error_response
from paygov.kit.money import format_vnd
from paygov.staff.roles import Permission, Staff

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
PREFIX = "/backoffice"
COOKIE = "paygov_bo"
LOGIN_CSRF_COOKIE = "paygov_bo_login"
LANG_COOKIE = "paygov_bo_lang"
NO_STORE = {"Cache-Control": "no-store"}
Text = Annotated[str, Query(max_length=64)]  # a query parameter of ours
MAX_FORM_BYTES = 8192
MAX_UPLOAD_BYTES = 256 * 1024 * 1024  # a statement file: a day of a busy provider
# Notices a page shows after a redirect (`?msg=…`), each a key of the strings.
FLASHES = (
    "reauth_ok",
    "refund_made",
    "refund_waiting",
    "approved",
    "approved_change",
    "approved_correction",
    "change_waiting",
    "correction_waiting",
    "rejected",
    "resent",
    "user_created",
    "user_disabled",
    "user_enabled",
)

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["vnd"] = format_vnd
templates.filters["local"] = lambda at: local_time(at) if isinstance(at, datetime) else "—"

# (path, label key, permission) of the navigation; each link shows only to who may use it.
NAV = [
    ("/dashboard", "nav_dashboard", Permission.READ),
    ("/payments", "nav_payments", Permission.READ),
    ("/approvals", "nav_approvals", Permission.REFUND),
    ("/reconciliation", "nav_reconciliation", Permission.RESOLVE),
    ("/reports", "nav_reports", Permission.DOWNLOAD),
    ("/webhooks", "nav_webhooks", Permission.READ),
    ("/agencies", "nav_agencies", Permission.ADMINISTER),
    ("/providers", "nav_providers", Permission.ADMINISTER),
    ("/users", "nav_users", Permission.ADMINISTER),
    ("/audit", "nav_audit", Permission.ADMINISTER),
]


class SignInRequired(Exception):
    """No live session: go to the sign-in page."""


class PageDenied(Exception):
    """403 (the role may not) or 404 (outside the user's agency, or absent)."""

    def __init__(self, status_code: int) -> None:
        super().__init__(status_code)
        self.status_code = status_code


def env(request: Request) -> tuple[Context, BackofficeSettings]:
    return request.app.state.ctx, request.app.state.backoffice


def language(request: Request) -> str:
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return "en" if asked == "en" else "vi"


def render(
    request: Request,
    name: str,
    visit: Visit | None,
    *,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    lang = language(request)
    nav = [
        (PREFIX + path, key)
        for path, key, permission in NAV
        if visit is not None and visit.staff.may(permission)
    ]
    values.setdefault("flash", None)
    values.setdefault("error", None)
    html = templates.get_template(name).render(
        t=strings(lang),
        lang=lang,
        here=request.url.path,
        visit=visit,
        staff=visit.staff if visit is not None and visit.row.stage == "signed_in" else None,
        csrf=visit.csrf if visit is not None else "",
        nav=nav,
        **values,
    )
    response = HTMLResponse(html, status_code=status_code, headers=NO_STORE)
    if request.query_params.get("lang") in ("vi", "en"):
        response.set_cookie(
            LANG_COOKIE, lang, max_age=31_536_000, path=PREFIX, secure=True, samesite="lax"
        )
    return response


def redirect(path: str) -> RedirectResponse:
    """Only ever to a path of ours (never a URL from the request: no open redirect)."""
    assert path.startswith(PREFIX + "/") or path == PREFIX
    return RedirectResponse(path, status_code=303, headers=NO_STORE)


def set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, path=PREFIX, secure=True, httponly=True, samesite="lax")


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def set_login_csrf(response: Response, value: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE, value, path=PREFIX, secure=True, httponly=True, samesite="lax"
    )


async def read_form(request: Request) -> dict[str, str]:
    """A small url-encoded form, first value of each field; a multipart form's text fields
    (its one file is the route's: `upload`); anything else reads as empty."""
    kind = request.headers.get("content-type", "").lower()
    if kind.startswith("multipart/form-data"):
        return await _multipart_fields(request)
    if "application/x-www-form-urlencoded" not in kind:
        return {}
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return {}
    try:
        fields = parse_qs(body.decode(), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return {}
    form = {key: values[0] for key, values in fields.items()}
    if any("\x00" in key + value for key, value in form.items()):
        return {}  # no field of ours holds one, and PostgreSQL refuses it in a query
    return form


async def _multipart_fields(request: Request) -> dict[str, str]:
    declared = request.headers.get("content-length", "")
    if not declared.isdigit() or int(declared) > MAX_UPLOAD_BYTES:
        return {}
    try:
        parts = await request.form(max_files=1, max_fields=10, max_part_size=MAX_FORM_BYTES)
    except (HTTPException, ValueError):  # malformed: no field, so no CSRF token either
        return {}
    return {key: value for key, value in parts.items() if isinstance(value, str)}


async def upload(request: Request) -> UploadFile | None:
    """The file of a multipart form read_form has read (Starlette keeps the parsed form)."""
    found = (await request.form()).get("file")
    return found if isinstance(found, UploadFile) and found.filename else None


def csrf_ok(expected: str, form: dict[str, str]) -> bool:
    given = form.get("csrf", "")
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


async def guard(
    request: Request,
    session: AsyncSession,
    permission: Permission,
    form: dict[str, str] | None = None,
) -> Visit:
    """The signed-in visitor, if their role grants `permission` (403 otherwise); a POST's
    form must carry the session's CSRF token (403 otherwise)."""
    ctx, bo = env(request)
    visit = await service.visit_of(session, ctx, bo, request.cookies.get(COOKIE))
    if visit is None or visit.row.stage != "signed_in":
        raise SignInRequired()
    if form is not None and not csrf_ok(visit.csrf, form):
        raise PageDenied(403)
    if not visit.staff.may(permission):
        raise PageDenied(403)
    return visit


@dataclass(frozen=True)
class Page:
    """A signed-in request being served: its context, open transaction, visitor and form."""

    request: Request
    ctx: Context
    bo: BackofficeSettings
    session: AsyncSession
    visit: Visit
    form: dict[str, str]

    @property
    def staff(self) -> Staff:
        return self.visit.staff

    @property
    def t(self) -> dict[str, str]:
        return strings(language(self.request))

    def today(self) -> date:
        """Today in the business time zone."""
        zone = ZoneInfo(self.ctx.settings.business_timezone)
        return self.ctx.clock.now().astimezone(zone).date()

    def render(
        self,
        name: str,
        *,
        status_code: int = 200,
        refused: PayGovError | None = None,
        **values: Any,
    ) -> HTMLResponse:
        """The page; `refused`, a service's refusal of what the visitor asked, is shown as
        its error with its status."""
        if refused is not None:
            status_code, values["error"] = refused.status_code, refusal(self.request, refused)
        return render(self.request, name, self.visit, status_code=status_code, **values)

    def flash(self, msg: str) -> str | None:
        """The notice named by `?msg=`, if it is one of ours."""
        if msg not in FLASHES:
            return None
        return self.t[msg].format(
            id=self.request.query_params.get("id", "")[:40],
            threshold=f"{self.bo.approval_threshold:,}".replace(",", ".") + " ₫",
        )


@asynccontextmanager
async def staff_page(
    request: Request, permission: Permission, *, post: bool = False
) -> AsyncIterator[Page]:
    """The shape of every signed-in route: one transaction, the visitor guarded for
    `permission` (a POST: its form read first and its CSRF token checked), committed when
    the block ends and rolled back if it raises."""
    ctx, bo = env(request)
    form = await read_form(request) if post else None
    asked = [*request.path_params.values(), *request.query_params.values()]
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, permission, form)
        if any("\x00" in str(value) for value in asked):  # no id or search holds one
            raise PageDenied(404)
        yield Page(request, ctx, bo, session, visit, form or {})


def form_day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("Give a date as YYYY-MM-DD.", field=field) from None


def refusal(request: Request, exc: PayGovError) -> str:
    """A service's refusal in the page's language where the strings have it (by code and
    field, then by code), else the service's own words."""
    t = strings(language(request))
    for key in (f"err_{exc.code}_{exc.field}", f"err_{exc.code}"):
        if key in t:
            return t[key].format(detail=exc.detail)
    return exc.detail


def in_scope(visit: Visit, agency_id: str) -> None:
    """Another agency's object reads as absent to an agency_finance user."""
    if not visit.staff.sees_agency(agency_id):
        raise PageDenied(404)


async def _visit_or_none(request: Request) -> Visit | None:
    ctx, bo = env(request)
    async with ctx.db.read() as session:
        visit = await service.visit_of(session, ctx, bo, request.cookies.get(COOKIE))
    return visit if visit is not None and visit.row.stage == "signed_in" else None


def message(
    request: Request, visit: Visit | None, title: str, text: str, status_code: int
) -> HTMLResponse:
    return render(request, "message.html", visit, status_code=status_code, title=title, text=text)


async def on_sign_in_required(request: Request, _: Exception) -> Response:
    return redirect(PREFIX + "/login")


async def on_denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageDenied)
    t = strings(language(request))
    visit = await _visit_or_none(request)
    if exc.status_code == 404:
        return message(request, visit, t["not_found_title"], t["not_found_text"], 404)
    return message(request, visit, t["forbidden_title"], t["forbidden_text"], 403)


async def on_paygov_error(request: Request, exc: Exception) -> Response:
    """Back-office pages show a service's refusal as a page; elsewhere the JSON error."""
    assert isinstance(exc, PayGovError)
    if not request.url.path.startswith(PREFIX + "/"):
        return error_response(exc)
    t = strings(language(request))
    visit = await _visit_or_none(request)
    title = {403: t["forbidden_title"], 404: t["not_found_title"]}.get(
        exc.status_code, t["error_title"]
    )
    return message(request, visit, title, refusal(request, exc), exc.status_code)
