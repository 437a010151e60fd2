"""Routes of the portal API for refunds (DESIGN.md §5)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.auth.api import Caller
from paygov.idempotency import service as idempotency
from paygov.idempotency.api import IdempotencyKeyHeader
from paygov.idempotency.service import IdempotencyKeyInUse, IdempotencyKeyReused
from paygov.kit.errors import (
    BodyTooLarge,
    InvalidHeader,
    MalformedJson,
    ServiceUnavailable,
    UnsupportedMediaType,
    ValidationFailed,
    error_response_doc,
)
from paygov.payments.api import AUTH_ERRORS, PaymentId, json_response
from paygov.payments.service import PaymentNotFound
from paygov.refunds import service
from paygov.refunds.allocation import (
    RefundItemsDoNotSum,
    RefundItemTooHigh,
    RefundSpansAttempts,
    UnknownRefundItem,
)
from paygov.refunds.schemas import CreateRefund, RefundList, RefundOut
from paygov.refunds.service import (
    PaymentNotRefundable,
    RefundAmountMismatch,
    RefundAmountTooHigh,
    RefundNotFound,
)

router = APIRouter(tags=["refunds"])

RefundId = Annotated[str, Path(max_length=64, examples=["rfd_01JDQ5Z6R4N7X2K9W3B8C5V1TM"])]


@router.post(
    "/v1/payments/{payment_id}/refunds",
    status_code=201,
    response_model=RefundOut,
    summary="Refund a paid payment, whole or in part",
    responses=error_response_doc(
        MalformedJson,
        InvalidHeader,
        *AUTH_ERRORS,
        PaymentNotFound,
        IdempotencyKeyReused,
        IdempotencyKeyInUse,
        PaymentNotRefundable,
        RefundAmountMismatch,
        BodyTooLarge,
        UnsupportedMediaType,
        ServiceUnavailable,
        ValidationFailed,
        RefundAmountTooHigh,
        UnknownRefundItem,
        RefundItemsDoNotSum,
        RefundItemTooHigh,
        RefundSpansAttempts,
    ),
)
async def create_refund(
    payment_id: PaymentId,
    body: CreateRefund,
    caller: Caller,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    ctx = caller.ctx
    key = idempotency.parse_key(idempotency_key)

    async def work(session: AsyncSession, claim: idempotency.Claim) -> idempotency.Reply:
        agency = await caller.agency(session)
        claim.agency_id = agency.id
        return await service.create_refund(session, ctx, agency, payment_id, body, claim)

    reply = await idempotency.respond(
        ctx,
        route=service.CREATE_ROUTE,
        key=key,
        work=work,
        body_hash=idempotency.request_hash(
            {"payment_id": payment_id, **body.model_dump(mode="json", exclude_unset=True)}
        ),
    )
    return json_response(reply.body, reply.status_code, reply.replayed)


@router.get(
    "/v1/payments/{payment_id}/refunds",
    response_model=RefundList,
    summary="A payment's refunds, newest first",
    responses=error_response_doc(*AUTH_ERRORS, PaymentNotFound),
)
async def list_refunds(payment_id: PaymentId, caller: Caller) -> Response:
    async with caller.ctx.db.read() as session:
        agency = await caller.agency(session)
        refunds = await service.refunds_of(session, agency, payment_id)
    return json_response({"items": [service.render(refund) for refund in refunds]})


@router.get(
    "/v1/refunds/{refund_id}",
    response_model=RefundOut,
    summary="Get a refund",
    responses=error_response_doc(*AUTH_ERRORS, RefundNotFound),
)
async def get_refund(refund_id: RefundId, caller: Caller) -> Response:
    async with caller.ctx.db.read() as session:
        agency = await caller.agency(session)
        refund = await service.get_refund(session, agency, refund_id)
    return json_response(service.render(refund))
