"""Routes of the portal API for webhooks: the catch-up feed, deliveries, re-sends (§5, §8)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from paygov.auth.api import Caller
from paygov.kit.errors import ValidationFailed, error_response_doc
from paygov.payments.api import AUTH_ERRORS, json_response
from paygov.webhooks import repository, service
from paygov.webhooks.schemas import DeliveryList, DeliveryOut, WebhookEventList
from paygov.webhooks.service import DeliveryNotFound, EndpointUnavailable

router = APIRouter(tags=["webhooks"])

EVENT_ID = r"^evt_[0-9A-HJKMNP-TV-Z]{26}$"
DELIVERY_ID = r"^whd_[0-9A-HJKMNP-TV-Z]{26}$"
DeliveryId = Annotated[str, Path(max_length=64, examples=["whd_01JDQ5Z6R4N7X2K9W3B8C5V1TM"])]


@router.get(
    "/v1/events",
    response_model=WebhookEventList,
    summary="Everything sent as webhooks, oldest first: replay from the last id you saw",
    responses=error_response_doc(*AUTH_ERRORS, ValidationFailed),
)
async def list_events(
    caller: Caller,
    since: Annotated[
        str | None,
        Query(
            pattern=EVENT_ID,
            description="the last event id you processed; omit to start at the beginning",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Response:
    async with caller.ctx.db.read() as session:
        agency = await caller.agency(session)
        page = await service.events_since(session, agency.id, since, limit)
    return json_response(
        {
            "items": [service.event_out(event) for event in page.events],
            "next_cursor": page.next_cursor,
        }
    )


@router.get(
    "/v1/webhook-deliveries",
    response_model=DeliveryList,
    summary="The agency's webhook deliveries, newest first",
    responses=error_response_doc(*AUTH_ERRORS, ValidationFailed),
)
async def list_deliveries(
    caller: Caller,
    status: Literal["pending", "succeeded", "failed", "disabled"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(pattern=DELIVERY_ID)] = None,
) -> Response:
    async with caller.ctx.db.read() as session:
        agency = await caller.agency(session)
        page = await service.deliveries(
            session, agency.id, status=status, cursor=cursor, limit=limit
        )
    return json_response(
        {
            "items": [service.delivery_out(delivery, kind) for delivery, kind in page.rows],
            "next_cursor": page.next_cursor,
        }
    )


@router.post(
    "/v1/webhook-deliveries/{delivery_id}/resend",
    status_code=201,
    response_model=DeliveryOut,
    summary="Send a delivery's event again, now, as a new delivery",
    responses=error_response_doc(*AUTH_ERRORS, DeliveryNotFound, EndpointUnavailable),
)
async def resend_delivery(delivery_id: DeliveryId, caller: Caller) -> Response:
    ctx = caller.ctx
    async with ctx.db.transaction() as session:
        agency = await caller.agency(session)
        delivery = await service.resend(
            session, ctx, agency.id, delivery_id, actor=f"agency:{agency.code}"
        )
        event = await repository.event(session, delivery.event_id)
        assert event is not None
        payload = service.delivery_out(delivery, event.type)
    return json_response(payload, 201)
