"""The refund API's bodies, as portals send and receive them."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictInt, StringConstraints

from paygov.kit.money import MAX_AMOUNT
from paygov.payments.schemas import Amount, Strict, Text255


class RefundItemIn(Strict):
    code: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")
    ]
    amount: Amount


class CreateRefund(Strict):
    amount: Amount
    reason: Text255 = Field(examples=["Hồ sơ bị từ chối"])
    refund_amount_available: Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT)] = Field(
        description="The payment's refund_summary.amount_available as the portal last read "
        "it; a different current value is a 409 (someone refunded meanwhile).",
        examples=[150000],
    )
    items: Annotated[list[RefundItemIn], Field(min_length=1, max_length=50)] | None = None


class RefundItemOut(BaseModel):
    code: str
    amount: int


class RefundOut(BaseModel):
    refund_id: str
    payment_id: str
    amount: int
    currency: Literal["VND"]
    reason: str
    status: Literal["pending", "succeeded", "failed", "pending_manual"]
    items: list[RefundItemOut] = Field(
        description="What the refund gives back of each fee item of the order."
    )
    from_overpayment: int = Field(
        description="What the refund gives back of an overpayment (money paid beyond the "
        "amount); `amount` is this plus the items."
    )
    provider: str
    provider_refund_id: str | None
    failure_message: str | None
    created_at: str
    updated_at: str


class RefundList(BaseModel):
    items: list[RefundOut]
