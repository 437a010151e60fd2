"""Report downloads for finance tools (`Authorization: Bearer st_…`, DESIGN.md §10, §11)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from paygov.agencies.service import AgencyNotFound
from paygov.kit.errors import (
    Forbidden,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
    error_response_doc,
)
from paygov.reports import service, writers
from paygov.reports.service import DateField, InvalidDateRange, TransactionFilter, UnknownProvider
from paygov.reports.writers import Format
from paygov.staff.api import StaffCaller
from paygov.staff.roles import Permission
from paygov.staff.service import InvalidStaffToken

router = APIRouter(prefix="/v1/finance/reports", tags=["finance reports"])

STAFF_ERRORS = (Unauthorized, InvalidStaffToken, RateLimited, Forbidden)

SETTLEMENT_CSV = (
    "\ufeffagency,date,section,code,name,payments,gross,refunds,refunded,net,ledger_net,ties\r\n"
    "dvc-hcm,2026-11-23,item,LEPHI,Lệ phí cấp giấy phép,12,1800000,1,150000,1650000,,\r\n"
    "dvc-hcm,2026-11-23,beneficiary,0011001234567,,12,1800000,1,150000,1650000,1650000,true\r\n"
    "dvc-hcm,2026-11-23,total,,,12,1800000,1,150000,1650000,1650000,true\r\n"
)
TRANSACTIONS_CSV = (
    "\ufeffpayment_id,agency,reference,description,status,amount,paid,refunded,"
    "refund_pending,overpaid,provider,bank,txn_ref,created_at,paid_at,late\r\n"
    "pay_01JDQ5Z6R4N7X2K9W3B8C5V1TM,dvc-hcm,HS-2026-000123,Lệ phí cấp giấy phép lái xe,"
    "succeeded,150000,150000,0,0,0,vnpay,VCB,P7K2M9Q4R8T1,2026-11-23T08:05:09+07:00,"
    "2026-11-23T08:06:41+07:00,false\r\n"
)


def file_response_doc(csv_example: str, errors: Sequence[type[Any]]) -> dict[int | str, Any]:
    """OpenAPI: the file (CSV with an example, or XLSX) and the errors."""
    return {
        200: {
            "description": "The report as a file download (`Content-Disposition: attachment`).",
            "content": {
                "text/csv": {"schema": {"type": "string"}, "example": csv_example},
                writers.MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **error_response_doc(*errors),
    }


def download(
    chunks: AsyncIterator[bytes], fmt: Format, filename: str, **headers: str
) -> StreamingResponse:
    return StreamingResponse(
        chunks,
        media_type=writers.MEDIA_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            **headers,
        },
    )


FormatQuery = Annotated[
    Format, Query(alias="format", description="`csv` (UTF-8 with BOM) or `xlsx`.")
]
AgencyCode = Annotated[
    str, Query(min_length=1, max_length=32, examples=["dvc-hcm"], description="Agency code.")
]


@router.get(
    "/settlement",
    response_class=StreamingResponse,
    summary="An agency's settlement for a day, by fee item and beneficiary, tied to the ledger",
    description=(
        "Payments whose money arrived on the local day (Asia/Ho_Chi_Minh by default) less "
        "refunds that succeeded that day, by fee item code and by beneficiary account, with "
        "counts. Each beneficiary line and the total carry `ledger_net`, what the ledger "
        "moved into that payable account that day, and `ties` (true when they agree); the "
        "header `PayGov-Ties` says whether every line ties. An agency_finance user sees "
        "only their agency (another agency's code is a 404)."
    ),
    responses=file_response_doc(
        SETTLEMENT_CSV, [*STAFF_ERRORS, AgencyNotFound, ValidationFailed, ServiceUnavailable]
    ),
)
async def settlement_report(
    caller: StaffCaller,
    agency: AgencyCode,
    day: Annotated[date, Query(alias="date", examples=["2026-11-23"], description="A local day.")],
    fmt: FormatQuery = "csv",
) -> StreamingResponse:
    ctx = caller.ctx
    zone = ZoneInfo(ctx.settings.business_timezone)
    async with ctx.db.read() as session:
        staff = await caller.require(session, Permission.DOWNLOAD)
        report = await service.settlement(
            session, staff=staff, agency_code=agency, day=day, zone=zone
        )
    rows = writers.in_batches(report.rows())
    chunks = writers.render(fmt, service.SETTLEMENT_COLUMNS, rows, zone, sheet="Settlement")
    return download(chunks, fmt, report.filename(fmt), **{"PayGov-Ties": str(report.ties).lower()})


@router.get(
    "/transactions",
    response_class=StreamingResponse,
    summary="Export payments, one row each, streamed",
    description=(
        "One row per payment created (or, with `by=paid`, paid) on the local days `from` to "
        "`to` inclusive, oldest first: amount, paid, refunded (succeeded refunds), refunds "
        "still pending, overpaid, provider, bank, the paying attempt's `txn_ref`, times "
        "in the business time zone. No personal data of the payer. Without `agency`, an "
        "agency_finance user gets their own agency, others get every agency."
    ),
    responses=file_response_doc(
        TRANSACTIONS_CSV,
        [
            *STAFF_ERRORS,
            AgencyNotFound,
            ValidationFailed,
            InvalidDateRange,
            UnknownProvider,
            ServiceUnavailable,
        ],
    ),
)
async def transactions_export(
    caller: StaffCaller,
    first: Annotated[
        date, Query(alias="from", examples=["2026-11-01"], description="First local day.")
    ],
    last: Annotated[
        date, Query(alias="to", examples=["2026-11-30"], description="Last local day, included.")
    ],
    by: Annotated[DateField, Query(description="Which day counts: of creation or of payment.")] = (
        "created"
    ),
    agency: Annotated[
        str | None,
        Query(min_length=1, max_length=32, examples=["dvc-hcm"], description="Agency code."),
    ] = None,
    status: Literal["created", "pending", "succeeded", "failed", "expired", "cancelled"]
    | None = None,
    provider: Annotated[
        str | None, Query(min_length=1, max_length=32, examples=["vnpay"], description="Provider.")
    ] = None,
    reference: Annotated[
        str | None,
        Query(
            min_length=1, max_length=64, examples=["HS-2026-000123"], description="Dossier code."
        ),
    ] = None,
    fmt: FormatQuery = "csv",
) -> StreamingResponse:
    ctx = caller.ctx
    zone = ZoneInfo(ctx.settings.business_timezone)
    wanted = TransactionFilter(first, last, by, agency, status, provider, reference)
    async with ctx.db.read() as session:
        staff = await caller.require(session, Permission.DOWNLOAD)
        query = await service.transaction_query(
            session,
            staff=staff,
            wanted=wanted,
            zone=zone,
            now=ctx.clock.now(),
            grace=timedelta(seconds=ctx.settings.expiry_grace_seconds),
        )
    rows = service.stream_transactions(ctx.db, query)
    chunks = writers.render(fmt, service.TRANSACTION_COLUMNS, rows, zone, sheet="Transactions")
    return download(chunks, fmt, service.transactions_filename(wanted, fmt))
