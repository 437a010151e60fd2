"""The finance API for reconciliation (staff tokens; DESIGN.md §10, §11)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response
from fastapi.responses import StreamingResponse

from paygov.backoffice import approvals
from paygov.kit.errors import Forbidden, Unauthorized, ValidationFailed, error_response_doc
from paygov.payments.api import json_response
from paygov.payments.service import PaymentNotFound
from paygov.reconciliation import corrections, repository, service, views
from paygov.reconciliation.schemas import (
    CorrectionList,
    CorrectionOut,
    DiscrepancyList,
    DiscrepancyOut,
    RequestCorrection,
    Resolve,
    RunList,
    RunOut,
    StartRun,
)
from paygov.reports.api import download
from paygov.reports.writers import MEDIA_TYPES, Format
from paygov.staff.api import StaffCaller
from paygov.staff.roles import Permission, Staff
from paygov.staff.service import InvalidStaffToken

router = APIRouter(prefix="/v1/finance/reconciliation", tags=["finance: reconciliation"])

STAFF_ERRORS = (Unauthorized, InvalidStaffToken, Forbidden)
RunId = Annotated[str, Path(max_length=64, examples=["rec_01JDQ5Z6R4N7X2K9W3B8C5V1TM"])]
ItemId = Annotated[int, Path(ge=0, le=2**62)]
ApprovalId = Annotated[
    str,
    Path(max_length=64, pattern=r"^[A-Za-z0-9_]+$", examples=["apr_01JDQ5Z6R4N7X2K9W3B8C5V1TM"]),
]


def every_agency(staff: Staff) -> Staff:
    """Reconciliation spans agencies (a statement is per provider): not for agency staff."""
    if staff.agency_id is not None:
        raise Forbidden("Reconciliation covers every agency; ask finance staff.")
    return staff


@router.post(
    "/runs",
    status_code=201,
    response_model=RunOut,
    summary="Reconcile a provider's day from its statement API",
    responses=error_response_doc(
        *STAFF_ERRORS, ValidationFailed, service.StatementRefused, service.RunInProgress
    ),
)
async def start_run(body: StartRun, caller: StaffCaller) -> Response:
    ctx = caller.ctx
    async with ctx.db.read() as session:
        staff = every_agency(await caller.require(session, Permission.RECONCILE))
    run = await service.reconcile(
        ctx, provider_code=body.provider, day=body.date, actor=staff.actor
    )
    return json_response(views.run_summary(run), status_code=201)


@router.get(
    "/runs",
    response_model=RunList,
    summary="Runs, newest first",
    responses=error_response_doc(*STAFF_ERRORS, ValidationFailed),
)
async def list_runs(
    caller: StaffCaller,
    provider: Annotated[str | None, Query(max_length=32)] = None,
    day: Annotated[date | None, Query(alias="date")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Response:
    async with caller.ctx.db.read() as session:
        every_agency(await caller.require(session, Permission.READ))
        runs = await repository.runs(session, provider=provider, day=day, limit=limit)
    return json_response({"items": [views.run_summary(run) for run in runs]})


@router.get(
    "/runs/{run_id}",
    response_model=RunOut,
    summary="A run: who, when, the input's hash, counts and totals per class",
    responses=error_response_doc(*STAFF_ERRORS, service.RunNotFound),
)
async def get_run(run_id: RunId, caller: StaffCaller) -> Response:
    async with caller.ctx.db.read() as session:
        every_agency(await caller.require(session, Permission.READ))
        run = await service.get_run(session, run_id)
    return json_response(views.run_summary(run))


@router.get(
    "/runs/{run_id}/discrepancies",
    response_model=DiscrepancyList,
    summary="Every line or attempt of the run not `matched`, in order",
    responses=error_response_doc(*STAFF_ERRORS, service.RunNotFound, ValidationFailed),
)
async def list_discrepancies(
    run_id: RunId,
    caller: StaffCaller,
    after: Annotated[int | None, Query(ge=0, description="the last item_id you saw")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    async with caller.ctx.db.read() as session:
        every_agency(await caller.require(session, Permission.READ))
        run = await service.get_run(session, run_id)
        items = [
            views.discrepancy_view(row)
            async for row in repository.discrepancies(session, run, after=after, limit=limit)
        ]
    cursor = items[-1]["item_id"] if len(items) == limit else None
    return json_response({"items": items, "next_cursor": cursor})


@router.post(
    "/runs/{run_id}/discrepancies/{item_id}/resolve",
    response_model=DiscrepancyOut,
    summary="Resolve a discrepancy with a reason (kept for re-runs, audited)",
    responses=error_response_doc(
        *STAFF_ERRORS,
        service.RunNotFound,
        service.DiscrepancyNotFound,
        service.AlreadyResolved,
        ValidationFailed,
    ),
)
async def resolve(
    run_id: RunId,
    item_id: ItemId,
    body: Resolve,
    caller: StaffCaller,
) -> Response:
    ctx = caller.ctx
    async with ctx.db.transaction() as session:
        staff = every_agency(await caller.require(session, Permission.RESOLVE))
        run = await service.get_run(session, run_id)
        found = await service.resolve(session, ctx, run, item_id, body.reason, staff.actor)
    return json_response(views.discrepancy_view(found))


@router.get(
    "/runs/{run_id}/report",
    response_class=StreamingResponse,
    summary="The run's summary per class, then every discrepancy, as CSV or XLSX",
    responses={
        200: {
            "content": {
                MEDIA_TYPES["csv"]: {"schema": {"type": "string"}},
                MEDIA_TYPES["xlsx"]: {"schema": {"type": "string", "format": "binary"}},
            }
        },
        **error_response_doc(*STAFF_ERRORS, service.RunNotFound),
    },
)
async def report(
    run_id: RunId,
    caller: StaffCaller,
    fmt: Annotated[Format, Query(alias="format")] = "csv",
) -> StreamingResponse:
    async with caller.ctx.db.read() as session:
        every_agency(await caller.require(session, Permission.DOWNLOAD))
        await service.get_run(session, run_id)
    return download(
        views.report_chunks(caller.ctx, run_id, fmt), fmt, views.report_filename(run_id, fmt)
    )


# --- manual corrections (four eyes) --------------------------------------------------------


@router.post(
    "/runs/{run_id}/discrepancies/{item_id}/correct",
    status_code=202,
    response_model=CorrectionOut,
    summary="Ask to book a discrepancy's statement line to a payment order",
    description="The line's money is booked only when a second person approves"
    " (`POST /approvals/{approval_id}/approve`); until then nothing changes.",
    responses=error_response_doc(
        *STAFF_ERRORS,
        service.RunNotFound,
        service.DiscrepancyNotFound,
        PaymentNotFound,
        service.AlreadyResolved,
        corrections.DiscrepancyNotCorrectable,
        corrections.CorrectionAmountMismatch,
        corrections.CorrectionPaymentRefused,
        corrections.CorrectionStale,
        approvals.ApprovalPending,
        ValidationFailed,
    ),
)
async def request_correction(
    run_id: RunId, item_id: ItemId, body: RequestCorrection, caller: StaffCaller
) -> Response:
    ctx = caller.ctx
    async with ctx.db.transaction() as session:
        staff = every_agency(await caller.require(session, Permission.RESOLVE))
        approval = await corrections.request_correction(
            session,
            ctx,
            staff,
            run_id=run_id,
            item_id=item_id,
            payment_id=body.payment_id,
            reason=body.reason,
            via="api",
        )
        view = await corrections.view_of(session, approval)
    return json_response(view, status_code=202)


@router.get(
    "/approvals",
    response_model=CorrectionList,
    summary="Correction requests, newest first",
    responses=error_response_doc(*STAFF_ERRORS, ValidationFailed),
)
async def list_corrections(
    caller: StaffCaller,
    status: Literal["pending", "approved", "rejected", "all"] = "pending",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    async with caller.ctx.db.read() as session:
        every_agency(await caller.require(session, Permission.READ))
        items = await corrections.corrections(
            session, status=None if status == "all" else status, limit=limit
        )
    return json_response({"items": items})


DECISION_ERRORS = (
    *STAFF_ERRORS,
    approvals.ApprovalNotFound,
    approvals.OwnApproval,
    approvals.ApprovalDecided,
    ValidationFailed,
)


@router.post(
    "/approvals/{approval_id}/approve",
    response_model=CorrectionOut,
    summary="Approve a correction someone else asked for: its money is booked now",
    description="Everything is checked again; a request that no longer fits (the"
    " discrepancy resolved meanwhile, the order paid meanwhile, the line's money booked"
    " already) is refused with 409 `correction_stale` and nothing is written.",
    responses=error_response_doc(*DECISION_ERRORS, corrections.CorrectionStale),
)
async def approve_correction(approval_id: ApprovalId, caller: StaffCaller) -> Response:
    return await _decide(caller, approval_id, approve=True)


@router.post(
    "/approvals/{approval_id}/reject",
    response_model=CorrectionOut,
    summary="Reject a correction someone else asked for: nothing is booked",
    responses=error_response_doc(*DECISION_ERRORS),
)
async def reject_correction(approval_id: ApprovalId, caller: StaffCaller) -> Response:
    return await _decide(caller, approval_id, approve=False)


async def _decide(caller: StaffCaller, approval_id: str, *, approve: bool) -> Response:
    ctx = caller.ctx
    async with ctx.db.transaction() as session:
        staff = every_agency(await caller.require(session, Permission.RESOLVE))
        approval = await corrections.decide_correction(
            session, ctx, staff, approval_id, approve=approve
        )
        view = await corrections.view_of(session, approval)
    return json_response(view)
