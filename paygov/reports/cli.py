"""`paygov report …`: the finance reports written to a file (whole, or not at all)."""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from paygov.cli import CliError, emit, run_async
from paygov.kit.context import Context
from paygov.payments.models import STATUSES
from paygov.reports.writers import FORMATS, Format


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a day (YYYY-MM-DD): {text!r}") from None


def output_of(args: argparse.Namespace) -> tuple[Path, Format]:
    """The output file, and the format: `--format`, else from the file's suffix."""
    path = Path(args.output)
    if not path.parent.is_dir():
        raise CliError(f"--output: no such directory: {path.parent}")
    if path.is_dir():
        raise CliError(f"--output: is a directory: {path}")
    fmt: Format = args.format or ("xlsx" if path.suffix.lower() == ".xlsx" else "csv")
    return path, fmt


async def write_file(path: Path, chunks: AsyncIterator[bytes]) -> int:
    """Write beside the target, then rename: a failure leaves no partial file behind."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as file:
            async for chunk in chunks:
                file.write(chunk)
            size = file.tell()
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return size


def cmd_report_settlement(args: argparse.Namespace) -> None:
    from paygov.reports import service, writers

    path, fmt = output_of(args)

    async def command(ctx: Context) -> None:
        zone = ZoneInfo(ctx.settings.business_timezone)
        async with ctx.db.read() as session:
            report = await service.settlement(
                session, staff=None, agency_code=args.agency, day=args.date, zone=zone
            )
        rows = writers.in_batches(report.rows())
        size = await write_file(
            path,
            writers.render(fmt, service.SETTLEMENT_COLUMNS, rows, zone, sheet="Settlement"),
        )
        emit({"output": str(path), "format": fmt, "bytes": size, "ties": report.ties})
        if not report.ties:
            raise CliError(f"the settlement does not tie to the ledger; see {path}")

    run_async(command)


def cmd_report_transactions(args: argparse.Namespace) -> None:
    from paygov.reports import service, writers

    path, fmt = output_of(args)
    wanted = service.TransactionFilter(
        args.first, args.last, args.by, args.agency, args.status, args.provider, args.reference
    )

    async def command(ctx: Context) -> None:
        zone = ZoneInfo(ctx.settings.business_timezone)
        async with ctx.db.read() as session:
            query = await service.transaction_query(
                session,
                staff=None,
                wanted=wanted,
                zone=zone,
                now=ctx.clock.now(),
                grace=timedelta(seconds=ctx.settings.expiry_grace_seconds),
            )
        count = 0

        async def rows() -> AsyncIterator[Sequence[Any]]:
            nonlocal count
            async for batch in service.stream_transactions(ctx.db, query):
                count += len(batch)
                yield batch

        chunks = writers.render(
            fmt, service.TRANSACTION_COLUMNS, rows(), zone, sheet="Transactions"
        )
        size = await write_file(path, chunks)
        emit({"output": str(path), "format": fmt, "bytes": size, "rows": count})

    run_async(command)


def register(commands: Any, parser_class: type[argparse.ArgumentParser]) -> None:
    report = commands.add_parser("report", help="finance reports (CSV or XLSX)").add_subparsers(
        dest="report_command", required=True, parser_class=parser_class
    )
    settlement = report.add_parser(
        "settlement", help="an agency's day by fee item and beneficiary, tied to the ledger"
    )
    settlement.add_argument("--agency", required=True, metavar="CODE")
    settlement.add_argument("--date", required=True, type=day, metavar="YYYY-MM-DD")
    settlement.set_defaults(run=cmd_report_settlement)
    transactions = report.add_parser("transactions", help="payments, one row each")
    transactions.add_argument("--from", dest="first", required=True, type=day, metavar="DAY")
    transactions.add_argument("--to", dest="last", required=True, type=day, metavar="DAY")
    transactions.add_argument(
        "--by", choices=("created", "paid"), default="created", help="which day counts"
    )
    transactions.add_argument("--agency", metavar="CODE")
    transactions.add_argument("--status", choices=STATUSES)
    transactions.add_argument("--provider", metavar="CODE")
    transactions.add_argument("--reference", help="the dossier code (mã hồ sơ)")
    transactions.set_defaults(run=cmd_report_transactions)
    for command in (settlement, transactions):
        command.add_argument("--format", choices=FORMATS, help="default: from --output's suffix")
        command.add_argument("--output", required=True, metavar="FILE")
