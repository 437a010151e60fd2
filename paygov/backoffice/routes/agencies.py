"""Agencies: their API keys, webhook secrets and beneficiary accounts (a change of those
waits for a second administrator: approvals.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from paygov.agencies import repository as agencies_repository
from paygov.agencies import service as agencies
from paygov.auth import service as auth
from paygov.backoffice import approvals
from paygov.backoffice.pages import PREFIX, Page, redirect, staff_page
from paygov.staff.roles import Permission

router = APIRouter()


async def _agencies_page(p: Page, secret: str | None = None) -> Response:
    """The page, in the open transaction; `secret`, a notice shown this once."""
    listed = await agencies.list_agencies(p.session)
    return p.render(
        "agencies.html",
        rows=listed,
        keys={a.id: await auth.keys_of(p.session, a.id) for a in listed},
        accounts={a.id: await agencies_repository.beneficiaries(p.session, a.id) for a in listed},
        secret=secret,
        flash=p.flash(p.request.query_params.get("msg", "")),
    )


@router.get("/agencies")
async def agencies_page(request: Request) -> Response:
    async with staff_page(request, Permission.ADMINISTER) as p:
        return await _agencies_page(p)


@router.post("/agencies/{code}/beneficiaries")
async def request_beneficiary_change(request: Request, code: str) -> Response:
    """Adding an account or changing the default waits for a second administrator."""
    async with staff_page(request, Permission.ADMINISTER, post=True) as p:
        await approvals.request_beneficiary_change(
            p.session,
            p.ctx,
            p.staff,
            code[:32],
            account=p.form.get("account", "")[:48],
            make_default=p.form.get("make_default") == "1",
        )
    return redirect(PREFIX + "/agencies?msg=change_waiting")


@router.post("/agencies/{code}/keys")
async def issue_key(request: Request, code: str) -> Response:
    async with staff_page(request, Permission.ADMINISTER, post=True) as p:
        agency = await agencies.get_by_code(p.session, code[:32])
        clear = await auth.issue_key(
            p.session,
            p.ctx.settings.api_key_secret_bytes,
            agency,
            at=p.ctx.clock.now(),
            actor=p.staff.actor,
        )
        return await _agencies_page(p, p.t["key_issued"].format(key=clear))


@router.post("/agencies/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str) -> Response:
    async with staff_page(request, Permission.ADMINISTER, post=True) as p:
        await auth.revoke_key(p.session, key_id[:40], at=p.ctx.clock.now(), actor=p.staff.actor)
    return redirect(PREFIX + "/agencies")


@router.post("/agencies/{code}/webhook-secret")
async def rotate_secret(request: Request, code: str) -> Response:
    async with staff_page(request, Permission.ADMINISTER, post=True) as p:
        active = await agencies.rotate_webhook_secret(
            p.session, p.ctx.box, code[:32], at=p.ctx.clock.now(), actor=p.staff.actor
        )
        return await _agencies_page(p, p.t["secret_rotated"].format(key=active[0]))
