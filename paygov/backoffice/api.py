"""The back-office pages under /backoffice (DESIGN.md §11). Every route checks the
session, the role's permission and, for a POST, the CSRF token, on the server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.agencies import repository as agencies_repository
from paygov.agencies import service as agencies
from paygov.audit import service as audit
from paygov.auth import service as auth
from paygov.backoffice import approvals, charts, repository, service
from paygov.backoffice.i18n import strings
from paygov.backoffice.pages import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    PREFIX,
    PageDenied,
    csrf_ok,
    env,
    guard,
    in_scope,
    language,
    new_login_csrf,
    read_form,
    redirect,
    render,
    set_login_csrf,
    set_session_cookie,
)
from paygov.kit.errors import ValidationFailed
from paygov.payments import repository as payments
from paygov.payments.service import amount_available, status_at
from paygov.providers import service as providers
from paygov.reconciliation import repository as recon
from paygov.reconciliation import service as reconciliation
from paygov.reconciliation import views as recon_views
from paygov.reports import service as reports
from paygov.reports import writers
from paygov.reports.api import download
from paygov.staff import service as staff_users
from paygov.staff.roles import Permission
from paygov.webhooks import service as webhooks

router = APIRouter(prefix=PREFIX, include_in_schema=False)

FLASHES = (
    "reauth_ok",
    "refund_made",
    "refund_waiting",
    "approved",
    "approved_change",
    "change_waiting",
    "rejected",
    "resent",
)
STATUSES = ("created", "pending", "succeeded", "failed", "expired", "cancelled")
Text = Annotated[str, Query(max_length=64)]


# --- sign-in ------------------------------------------------------------------------------


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
    ctx, _ = env(request)
    form = await read_form(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.READ, form)
        await service.sign_out(session, ctx, visit)
    response = redirect(PREFIX + "/login")
    response.delete_cookie(COOKIE, path=PREFIX, secure=True, httponly=True, samesite="lax")
    return response


@router.get("/reauth")
async def reauth_page(request: Request, next: Text = "") -> Response:
    ctx, _ = env(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.REFUND)
    return render(request, "reauth.html", visit, next_payment=next)


@router.post("/reauth")
async def reauth(request: Request) -> Response:
    ctx, bo = env(request)
    form = await read_form(request)
    t = strings(language(request))
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.REFUND, form)
        outcome = await service.reauthenticate(
            session, ctx, bo, visit, form.get("password", ""), form.get("code", "")
        )
    payment_id = form.get("next", "")
    if outcome.token is None:
        if outcome.locked:
            return redirect(PREFIX + "/login")
        return render(
            request,
            "reauth.html",
            visit,
            status_code=401,
            next_payment=payment_id,
            error=t["bad_code"],
        )
    if payment_id.startswith("pay_") and payment_id.isascii() and "/" not in payment_id:
        return redirect(f"{PREFIX}/payments/{payment_id}?msg=reauth_ok")
    return redirect(PREFIX + "/approvals?msg=reauth_ok")


# --- dashboard ----------------------------------------------------------------------------


@router.get("/dashboard")
async def dashboard(request: Request) -> Response:
    ctx, _ = env(request)
    now = ctx.clock.now()
    since = now - timedelta(days=14)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.READ)
        scope = visit.staff.agency_id
        days = await repository.per_day(session, scope, since)
        banks = charts.rates(await repository.success_by_bank(session, scope, since))
        by_agency = charts.rates(await repository.success_by_agency(session, scope, since))
        open_items = 0
        if scope is None:
            for run in await recon.runs(session, provider=None, day=None, limit=10):
                if run.status == "completed":
                    async for row in recon.discrepancies(session, run, after=None, limit=1000):
                        found = dict(zip(recon.DISCREPANCY_COLUMNS, row, strict=True))
                        open_items += found["resolution"] is None and found["class"] != "held"
    live = sorted(ctx.providers.by_code.values(), key=lambda p: p.code) if scope is None else []
    labels = [
        (day[8:10] + "/" + day[5:7], count, paid, amount) for day, count, paid, amount in days
    ]
    return render(
        request,
        "dashboard.html",
        visit,
        count_chart=charts.columns([(label, count) for label, count, _, _ in labels]),
        amount_chart=charts.columns([(label, amount) for label, _, _, amount in labels], " ₫"),
        totals={
            "payments": sum(d[1] for d in days),
            "paid": sum(d[2] for d in days),
            "amount": sum(d[3] for d in days),
        },
        open_items=open_items if scope is None else None,
        banks=banks,
        agencies=by_agency,
        providers=live,
    )


# --- payments -----------------------------------------------------------------------------


@router.get("/payments")
async def payments_page(request: Request, q: Text = "", status: Text = "") -> Response:
    ctx, _ = env(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.READ)
        rows = await repository.find_payments(
            session,
            agency_id=visit.staff.agency_id,
            text=q.strip() or None,
            status=status if status in STATUSES else None,
            limit=50,
        )
    return render(request, "payments.html", visit, rows=rows, q=q, status=status, statuses=STATUSES)


@router.get("/payments/{payment_id}")
async def payment_page(request: Request, payment_id: str, msg: Text = "") -> Response:
    ctx, bo = env(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.READ)
        found = await repository.payment(session, payment_id[:64])
        if found is None:
            raise PageDenied(404)
        payment, agency = found
        in_scope(visit, payment.agency_id)
        events = await payments.events_of(session, payment.id)
        attempts = await payments.attempts_of(session, payment.id)
        postings = await repository.postings_of(session, payment.id)
        refunds = await repository.refunds_of(session, payment.id)
        requests = await repository.approvals_for(session, payment.id)
        emails = await repository.emails(session, {a.requested_by for a in requests})
    t = strings(language(request))
    return render(
        request,
        "payment.html",
        visit,
        payment=payment,
        agency=agency,
        status=status_at(
            payment, ctx.clock.now(), timedelta(seconds=ctx.settings.expiry_grace_seconds)
        ),
        available=amount_available(payment),
        events=events,
        attempts=attempts,
        postings=postings,
        refunds=refunds,
        approvals=[approvals.approval_view(a, emails) for a in requests],
        may_refund=visit.staff.may(Permission.REFUND),
        reauth_fresh=service.reauth_fresh(ctx, bo, visit),
        threshold=bo.approval_threshold,
        flash=_flash(t, msg, request),
    )


def _flash(t: dict[str, str], msg: str, request: Request) -> str | None:
    if msg not in FLASHES:
        return None
    _, bo = env(request)
    return t[msg].format(
        id=request.query_params.get("id", "")[:40],
        threshold=f"{bo.approval_threshold:,}".replace(",", ".") + " ₫",
    )


@router.post("/payments/{payment_id}/refund")
async def refund(request: Request, payment_id: str) -> Response:
    ctx, bo = env(request)
    form = await read_form(request)
    try:
        amount = int(form.get("amount", "").replace(".", "").replace(" ", ""))
    except ValueError:
        raise ValidationFailed("Give the amount in VND.", field="amount") from None
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.REFUND, form)
        found = await repository.payment(session, payment_id[:64])
        if found is None:
            raise PageDenied(404)
        in_scope(visit, found[0].agency_id)
        if not service.reauth_fresh(ctx, bo, visit):
            return redirect(f"{PREFIX}/reauth?next={found[0].id}")
        outcome = await service.request_refund(
            session, ctx, bo, visit, found[0].id, amount, form.get("reason", "").strip()[:255]
        )
    base = f"{PREFIX}/payments/{found[0].id}"
    if outcome.refund_id is not None:
        return redirect(f"{base}?msg=refund_made&id={outcome.refund_id}")
    return redirect(f"{base}?msg=refund_waiting")


@router.get("/approvals")
async def approvals_page(request: Request, msg: Text = "") -> Response:
    ctx, bo = env(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.REFUND)
        listed = await repository.pending_approvals(session, visit.staff.agency_id)
        pending = [a for a in listed if approvals.may_decide(visit.staff, a)]
        emails = await repository.emails(session, {a.requested_by for a in pending})
    return render(
        request,
        "approvals.html",
        visit,
        approvals=[approvals.approval_view(a, emails) for a in pending],
        reauth_fresh=service.reauth_fresh(ctx, bo, visit),
        flash=_flash(strings(language(request)), msg, request),
    )


@router.post("/approvals/{approval_id}")
async def decide(request: Request, approval_id: str) -> Response:
    ctx, bo = env(request)
    form = await read_form(request)
    approve = form.get("decision") == "approve"
    try:
        async with ctx.db.transaction() as session:
            visit = await guard(request, session, Permission.REFUND, form)
            approval = await approvals.decide(
                session,
                ctx,
                visit.staff,
                approval_id[:40],
                approve=approve,
                reauthenticated=service.reauth_fresh(ctx, bo, visit),
            )
    except approvals.ReauthRequired:  # checked after who may decide: nothing was written
        return redirect(PREFIX + "/reauth")
    if approve:
        msg = "approved" if approval.kind == "refund" else "approved_change"
        return redirect(f"{PREFIX}/approvals?msg={msg}&id={approval.outcome}")
    return redirect(PREFIX + "/approvals?msg=rejected")


# --- reconciliation -----------------------------------------------------------------------


@router.get("/reconciliation")
async def runs_page(request: Request) -> Response:
    ctx, _ = env(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.RESOLVE)
        runs = await recon.runs(session, provider=None, day=None, limit=100)
    return render(request, "runs.html", visit, runs=[recon_views.run_summary(r) for r in runs])


@router.get("/reconciliation/{run_id}")
async def run_page(request: Request, run_id: str) -> Response:
    ctx, _ = env(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.RESOLVE)
        run = await reconciliation.get_run(session, run_id[:64])
        items = [
            recon_views.discrepancy_view(row)
            async for row in recon.discrepancies(session, run, after=None, limit=500)
        ]
    return render(
        request,
        "run.html",
        visit,
        run=recon_views.run_summary(run),
        items=items,
        may_download=visit.staff.may(Permission.DOWNLOAD),
    )


@router.post("/reconciliation/{run_id}/items/{item_id}/resolve")
async def resolve(request: Request, run_id: str, item_id: int) -> Response:
    ctx, _ = env(request)
    form = await read_form(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.RESOLVE, form)
        run = await reconciliation.get_run(session, run_id[:64])
        await reconciliation.resolve(
            session, ctx, run, item_id, form.get("reason", ""), visit.staff.actor
        )
    return redirect(f"{PREFIX}/reconciliation/{run.id}")


@router.get("/reconciliation/{run_id}/report")
async def run_report(request: Request, run_id: str, format: Text = "csv") -> Response:
    ctx, _ = env(request)
    fmt: writers.Format = "xlsx" if format == "xlsx" else "csv"
    async with ctx.db.transaction() as session:
        await guard(request, session, Permission.RESOLVE)
        await guard(request, session, Permission.DOWNLOAD)
        run = await reconciliation.get_run(session, run_id[:64])
    return download(
        recon_views.report_chunks(ctx, run.id, fmt), fmt, recon_views.report_filename(run.id, fmt)
    )


# --- reports ------------------------------------------------------------------------------


@router.get("/reports")
async def reports_page(request: Request) -> Response:
    ctx, _ = env(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.DOWNLOAD)
        listed = await agencies.list_agencies(session)
    visible = [a for a in listed if visit.staff.sees_agency(a.id)]
    today = ctx.clock.now().astimezone(ZoneInfo(ctx.settings.business_timezone)).date()
    return render(request, "reports.html", visit, agencies=visible, today=today.isoformat())


def _day(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationFailed("Give a date as YYYY-MM-DD.", field=field) from None


@router.get("/reports/settlement")
async def settlement(
    request: Request, agency: Text = "", day: Text = "", format: Text = "csv"
) -> Response:
    ctx, _ = env(request)
    fmt: writers.Format = "xlsx" if format == "xlsx" else "csv"
    zone = ZoneInfo(ctx.settings.business_timezone)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.DOWNLOAD)
        report = await reports.settlement(
            session, staff=visit.staff, agency_code=agency, day=_day(day, "day"), zone=zone
        )
    rows = writers.in_batches(report.rows())
    chunks = writers.render(fmt, reports.SETTLEMENT_COLUMNS, rows, zone, sheet="Settlement")
    return download(chunks, fmt, report.filename(fmt))


@router.get("/reports/transactions")
async def transactions(
    request: Request, first: Text = "", last: Text = "", agency: Text = "", format: Text = "csv"
) -> StreamingResponse:
    ctx, _ = env(request)
    fmt: writers.Format = "xlsx" if format == "xlsx" else "csv"
    zone = ZoneInfo(ctx.settings.business_timezone)
    wanted = reports.TransactionFilter(
        _day(first, "first"), _day(last, "last"), "created", agency or None
    )
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.DOWNLOAD)
        query = await reports.transaction_query(
            session,
            staff=visit.staff,
            wanted=wanted,
            zone=zone,
            now=ctx.clock.now(),
            grace=timedelta(seconds=ctx.settings.expiry_grace_seconds),
        )

    async def rows() -> AsyncIterator[Sequence[Any]]:
        async with ctx.db.read() as session:
            async for batch in reports.transaction_rows(session, query):
                yield batch

    chunks = writers.render(fmt, reports.TRANSACTION_COLUMNS, rows(), zone, sheet="Transactions")
    return download(chunks, fmt, reports.transactions_filename(wanted, fmt))


# --- webhooks -----------------------------------------------------------------------------


@router.get("/webhooks")
async def webhooks_page(request: Request, status: Text = "", msg: Text = "") -> Response:
    ctx, _ = env(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.READ)
        rows = await repository.deliveries(session, visit.staff.agency_id, status or None, 100)
    return render(
        request,
        "webhooks.html",
        visit,
        rows=rows,
        status=status,
        may_resend=visit.staff.may(Permission.RESOLVE) or visit.staff.may(Permission.ADMINISTER),
        flash=_flash(strings(language(request)), msg, request),
    )


@router.post("/webhooks/{delivery_id}/resend")
async def resend(request: Request, delivery_id: str) -> Response:
    ctx, _ = env(request)
    form = await read_form(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.RESOLVE, form)
        agency_id = await repository.delivery_agency(session, delivery_id[:40])
        if agency_id is None:
            raise PageDenied(404)
        in_scope(visit, agency_id)
        delivery = await webhooks.resend(session, ctx, agency_id, delivery_id[:40])
    return redirect(f"{PREFIX}/webhooks?msg=resent&id={delivery.id}")


# --- administration -----------------------------------------------------------------------


@router.get("/providers")
async def providers_page(request: Request) -> Response:
    ctx, _ = env(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.ADMINISTER)
        rows = await providers.list_providers(session)
    return render(request, "providers.html", visit, rows=rows, live=ctx.providers.by_code)


@router.post("/providers/{code}")
async def toggle_provider(request: Request, code: str) -> Response:
    ctx, _ = env(request)
    form = await read_form(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.ADMINISTER, form)
        await providers.set_enabled(
            session,
            code[:32],
            form.get("enabled") == "1",
            at=ctx.clock.now(),
            actor=visit.staff.actor,
        )
    async with ctx.db.read() as session:
        await ctx.providers.refresh(session, ctx.box, force=True)
    return redirect(PREFIX + "/providers")


@router.get("/users")
async def users_page(request: Request) -> Response:
    ctx, _ = env(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.ADMINISTER)
        rows = await staff_users.users(session)
    return render(request, "users.html", visit, rows=rows)


async def _agencies_page(
    request: Request, session: AsyncSession, visit: service.Visit, secret: str | None = None
) -> Response:
    listed = await agencies.list_agencies(session)
    return render(
        request,
        "agencies.html",
        visit,
        rows=listed,
        keys={a.id: await auth.keys_of(session, a.id) for a in listed},
        accounts={a.id: await agencies_repository.beneficiaries(session, a.id) for a in listed},
        secret=secret,
        flash=_flash(strings(language(request)), request.query_params.get("msg", ""), request),
    )


@router.get("/agencies")
async def agencies_page(request: Request) -> Response:
    ctx, _ = env(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.ADMINISTER)
        return await _agencies_page(request, session, visit)


@router.post("/agencies/{code}/beneficiaries")
async def request_beneficiary_change(request: Request, code: str) -> Response:
    """Adding an account or changing the default waits for a second administrator."""
    ctx, _ = env(request)
    form = await read_form(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.ADMINISTER, form)
        await approvals.request_beneficiary_change(
            session,
            ctx,
            visit.staff,
            code[:32],
            account=form.get("account", "")[:48],
            make_default=form.get("make_default") == "1",
        )
    return redirect(PREFIX + "/agencies?msg=change_waiting")


@router.post("/agencies/{code}/keys")
async def issue_key(request: Request, code: str) -> Response:
    ctx, _ = env(request)
    form = await read_form(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.ADMINISTER, form)
        agency = await agencies.get_by_code(session, code[:32])
        clear = await auth.issue_key(
            session,
            ctx.settings.api_key_secret_bytes,
            agency,
            at=ctx.clock.now(),
            actor=visit.staff.actor,
        )
        t = strings(language(request))
        return await _agencies_page(request, session, visit, t["key_issued"].format(key=clear))


@router.post("/agencies/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str) -> Response:
    ctx, _ = env(request)
    form = await read_form(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.ADMINISTER, form)
        await auth.revoke_key(session, key_id[:40], at=ctx.clock.now(), actor=visit.staff.actor)
    return redirect(PREFIX + "/agencies")


@router.post("/agencies/{code}/webhook-secret")
async def rotate_secret(request: Request, code: str) -> Response:
    ctx, _ = env(request)
    form = await read_form(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.ADMINISTER, form)
        active = await agencies.rotate_webhook_secret(
            session, ctx.box, code[:32], at=ctx.clock.now(), actor=visit.staff.actor
        )
        t = strings(language(request))
        return await _agencies_page(
            request, session, visit, t["secret_rotated"].format(key=active[0])
        )


@router.get("/audit")
async def audit_page(request: Request) -> Response:
    ctx, _ = env(request)
    async with ctx.db.transaction() as session:
        visit = await guard(request, session, Permission.ADMINISTER)
        verdict = await audit.verify(session)
        entries = await repository.audit_entries(session, 200)
    return render(request, "audit.html", visit, verdict=verdict, entries=entries)
