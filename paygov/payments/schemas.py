"""The payment API's bodies, as portals send and receive them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator

from paygov.kit.money import MAX_AMOUNT

Amount = Annotated[StrictInt, Field(ge=1, le=MAX_AMOUNT, examples=[150000])]
# Not blank, and no NUL: PostgreSQL text cannot hold one (SQLite would, so both refuse it).
Text255 = Annotated[
    str, StringConstraints(min_length=1, max_length=255, pattern=r"^[^\x00]*[^\x00\s][^\x00]*$")
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ItemIn(Strict):
    code: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")
    ]
    name: Text255
    amount: Amount
    beneficiary_account: Annotated[str, StringConstraints(min_length=4, max_length=34)] | None = (
        None
    )


class PayerIn(Strict):
    """The citizen paying. Personal data: encrypted at rest, never logged, never echoed."""

    name: Annotated[str, StringConstraints(max_length=255)] | None = None
    id_number: (
        Annotated[str, StringConstraints(max_length=20, pattern=r"^[A-Za-z0-9]*$")] | None
    ) = None
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
        | None
    ) = None
    phone: Annotated[str, StringConstraints(max_length=20, pattern=r"^\+?[0-9 ]{6,20}$")] | None = (
        None
    )


class CreatePayment(Strict):
    amount: Amount
    reference: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._/-]+$")
    ] = Field(examples=["HS-2026-000123"], description="The dossier code (mã hồ sơ).")
    description: Text255 = Field(examples=["Lệ phí cấp giấy phép lái xe"])
    return_url: Annotated[str, StringConstraints(min_length=1, max_length=2000)] = Field(
        examples=["https://dichvucong.example.gov.vn/ket-qua"]
    )
    currency: Literal["VND"] = "VND"
    items: Annotated[list[ItemIn], Field(min_length=1, max_length=50)] | None = None
    payer: PayerIn | None = None
    language: Literal["vi", "en"] = "vi"
    expires_in: Annotated[StrictInt, Field(ge=60, le=86400)] = 900
    metadata: (
        dict[
            Annotated[str, StringConstraints(min_length=1, max_length=40)],
            Annotated[str, StringConstraints(max_length=100)],
        ]
        | None
    ) = None

    @field_validator("metadata")
    @classmethod
    def _at_most_15_keys(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        if value is not None and len(value) > 15:
            raise ValueError("metadata has at most 15 keys")
        return value

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "amount": 150000,
                    "reference": "HS-2026-000123",
                    "description": "Lệ phí cấp giấy phép lái xe",
                    "return_url": "https://dichvucong.example.gov.vn/ket-qua",
                    "items": [{"code": "LEPHI", "name": "Lệ phí", "amount": 150000}],
                    "metadata": {"ho_so": "000123"},
                }
            ]
        },
    )


class ItemOut(BaseModel):
    code: str
    name: str
    amount: int
    beneficiary_account: str | None


class Failure(BaseModel):
    code: str
    message: str


class RefundSummary(BaseModel):
    amount_refunded: int
    amount_available: int = Field(
        description="What may still be refunded: the amount and any overpayment, less "
        "refunds that did not fail; 0 unless the payment is succeeded."
    )
    amount_overpaid: int = Field(
        description="Money received beyond the amount (the citizen paid twice); "
        "refundable, and given back first by a refund that names no items."
    )


class PaymentOut(BaseModel):
    payment_id: str = Field(examples=["pay_01JDQ5Z6R4N7X2K9W3B8C5V1TM"])
    status: Literal["created", "pending", "succeeded", "failed", "expired", "cancelled"]
    version: int
    amount: int
    currency: Literal["VND"]
    reference: str
    description: str
    items: list[ItemOut]
    metadata: dict[str, str]
    language: Literal["vi", "en"]
    return_url: str
    checkout_url: str
    created_at: datetime
    expires_at: datetime
    provider: str | None
    bank: str | None
    paid_at: datetime | None
    late: bool
    failure: Failure | None
    refund_summary: RefundSummary


class PaymentList(BaseModel):
    items: list[PaymentOut]
    next_cursor: str | None


class EventOut(BaseModel):
    event_id: str
    type: str
    version: int
    created_at: datetime
    data: dict[str, object]


class EventList(BaseModel):
    items: list[EventOut]
