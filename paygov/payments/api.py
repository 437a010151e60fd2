"""Routes of the portal API for payment orders (DESIGN.md §5)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

from paygov.auth.api import Caller
from paygov.auth.service import InvalidApiKey
from paygov.idempotency import service as idempotency
from paygov.idempotency.api import IdempotencyKeyHeader
from paygov.idempotency.service import IdempotencyKeyInUse, IdempotencyKeyReused
from paygov.kit.errors import (
    BodyTooLarge,
    InvalidHeader,
    MalformedJson,
    RateLimited,
    ServiceUnavailable,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
    error_response_doc,
)
from paygov.payments import service
from paygov.payments.schemas import CreatePayment, EventList, PaymentList, PaymentOut
from paygov.payments.service import (
    InvalidCursor,
    ItemsDoNotSum,
    PaymentNotCancellable,
    PaymentNotFound,
    ReturnUrlNotAllowed,
    UnknownBeneficiary,
    timestamp,
)

router = APIRouter(prefix="/v1/payments", tags=["payments"])

AUTH_ERRORS = (Unauthorized, InvalidApiKey, RateLimited)
PaymentId = Annotated[str, Path(max_length=64, examples=["pay_01JDQ5Z6R4N7X2K9W3B8C5V1TM"])]


def json_response(payload: Any, status_code: int = 200, replayed: bool = False) -> Response:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return Response(body, status_code=status_code, media_type="application/json", headers=headers)


@router.post(
    "",
    status_code=201,
    response_model=PaymentOut,
    summary="Create a payment order",
    responses=error_response_doc(
        MalformedJson,
        InvalidHeader,
        *AUTH_ERRORS,
        IdempotencyKeyReused,
        IdempotencyKeyInUse,
        BodyTooLarge,
        UnsupportedMediaType,
        ServiceUnavailable,
        ValidationFailed,
        ItemsDoNotSum,
        UnknownBeneficiary,
        ReturnUrlNotAllowed,
    ),
)
async def create_payment(
    body: CreatePayment,
    caller: Caller,
    idempotency_key: IdempotencyKeyHeader = None,
) -> Response:
    ctx = caller.ctx
    key = idempotency.parse_key(idempotency_key)

    async def work(session: AsyncSession, claim: idempotency.Claim) -> idempotency.Reply:
        agency = await caller.agency(session)
        created = await service.create_payment(session, ctx, agency, body, claim)
        return idempotency.Reply(201, created.body)

    reply = await idempotency.respond(
        ctx,
        route="payments.create",
        key=key,
        work=work,
        single_write=True,  # insert_payment is one statement on PostgreSQL
        body_hash=idempotency.request_hash(body.model_dump(mode="json", exclude_unset=True)),
    )
    return json_response(reply.body, reply.status_code, reply.replayed)


@router.get(
    "/{payment_id}",
    response_model=PaymentOut,
    summary="Get a payment",
    responses=error_response_doc(*AUTH_ERRORS, PaymentNotFound),
)
async def get_payment(payment_id: PaymentId, caller: Caller) -> Response:
    async with caller.ctx.db.read() as session:
        agency = await caller.agency(session)
        view = await service.get_payment(session, agency, payment_id)
    return json_response(view.render(caller.ctx))


def _utc(value: datetime | None, field: str) -> datetime | None:
    """In UTC (naive means UTC); a moment UTC cannot hold (year 1 at +14:00) is a 422."""
    if value is None:
        return None
    try:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except OverflowError:
        raise ValidationFailed(
            f"{field} is out of range", field=field, code=f"invalid_{field}"
        ) from None


@router.get(
    "",
    response_model=PaymentList,
    summary="Search payments, newest first",
    responses=error_response_doc(*AUTH_ERRORS, ValidationFailed, InvalidCursor),
)
async def search_payments(
    caller: Caller,
    reference: Annotated[
        str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")
    ] = None,
    status: Literal["created", "pending", "succeeded", "failed", "expired", "cancelled"]
    | None = None,
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    ctx = caller.ctx
    async with ctx.db.read() as session:
        agency = await caller.agency(session)
        page = await service.search_payments(
            session,
            ctx,
            agency,
            reference=reference,
            status=status,
            created_from=_utc(created_from, "created_from"),
            created_to=_utc(created_to, "created_to"),
            cursor=cursor,
            limit=limit,
        )
    return json_response(
        {"items": [view.render(ctx) for view in page.views], "next_cursor": page.next_cursor}
    )


@router.post(
    "/{payment_id}/cancel",
    response_model=PaymentOut,
    summary="Cancel a payment",
    responses=error_response_doc(*AUTH_ERRORS, PaymentNotFound, PaymentNotCancellable),
)
async def cancel_payment(payment_id: PaymentId, caller: Caller) -> Response:
    ctx = caller.ctx
    async with ctx.db.transaction() as session:
        agency = await caller.agency(session)
        view = await service.cancel_payment(session, ctx, agency, payment_id)
        payload = view.render(ctx)
    return json_response(payload)


@router.get(
    "/{payment_id}/events",
    response_model=EventList,
    summary="A payment's history, oldest first",
    responses=error_response_doc(*AUTH_ERRORS, PaymentNotFound),
)
async def payment_events(payment_id: PaymentId, caller: Caller) -> Response:
    async with caller.ctx.db.read() as session:
        agency = await caller.agency(session)
        events = await service.events_of(session, agency, payment_id)
    return json_response(
        {
            "items": [
                {
                    "event_id": event.id,
                    "type": event.type,
                    "version": event.version,
                    "created_at": timestamp(event.created_at),
                    "data": event.data,
                }
                for event in events
            ]
        }
    )
