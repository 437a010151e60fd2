"""The webhook API's bodies, as portals receive them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class WebhookEventOut(BaseModel):
    """One event as it was sent (or would have been): `data` is the object at that moment."""

    event_id: str
    type: str
    timestamp: datetime
    data: dict[str, object]


class WebhookEventList(BaseModel):
    items: list[WebhookEventOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    delivery_id: str
    event_id: str
    type: str
    status: Literal["pending", "succeeded", "failed", "disabled"]
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_latency_ms: int | None
    last_error: str | None
    last_response_excerpt: str | None
    created_at: datetime
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
