"""`paygov user …`: staff users and the tokens their finance tools use."""

from __future__ import annotations

import argparse
from typing import Any

from paygov.cli import actor, emit, run_async
from paygov.kit.context import Context
from paygov.staff.models import ROLES


def cmd_user_create(args: argparse.Namespace) -> None:
    from paygov.staff import service

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            user = await service.create_user(
                session,
                email=args.email,
                role=args.role,
                agency_code=args.agency,
                at=ctx.clock.now(),
                actor=actor(),
            )
        emit({"user_id": user.id, "email": user.email, "role": user.role, "agency": args.agency})

    run_async(command)


def cmd_user_list(_: argparse.Namespace) -> None:
    from paygov.staff import service

    async def command(ctx: Context) -> None:
        async with ctx.db.read() as session:
            users = await service.users(session)
        emit(
            [
                {
                    "user_id": u.id,
                    "email": u.email,
                    "role": u.role,
                    "agency_id": u.agency_id,
                    "disabled": u.disabled_at is not None,
                }
                for u in users
            ]
        )

    run_async(command)


def cmd_user_token(args: argparse.Namespace) -> None:
    from paygov.staff import service

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            token = await service.issue_token(
                session,
                ctx.settings.api_key_secret_bytes,
                args.email,
                at=ctx.clock.now(),
                actor=actor(),
            )
        emit({"email": args.email.strip().lower(), "staff_token": token})

    run_async(command)


def cmd_user_revoke_token(args: argparse.Namespace) -> None:
    from paygov.staff import service

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            await service.revoke_token(session, args.token_id, at=ctx.clock.now(), actor=actor())
        emit({"token_id": args.token_id, "revoked": True})

    run_async(command)


def cmd_user_password(args: argparse.Namespace) -> None:
    """Set a back-office password (read from stdin) and a new TOTP secret, shown once."""
    import sys

    from paygov.backoffice import security
    from paygov.backoffice import service as backoffice

    password = sys.stdin.readline().rstrip("\n")

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            secret = await backoffice.set_credentials(
                session, ctx, args.email, password, actor=actor()
            )
        email = args.email.strip().lower()
        emit(
            {
                "email": email,
                "totp_secret": secret,
                "otpauth_uri": security.otpauth_uri(secret, email),
            }
        )

    run_async(command)


def cmd_user_disable(args: argparse.Namespace) -> None:
    """Disable (or, as `enable`, allow again) a staff user by email: no sign-in, sessions
    ended, staff tokens refused; audited."""
    from paygov.staff import repository, service

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            found = await repository.user_by_email(session, args.email.strip().lower())
            if found is None:
                raise service.StaffUserNotFound(field="email")
            user = await service.set_disabled(
                session, found.id, disabled=args.disabled, at=ctx.clock.now(), actor=actor()
            )
        emit({"user_id": user.id, "email": user.email, "disabled": user.disabled_at is not None})

    run_async(command)


def register(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    user = commands.add_parser("user", help="staff users and their API tokens").add_subparsers(
        dest="user_command", required=True, parser_class=parser_class
    )
    create = user.add_parser("create", help="add a staff user")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--agency", metavar="CODE", help="the one agency of an agency_finance user")
    create.set_defaults(run=cmd_user_create)
    user.add_parser("list", help="staff users").set_defaults(run=cmd_user_list)
    token = user.add_parser("token", help="issue an API token (st_…) acting as a user")
    token.add_argument("--email", required=True)
    token.set_defaults(run=cmd_user_token)
    revoke = user.add_parser("revoke-token", help="revoke a staff API token")
    revoke.add_argument("token_id")
    revoke.set_defaults(run=cmd_user_revoke_token)
    password = user.add_parser(
        "password",
        help="set a back-office password (from stdin) and enrol a new TOTP second factor",
    )
    password.add_argument("--email", required=True)
    password.set_defaults(run=cmd_user_password)
    for name, disabled, doing in (("disable", True, "stop"), ("enable", False, "allow again")):
        switch = user.add_parser(name, help=f"{doing} a staff user's sign-in and tokens")
        switch.add_argument("--email", required=True)
        switch.set_defaults(run=cmd_user_disable, disabled=disabled)
