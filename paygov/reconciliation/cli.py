"""`paygov reconcile` runs a provider's day; `paygov reconciliation …` reads, resolves, and
asks for and decides manual corrections (four eyes: `--by EMAIL` names the staff user
acting; the audit log also notes the operating-system user)."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path
from typing import Any

from paygov.cli import CliError, actor, emit, run_async
from paygov.kit.context import Context


def day_argument(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def item_argument(text: str) -> int:
    """An item number of a run (as the API takes it: 0 … 2**62)."""
    try:
        number = int(text)
    except ValueError:
        number = -1
    if not 0 <= number <= 2**62:
        raise argparse.ArgumentTypeError(f"{text!r} is not an item number of a run")
    return number


def cmd_reconcile(args: argparse.Namespace) -> None:
    from paygov.reconciliation import service
    from paygov.reconciliation.views import run_summary

    if args.file is not None and args.provider is None:
        raise CliError("--file needs --provider: say whose statement it is")
    if args.file is not None and not args.file.is_file():
        raise CliError(f"no such file: {args.file}")

    async def command(ctx: Context) -> None:
        if args.provider is not None:
            codes = [args.provider]
        else:
            codes = await service.nightly_providers(ctx)
        done = []
        for code in codes:
            run = await service.reconcile(
                ctx, provider_code=code, day=args.date, actor=actor(), path=args.file
            )
            done.append(run_summary(run))
        emit(done if args.provider is None else done[0])

    run_async(command)


def cmd_runs(args: argparse.Namespace) -> None:
    from paygov.reconciliation import repository
    from paygov.reconciliation.views import run_summary

    async def command(ctx: Context) -> None:
        async with ctx.db.read() as session:
            runs = await repository.runs(
                session, provider=args.provider, day=args.date, limit=args.limit
            )
        emit([run_summary(run) for run in runs])

    run_async(command)


def cmd_discrepancies(args: argparse.Namespace) -> None:
    from paygov.reconciliation import repository, service
    from paygov.reconciliation.views import discrepancy_view

    async def command(ctx: Context) -> None:
        async with ctx.db.read() as session:
            run = await service.get_run(session, args.run_id)
            rows = [discrepancy_view(row) async for row in repository.discrepancies(session, run)]
        emit(rows)

    run_async(command)


def cmd_resolve(args: argparse.Namespace) -> None:
    from paygov.reconciliation import service
    from paygov.reconciliation.views import discrepancy_view

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            run = await service.get_run(session, args.run_id)
            found = await service.resolve(session, ctx, run, args.item_id, args.reason, actor())
        emit(discrepancy_view(found))

    run_async(command)


def cmd_correct(args: argparse.Namespace) -> None:
    from paygov.reconciliation import corrections

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            staff = await corrections.staff_by_email(session, args.by)
            approval = await corrections.request_correction(
                session,
                ctx,
                staff,
                run_id=args.run_id,
                item_id=args.item_no,
                payment_id=args.payment,
                reason=args.reason,
                via=actor(),
            )
            view = await corrections.view_of(session, approval)
        emit(view)

    run_async(command)


def cmd_decide(args: argparse.Namespace) -> None:
    from paygov.reconciliation import corrections

    async def command(ctx: Context) -> None:
        async with ctx.db.transaction() as session:
            staff = await corrections.staff_by_email(session, args.by)
            approval = await corrections.decide_correction(
                session, ctx, staff, args.approval_id, approve=args.approve, via=actor()
            )
            view = await corrections.view_of(session, approval)
        emit(view)

    run_async(command)


def cmd_corrections(args: argparse.Namespace) -> None:
    from paygov.reconciliation import corrections

    async def command(ctx: Context) -> None:
        async with ctx.db.read() as session:
            status = None if args.status == "all" else args.status
            emit(await corrections.corrections(session, status=status, limit=args.limit))

    run_async(command)


def cmd_report(args: argparse.Namespace) -> None:
    from paygov.reconciliation import service, views
    from paygov.reports.cli import output_of, write_file

    path, fmt = output_of(args)

    async def command(ctx: Context) -> None:
        async with ctx.db.read() as session:
            await service.get_run(session, args.run_id)  # a clear error before any file
        size = await write_file(path, views.report_chunks(ctx, args.run_id, fmt))
        emit({"run_id": args.run_id, "output": str(path), "bytes": size})

    run_async(command)


def register(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    reconcile = commands.add_parser(
        "reconcile", help="reconcile providers' statements for a day (DESIGN.md §10)"
    )
    reconcile.add_argument("--date", required=True, type=day_argument, metavar="YYYY-MM-DD")
    reconcile.add_argument(
        "--provider", metavar="CODE", help="one provider (default: every one with a statement API)"
    )
    reconcile.add_argument("--file", type=Path, metavar="PATH", help="a camt.053 or CSV statement")
    reconcile.set_defaults(run=cmd_reconcile)

    recon = commands.add_parser(
        "reconciliation", help="reconciliation runs, discrepancies, reports"
    ).add_subparsers(dest="reconciliation_command", required=True, parser_class=parser_class)
    runs = recon.add_parser("runs", help="runs, newest first")
    runs.add_argument("--provider", metavar="CODE")
    runs.add_argument("--date", type=day_argument, metavar="YYYY-MM-DD")
    runs.add_argument("--limit", type=int, default=50)
    runs.set_defaults(run=cmd_runs)
    show = recon.add_parser("discrepancies", help="a run's discrepancies")
    show.add_argument("run_id")
    show.set_defaults(run=cmd_discrepancies)
    resolve = recon.add_parser("resolve", help="resolve a discrepancy with a reason")
    resolve.add_argument("run_id")
    resolve.add_argument("item_id", type=item_argument)
    resolve.add_argument("--reason", required=True)
    resolve.set_defaults(run=cmd_resolve)
    correct = recon.add_parser(
        "correct",
        help="ask to book a discrepancy's statement line to a payment order (a second"
        " person approves)",
    )
    correct.add_argument("run_id")
    correct.add_argument("item_no", type=item_argument)
    correct.add_argument("--payment", required=True, metavar="PAYMENT_ID")
    correct.add_argument("--by", required=True, metavar="EMAIL", help="the staff user asking")
    correct.add_argument("--reason", default="", help="why the money is this order's")
    correct.set_defaults(run=cmd_correct)
    for name, approve in (("approve", True), ("reject", False)):
        decide = recon.add_parser(
            name,
            help="approve a correction someone else asked for: its money is booked now"
            if approve
            else "reject a correction someone else asked for",
        )
        decide.add_argument("approval_id")
        decide.add_argument("--by", required=True, metavar="EMAIL", help="the staff user deciding")
        decide.set_defaults(run=cmd_decide, approve=approve)
    listed = recon.add_parser("corrections", help="correction requests, newest first")
    listed.add_argument(
        "--status", choices=["pending", "approved", "rejected", "all"], default="pending"
    )
    listed.add_argument("--limit", type=int, default=100)
    listed.set_defaults(run=cmd_corrections)
    report = recon.add_parser("report", help="a run's summary and every discrepancy, as a file")
    report.add_argument("run_id")
    report.add_argument("--format", choices=["csv", "xlsx"], help="default: from the suffix")
    report.add_argument("--output", type=Path, required=True, metavar="FILE")
    report.set_defaults(run=cmd_report)
