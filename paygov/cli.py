"""The `paygov` command. Bad input: a non-zero exit and one clear line, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import orjson

from paygov.kit.context import Context
from paygov.kit.errors import PayGovError
from paygov.kit.settings import ConfigurationError, Settings


class CliError(PayGovError):
    """A problem the user can fix; printed as one line. (A PayGovError, so `main` catches
    it even when this module runs as `__main__` and domain modules import `paygov.cli`.)"""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def actor() -> str:
    return f"cli:{getpass.getuser()}"


def emit(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


def run_async(command: Callable[[Context], Awaitable[None]]) -> None:
    ctx = Context.build()

    async def main() -> None:
        try:
            await command(ctx)
        finally:
            await ctx.db.dispose()

    asyncio.run(main())


# --- commands ---------------------------------------------------------------------------


def cmd_migrate(args: argparse.Namespace) -> None:
    from paygov.kit import migrations

    settings = Settings()
    if settings.database_url.startswith("sqlite"):
        path = settings.database_url.split("///", 1)[-1]
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    migrations.upgrade(settings.database_url, args.revision)
    sys.stdout.write(f"migrated to {args.revision}\n")


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    Settings().master_key_bytes  # noqa: B018  (fail now, in one line, on a bad key)

    async def check_providers(ctx: Context) -> None:
        async with ctx.db.read() as session:  # every configured adapter must load
            await ctx.providers.refresh(session, ctx.box, force=True)

    run_async(check_providers)
    uvicorn.run(
        "paygov.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        log_level="warning",
        proxy_headers=True,
        timeout_graceful_shutdown=20,
    )


def cmd_agency_create(args: argparse.Namespace) -> None:
    from paygov.agencies import service

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            created = await service.create_agency(
                session,
                ctx.box,
                ctx.settings.api_key_secret_bytes,
                at=ctx.clock.now(),
                actor=actor(),
                code=args.code,
                name=args.name,
                province=args.province,
                mode="test" if args.test else "live",
                return_hosts=args.return_host,
                webhook_url=args.webhook_url,
                beneficiaries=args.beneficiary,
            )
        emit(
            {
                **created.agency.summary(),
                "api_key": created.api_key,
                "webhook_secret": created.webhook_secret,
                "beneficiary_accounts": [
                    {"account": b.account_number, "bank_bin": b.bank_bin, "default": b.is_default}
                    for b in created.beneficiaries
                ],
            }
        )

    run_async(command)


def cmd_agency_rotate_secret(args: argparse.Namespace) -> None:
    from paygov.agencies import service

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            active = await service.rotate_webhook_secret(
                session,
                ctx.box,
                args.code,
                at=ctx.clock.now(),
                actor=actor(),
                finish=args.finish,
            )
        emit(
            {
                "agency": args.code,
                "active_secrets": len(active),
                "new_webhook_secret": None if args.finish else active[0],
            }
        )

    run_async(command)


def cmd_agency_list(_: argparse.Namespace) -> None:
    from paygov.agencies import service

    async def command(ctx: Context) -> None:
        async with ctx.db.read() as session:
            agencies = await service.list_agencies(session)
        emit([agency.summary() for agency in agencies])

    run_async(command)


def cmd_apikey_create(args: argparse.Namespace) -> None:
    from paygov.agencies import service as agencies
    from paygov.auth import service

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            agency = await agencies.get_by_code(session, args.agency)
            key = await service.issue_key(
                session,
                ctx.settings.api_key_secret_bytes,
                agency,
                at=ctx.clock.now(),
                actor=actor(),
            )
        emit({"agency": agency.code, "api_key": key})

    run_async(command)


def cmd_apikey_list(args: argparse.Namespace) -> None:
    from paygov.agencies import service as agencies
    from paygov.auth import service

    async def command(ctx: Context) -> None:
        async with ctx.db.read() as session:
            agency = await agencies.get_by_code(session, args.agency)
            keys = await service.keys_of(session, agency.id)
        emit(
            [
                {
                    "key_id": k.id,
                    "prefix": k.display_prefix,
                    "created_at": k.created_at.isoformat(),
                    "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None,
                }
                for k in keys
            ]
        )

    run_async(command)


def cmd_apikey_revoke(args: argparse.Namespace) -> None:
    from paygov.auth import service

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            key = await service.revoke_key(session, args.key_id, at=ctx.clock.now(), actor=actor())
        emit(
            {"key_id": key.id, "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None}
        )

    run_async(command)


def cmd_audit_verify(_: argparse.Namespace) -> None:
    from paygov.audit import service

    async def command(ctx: Context) -> None:
        async with ctx.db.read() as session:
            verdict = await service.verify(session)
        sys.stdout.write(verdict.line() + "\n")
        if not verdict.ok:
            raise SystemExit(1)

    run_async(command)


def cmd_providers_import(args: argparse.Namespace) -> None:
    from paygov.providers import service

    variables = dict(item.split("=", 1) for item in args.set)

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            saved = await service.import_catalogue(
                session,
                ctx.box,
                Path(args.file),
                at=ctx.clock.now(),
                actor=actor(),
                variables=variables,
            )
        emit([provider_row(p) for p in saved])

    run_async(command)


def provider_row(provider: Any) -> dict[str, Any]:
    return {
        "code": provider.code,
        "protocol": provider.protocol,
        "name": provider.name,
        "mode": provider.mode,
        "enabled": provider.enabled,
        "max_amount": provider.max_amount,
        "clearing_account": provider.clearing_account,
    }


def cmd_providers_list(_: argparse.Namespace) -> None:
    from paygov.providers import service

    async def command(ctx: Context) -> None:
        async with ctx.db.read() as session:
            providers = await service.list_providers(session)
            await ctx.providers.refresh(session, ctx.box, force=True)
        emit(
            [
                {**provider_row(p), "circuit": ctx.providers.get(p.code).breaker.state}
                for p in providers
            ]
        )

    run_async(command)


def cmd_providers_enable(args: argparse.Namespace) -> None:
    from paygov.providers import service

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            provider = await service.set_enabled(
                session, args.code, args.enabled, at=ctx.clock.now(), actor=actor()
            )
            emit(provider_row(provider))

    run_async(command)


def cmd_banks_list(_: argparse.Namespace) -> None:
    from paygov.banks.catalogue import bank_rows

    emit(bank_rows())


def cmd_sandbox_bank(args: argparse.Namespace) -> None:
    import uvicorn

    from bank_adapters.sandbox.app import create_app

    path = Path(args.providers)
    if not path.exists():
        raise CliError(f"providers file not found: {path}")
    uvicorn.run(
        create_app(path, args.paygov_url), host=args.host, port=args.port, log_level="warning"
    )


def cmd_keys_rotate(_: argparse.Namespace) -> None:
    from paygov.keys import service

    async def command(ctx: Context) -> None:
        emit(await service.rotate(ctx.db, ctx.box, at=ctx.clock.now(), actor=actor()))

    run_async(command)


def cmd_keys_status(_: argparse.Namespace) -> None:
    from paygov.keys import service

    async def command(ctx: Context) -> None:
        async with ctx.db.read() as session:
            emit(await service.status(session, ctx.box))

    run_async(command)


# --- parser -------------------------------------------------------------------------------


def cmd_worker(args: argparse.Namespace) -> None:
    from paygov.worker.runner import Worker

    async def command(ctx: Context) -> None:
        worker = Worker(ctx)
        if args.once:
            emit(await worker.run_once())
        else:
            await worker.run_forever()

    run_async(command)


def cmd_webhooks_resend(args: argparse.Namespace) -> None:
    from paygov.webhooks import repository, service

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            original = await repository.delivery(session, args.delivery_id)
            if original is None:
                raise service.DeliveryNotFound(field="delivery_id")
            delivery = await service.resend(
                session, ctx, original.agency_id, original.id, actor=actor()
            )
            event = await repository.event(session, delivery.event_id)
            assert event is not None
        emit(service.delivery_out(delivery, event.type))

    run_async(command)


def cmd_webhooks_list(args: argparse.Namespace) -> None:
    from paygov.agencies import service as agencies
    from paygov.webhooks import service

    async def command(ctx: Context) -> None:
        async with ctx.db.read() as session:
            agency = await agencies.get_by_code(session, args.agency)
            page = await service.deliveries(
                session, agency.id, status=args.status, limit=args.limit
            )
        emit([service.delivery_out(delivery, kind) for delivery, kind in page.rows])

    run_async(command)


def cmd_agency_enable_webhooks(args: argparse.Namespace) -> None:
    from paygov.webhooks import service

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            queued = await service.enable_endpoint(session, ctx, args.code, actor=actor())
        emit({"agency": args.code, "webhooks": "enabled", "deliveries_due": queued})

    run_async(command)


def cmd_refunds_list(args: argparse.Namespace) -> None:
    from paygov.agencies import service as agencies
    from paygov.refunds import service

    async def command(ctx: Context) -> None:
        async with ctx.db.read() as session:
            agency = await agencies.get_by_code(session, args.agency) if args.agency else None
            refunds = await service.list_refunds(
                session,
                status=args.status,
                agency_id=agency.id if agency else None,
                limit=args.limit,
            )
        emit([service.render(refund) for refund in refunds])

    run_async(command)


def cmd_refunds_record_manual(args: argparse.Namespace) -> None:
    from paygov.refunds import service

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            refund = await service.record_manual_refund(
                session,
                ctx,
                args.refund_id,
                bank_reference=args.bank_reference,
                note=args.note,
                actor=actor(),
            )
        emit(service.render(refund))

    run_async(command)


def build_parser() -> Parser:
    parser = Parser(prog="paygov", description="PayGov: payment aggregation for e-services.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    migrate = commands.add_parser("migrate", help="upgrade the database schema")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(run=cmd_migrate)

    serve = commands.add_parser("serve", help="run the API and pages")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(run=cmd_serve)

    agency = commands.add_parser("agency", help="manage agencies").add_subparsers(
        dest="agency_command", required=True, parser_class=Parser
    )
    create = agency.add_parser("create", help="register an agency; prints its first API key")
    create.add_argument("--code", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--province")
    create.add_argument(
        "--return-host",
        action="append",
        required=True,
        help="host allowed in return_url (repeatable)",
    )
    create.add_argument("--webhook-url")
    create.add_argument(
        "--beneficiary",
        action="append",
        default=[],
        help="ACCOUNT@BIN (repeatable; the first is the default)",
    )
    create.add_argument("--test", action="store_true", help="a test-mode agency (pk_test_ keys)")
    create.set_defaults(run=cmd_agency_create)
    agency.add_parser("list", help="list agencies").set_defaults(run=cmd_agency_list)
    rotate = agency.add_parser(
        "rotate-webhook-secret",
        help="add a new webhook secret (both sign until --finish keeps only the new one)",
    )
    rotate.add_argument("--code", required=True)
    rotate.add_argument("--finish", action="store_true")
    rotate.set_defaults(run=cmd_agency_rotate_secret)
    enable = agency.add_parser(
        "enable-webhooks",
        help="re-enable a webhook endpoint disabled after a 410 and retry what it missed",
    )
    enable.add_argument("code")
    enable.set_defaults(run=cmd_agency_enable_webhooks)

    apikey = commands.add_parser("apikey", help="manage API keys").add_subparsers(
        dest="apikey_command", required=True, parser_class=Parser
    )
    key_create = apikey.add_parser("create", help="issue a new API key for an agency")
    key_create.add_argument("--agency", required=True, help="agency code")
    key_create.set_defaults(run=cmd_apikey_create)
    key_list = apikey.add_parser("list", help="an agency's keys (never the keys themselves)")
    key_list.add_argument("--agency", required=True, help="agency code")
    key_list.set_defaults(run=cmd_apikey_list)
    key_revoke = apikey.add_parser("revoke", help="revoke an API key")
    key_revoke.add_argument("key_id")
    key_revoke.set_defaults(run=cmd_apikey_revoke)

    providers = commands.add_parser("providers", help="payment providers").add_subparsers(
        dest="providers_command", required=True, parser_class=Parser
    )
    p_import = providers.add_parser("import", help="create or update providers from a TOML file")
    p_import.add_argument("file")
    p_import.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="value for ${NAME} in the file (repeatable)",
    )
    p_import.set_defaults(run=cmd_providers_import)
    providers.add_parser("list", help="providers and their state").set_defaults(
        run=cmd_providers_list
    )
    for verb, enabled in (("enable", True), ("disable", False)):
        toggle = providers.add_parser(verb, help=f"{verb} a provider")
        toggle.add_argument("code")
        toggle.set_defaults(run=cmd_providers_enable, enabled=enabled)

    banks = commands.add_parser("banks", help="the bank catalogue").add_subparsers(
        dest="banks_command", required=True, parser_class=Parser
    )
    banks.add_parser("list", help="banks citizens can pay from").set_defaults(run=cmd_banks_list)

    sandbox = commands.add_parser("sandbox-bank", help="run the sandbox bank (test providers)")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8100)
    sandbox.add_argument("--providers", default="config/providers.sandbox.toml")
    sandbox.add_argument("--paygov-url", default="http://127.0.0.1:8000")
    sandbox.set_defaults(run=cmd_sandbox_bank)

    audit = commands.add_parser("audit", help="the audit log").add_subparsers(
        dest="audit_command", required=True, parser_class=Parser
    )
    audit.add_parser("verify", help="check the hash chain").set_defaults(run=cmd_audit_verify)

    keys = commands.add_parser("keys", help="the master key").add_subparsers(
        dest="keys_command", required=True, parser_class=Parser
    )
    keys.add_parser(
        "rotate", help="re-encrypt every secret at rest under PAYGOV_MASTER_KEY"
    ).set_defaults(run=cmd_keys_rotate)
    keys.add_parser("status", help="per table, the secrets still under another key").set_defaults(
        run=cmd_keys_status
    )
    worker = commands.add_parser("worker", help="run the background jobs until SIGTERM")
    worker.add_argument("--once", action="store_true", help="run each job once and exit")
    worker.set_defaults(run=cmd_worker)

    webhooks = commands.add_parser("webhooks", help="webhooks to portals").add_subparsers(
        dest="webhooks_command", required=True, parser_class=Parser
    )
    w_resend = webhooks.add_parser("resend", help="send a delivery's event again, now")
    w_resend.add_argument("delivery_id")
    w_resend.set_defaults(run=cmd_webhooks_resend)
    w_list = webhooks.add_parser("list", help="an agency's deliveries, newest first")
    w_list.add_argument("--agency", required=True, metavar="CODE")
    w_list.add_argument("--status", choices=["pending", "succeeded", "failed", "disabled"])
    w_list.add_argument("--limit", type=int, default=50)
    w_list.set_defaults(run=cmd_webhooks_list)

    refunds = commands.add_parser("refunds", help="refunds of every agency").add_subparsers(
        dest="refunds_command", required=True, parser_class=Parser
    )
    r_list = refunds.add_parser("list", help="refunds, newest first")
    r_list.add_argument("--status", choices=["pending", "succeeded", "failed", "pending_manual"])
    r_list.add_argument("--agency", metavar="CODE")
    r_list.add_argument("--limit", type=int, default=50)
    r_list.set_defaults(run=cmd_refunds_list)
    r_manual = refunds.add_parser(
        "record-manual", help="record a pending_manual refund as paid back by bank transfer"
    )
    r_manual.add_argument("refund_id")
    r_manual.add_argument("--bank-reference", required=True, help="the transfer's bank reference")
    r_manual.add_argument("--note", help="why or how it was paid back (kept in the audit log)")
    r_manual.set_defaults(run=cmd_refunds_record_manual)

    # Domains with their own command modules (imported here: they import this one).
    from paygov.reconciliation import cli as reconciliation_cli
    from paygov.reports import cli as reports_cli
    from paygov.staff import cli as staff_cli

    for module in (staff_cli, reconciliation_cli, reports_cli):
        module.register(commands, Parser)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (PayGovError, ConfigurationError, CliError, ValueError) as exc:
        sys.exit(f"paygov: {exc}")
    except ConnectionError as exc:
        sys.exit(f"paygov: cannot reach the database: {exc}")
    except OSError as exc:
        sys.exit(
            f"paygov: {exc.strerror or exc}: {getattr(exc, 'filename', '') or ''}".rstrip(": ")
        )
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # database unreachable and the like: one line, not a traceback
        from sqlalchemy.exc import DBAPIError

        if isinstance(exc, DBAPIError):
            reason = str(exc.orig).splitlines()[0]
            sys.exit(f"paygov: database error: {type(exc.orig).__name__}: {reason}")
        raise


if __name__ == "__main__":
    main()
