"""The callback endpoint providers call: `/callbacks/{provider}` (GET for VNPay's IPN,
POST for signed JSON)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from bank_adapters.base import InboundRequest
from paygov.callbacks import service
from paygov.kit.context import Context

router = APIRouter(prefix="/callbacks", tags=["provider callbacks"], include_in_schema=False)


async def inbound(request: Request) -> InboundRequest:
    return InboundRequest(
        method=request.method,
        query=dict(request.query_params),
        headers={key.lower(): value for key, value in request.headers.items()},
        body=await request.body(),
    )


@router.api_route("/{provider_code}", methods=["GET", "POST"])
async def callback(provider_code: str, request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    ack = await service.receive(ctx, provider_code, await inbound(request))
    return Response(ack.body, status_code=ack.status_code, media_type=ack.media_type)
