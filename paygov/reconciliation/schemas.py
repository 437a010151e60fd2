"""Shapes of the finance API for reconciliation (documented in /openapi.json)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class StartRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: str = Field(min_length=1, max_length=32, examples=["vcb-direct"])
    date: dt.date = Field(description="the business day to reconcile (Asia/Ho_Chi_Minh)")


class ClassCount(BaseModel):
    lines: int
    attempts: int = Field(description="succeeded attempts or refunds in this class")
    bank_amount: int = Field(description="VND on the statement's side")
    paygov_amount: int = Field(description="VND on PayGov's side")


class RunOut(BaseModel):
    run_id: str = Field(examples=["rec_01JDQ5Z6R4N7X2K9W3B8C5V1TM"])
    provider: str
    date: str
    status: str = Field(description="running, completed, failed or superseded")
    source: str = Field(description="fetch (the provider's statement API) or file")
    input_name: str | None
    input_sha256: str | None
    started_by: str
    started_at: str | None
    finished_at: str | None
    lines: int
    fees: int = Field(description="provider fees the statement reported, booked to the ledger")
    classes: dict[str, ClassCount]
    error: str | None


class RunList(BaseModel):
    items: list[RunOut]


class Resolution(BaseModel):
    reason: str
    resolved_by: str
    resolved_at: str | None


class DiscrepancyOut(BaseModel):
    item_id: int
    class_: str = Field(alias="class")
    line_no: int | None
    booked_at: str | None
    bank_amount: int | None
    paygov_amount: int | None
    fee: int | None
    statement_ref: str | None
    bank_ref: str | None
    memo: str | None
    txn_ref: str | None
    payment_id: str | None
    refund_id: str | None
    corrected: bool = Field(description="missing_at_paygov corrected by the run itself")
    subject: str
    resolution: Resolution | None


class DiscrepancyList(BaseModel):
    items: list[DiscrepancyOut]
    next_cursor: int | None


class Resolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, examples=["Bank confirmed the reversal."])


class RequestCorrection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payment_id: str = Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_]+$",
        description="the payment order whose money the line is",
        examples=["pay_01JDQ5Z6R4N7X2K9W3B8C5V1TM"],
    )
    reason: str = Field(
        default="",
        max_length=500,
        description="why this money is this order's (kept in the resolution)",
        examples=["Người nộp xác nhận chuyển khoản cho hồ sơ HS-2026-000123, ghi sai nội dung."],
    )


class CorrectionOut(BaseModel):
    approval_id: str = Field(examples=["apr_01JDQ5Z6R4N7X2K9W3B8C5V1TM"])
    status: str = Field(description="pending, approved or rejected")
    run_id: str = Field(description="the run the correction was asked on")
    item_id: int
    provider: str
    date: str
    subject: str = Field(description="the line, as resolutions name it (`line:{bank ref}`)")
    class_: str = Field(alias="class")
    line_no: int
    bank_ref: str | None
    booked_at: str
    amount: int = Field(description="VND: the line's money")
    payment_id: str
    effect: str = Field(
        description="payment (the order was not paid: the amounts agree) or overpayment"
        " (the order was paid already: the money is offered for refund)"
    )
    reason: str
    requested_by: str
    requested_at: str
    decided_by: str | None
    decided_at: str | None
    txn_ref: str | None = Field(description="once approved: the attempt that took the money")


class CorrectionList(BaseModel):
    items: list[CorrectionOut]
