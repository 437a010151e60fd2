"""Staff users: the list, creating one, disabling and enabling one (administrators).

A user created here has no password yet: an operator sets it and enrols the second factor
with `paygov user password --email …` (the page shows the command)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from paygov.agencies import service as agencies
from paygov.backoffice.pages import PREFIX, PageDenied, Text, redirect, staff_page
from paygov.kit.errors import PayGovError
from paygov.staff import service as staff_users
from paygov.staff.models import ROLES
from paygov.staff.roles import Permission

router = APIRouter()

FIELDS = ("email", "role", "agency")


async def _users_page(
    request: Request,
    *,
    msg: str = "",
    asked: dict[str, str] | None = None,
    error: PayGovError | None = None,
) -> Response:
    """The users and the form to add one, as asked, with why it was refused."""
    async with staff_page(request, Permission.ADMINISTER) as p:
        rows = await staff_users.users(p.session)
        listed = await agencies.list_agencies(p.session)
    return p.render(
        "users.html",
        refused=error,
        flash=p.flash(msg),
        rows=rows,
        agencies=listed,
        agency_codes={a.id: a.code for a in listed},
        roles=ROLES,
        asked=asked or {"email": "", "role": "viewer", "agency": ""},  # the least, to start
    )


@router.get("/users")
async def users_page(request: Request, msg: Text = "") -> Response:
    return await _users_page(request, msg=msg)


@router.post("/users")
async def create_user(request: Request) -> Response:
    asked: dict[str, str] = {}
    try:
        async with staff_page(request, Permission.ADMINISTER, post=True) as p:
            asked = {name: p.form.get(name, "").strip()[:254] for name in FIELDS}
            # The agency belongs to an agency_finance user only; the form offers it to all.
            agency = asked["agency"] if asked["role"] == "agency_finance" else ""
            await staff_users.create_user(
                p.session,
                email=asked["email"],
                role=asked["role"],
                agency_code=agency or None,
                at=p.ctx.clock.now(),
                actor=p.staff.actor,
            )
    except PayGovError as exc:  # rolled back: nothing was written
        return await _users_page(request, asked=asked, error=exc)
    return redirect(PREFIX + "/users?msg=user_created")


@router.post("/users/{user_id}/{action}")
async def disable_or_enable(request: Request, user_id: str, action: str) -> Response:
    try:
        async with staff_page(request, Permission.ADMINISTER, post=True) as p:
            if action not in ("disable", "enable"):
                raise PageDenied(404)
            await staff_users.set_disabled(
                p.session,
                user_id[:40],
                disabled=action == "disable",
                at=p.ctx.clock.now(),
                actor=p.staff.actor,
                by_user_id=p.staff.user_id,
            )
    except PayGovError as exc:
        return await _users_page(request, error=exc)
    return redirect(f"{PREFIX}/users?msg=user_{action}d")
