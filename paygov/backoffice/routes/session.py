"""Signing in (password, then a TOTP code), signing out, and re-authenticating before a
refund or an approval."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from paygov.backoffice import service
from paygov.backoffice.i18n import strings
from paygov.backoffice.pages import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    PREFIX,
    PageDenied,
    Text,
    csrf_ok,
    env,
    language,
    new_login_csrf,
    read_form,
    redirect,
    render,
    set_login_csrf,
    set_session_cookie,
    staff_page,
)
from paygov.staff.roles import Permission

router = APIRouter()


@router.get("")
@router.get("/")
async def home() -> Response:
    return redirect(PREFIX + "/dashboard")


@router.get("/login")
async def login_page(request: Request) -> Response:
    token = new_login_csrf()
    response = render(request, "login.html", None, login_csrf=token)
    set_login_csrf(response, token)
    return response


@router.post("/login")
async def login(request: Request) -> Response:
    ctx, bo = env(request)
    form = await read_form(request)
    t = strings(language(request))
    if not csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE, ""), form):
        raise PageDenied(403)
    async with ctx.db.transaction() as session:
        outcome = await service.password_step(
            session, ctx, bo, form.get("email", ""), form.get("password", "")
        )
    if outcome.token is None:
        token = new_login_csrf()
        error = t["locked"] if outcome.locked else t["bad_login"]
        page = render(request, "login.html", None, status_code=401, login_csrf=token, error=error)
        set_login_csrf(page, token)
        return page
    response = redirect(PREFIX + "/login/code")
    set_session_cookie(response, outcome.token)
    return response


async def _half_visit(request: Request) -> service.Visit | None:
    ctx, bo = env(request)
    async with ctx.db.transaction() as session:
        visit = await service.visit_of(session, ctx, bo, request.cookies.get(COOKIE))
    return visit if visit is not None and visit.row.stage == "password" else None


@router.get("/login/code")
async def code_page(request: Request) -> Response:
    visit = await _half_visit(request)
    if visit is None:
        return redirect(PREFIX + "/login")
    return render(request, "code.html", visit)


@router.post("/login/code")
async def code(request: Request) -> Response:
    ctx, bo = env(request)
    form = await read_form(request)
    t = strings(language(request))
    async with ctx.db.transaction() as session:
        visit = await service.visit_of(session, ctx, bo, request.cookies.get(COOKIE))
        if visit is None or visit.row.stage != "password":
            return redirect(PREFIX + "/login")
        if not csrf_ok(visit.csrf, form):
            raise PageDenied(403)
        outcome = await service.totp_step(session, ctx, bo, visit, form.get("code", ""))
    if outcome.token is None:
        if outcome.locked:
            return redirect(PREFIX + "/login?locked=1")
        return render(request, "code.html", visit, status_code=401, error=t["bad_code"])
    response = redirect(PREFIX + "/dashboard")
    set_session_cookie(response, outcome.token)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    async with staff_page(request, Permission.READ, post=True) as p:
        await service.sign_out(p.session, p.ctx, p.visit)
    response = redirect(PREFIX + "/login")
    response.delete_cookie(COOKIE, path=PREFIX, secure=True, httponly=True, samesite="lax")
    return response


@router.get("/reauth")
async def reauth_page(request: Request, next: Text = "") -> Response:
    async with staff_page(request, Permission.REFUND) as p:
        return p.render("reauth.html", next_payment=next)


@router.post("/reauth")
async def reauth(request: Request) -> Response:
    async with staff_page(request, Permission.REFUND, post=True) as p:
        outcome = await service.reauthenticate(
            p.session, p.ctx, p.bo, p.visit, p.form.get("password", ""), p.form.get("code", "")
        )
    payment_id = p.form.get("next", "")
    if outcome.token is None:
        if outcome.locked:
            return redirect(PREFIX + "/login")
        return p.render(
            "reauth.html", status_code=401, next_payment=payment_id, error=p.t["bad_code"]
        )
    if payment_id.startswith("pay_") and payment_id.isascii() and "/" not in payment_id:
        return redirect(f"{PREFIX}/payments/{payment_id}?msg=reauth_ok")
    return redirect(PREFIX + "/approvals?msg=reauth_ok")
