"""The sandbox's VNPay daily settlement file: what VNPay sends a merchant for day T.

`GET /vnpay/settlement/{YYYY-MM-DD}.csv[?tmn_code=XXXXXXXX]` — the VNPay transactions the
sandbox booked on that Vietnam calendar day (all merchants, or one `vnp_TmnCode`): one row
per successful payment and one per refund, in PayGov's assumed VNPay layout
(`bank_adapters.statements.VNPAY_SETTLEMENT_CSV` reads it). A real merchant gets this
file by e-mail or SFTP; the sandbox serves it unauthenticated so `paygov reconcile
--provider <vnpay provider> --file` can be tried end to end. VNPay's fee here is 1.1 % of
each payment, rounded to the dong; refunds carry none.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Final

from fastapi import APIRouter
from fastapi.responses import Response

from bank_adapters.sandbox.app import SandboxBank
from bank_adapters.sandbox.signed_json import csv_bytes, local_day
from bank_adapters.signing import VIETNAM
from bank_adapters.statements.mappings import (
    VNPAY_FULL_REFUND,
    VNPAY_PARTIAL_REFUND,
    VNPAY_PAYMENT,
    VNPAY_SETTLEMENT_COLUMNS,
)

FEE_PER_MILLE: Final = 11  # 1.1 %
REFUND_TYPES: Final = {"02": VNPAY_FULL_REFUND, "03": VNPAY_PARTIAL_REFUND}


def fee(amount: int) -> int:
    """VNPay's sandbox fee on a payment: 1.1 %, half a dong rounded up."""
    return (amount * FEE_PER_MILLE + 500) // 1000


def grouped(amount: int) -> str:
    """150000 → `150.000`: whole VND grouped the Vietnamese way."""
    return f"{amount:,}".replace(",", ".")


def when(moment: datetime) -> str:
    """`dd/MM/yyyy HH:mm:ss` in GMT+7, as VNPay's files write times."""
    return moment.astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M:%S")


def movements(bank: SandboxBank, day: date, tmn_code: str | None) -> list[dict[str, Any]]:
    """Payments and refunds of `day` (one merchant's, or all), in time order."""
    merchants = {c["code"]: str(c["tmn_code"]) for c in bank.configs("vnpay")}
    out = [
        movement
        for entry in bank.payments.values()
        if entry.get("protocol") == "vnpay" and entry["status"] == "succeeded"
        if tmn_code in (None, merchants.get(entry["provider"]))
        for movement in entry_movements(entry, merchants.get(entry["provider"], ""))
        if local_day(movement["at"]) == day
    ]
    return sorted(out, key=lambda m: m["at"])


def entry_movements(entry: dict[str, Any], website: str) -> list[dict[str, Any]]:
    """A paid transaction's row and one row per refund of it."""
    common = {"website": website, "txn_ref": entry["txn_ref"], "bank": entry["bank_code"]}
    payment = {
        **common,
        "number": entry["transaction_no"],
        "type": VNPAY_PAYMENT,
        "amount": entry["amount"],
        "fee": fee(entry["amount"]),
        "at": entry["booked_at"],
        "info": entry["order_info"],
    }
    refunds = [
        {
            **common,
            "number": refund["refund_no"],
            "type": REFUND_TYPES[refund["type"]],
            "amount": refund["amount"],
            "fee": 0,
            "at": refund["booked_at"],
            "info": f"Hoan tra GD {entry['transaction_no']}",
        }
        for refund in entry["refunds"]
    ]
    return [payment, *refunds]


def settlement_csv(bank: SandboxBank, day: date, tmn_code: str | None = None) -> bytes:
    """The day's settlement file (UTF-8 with BOM, columns VNPAY_SETTLEMENT_COLUMNS)."""
    rows = (
        (
            number,
            m["website"],
            m["number"],
            m["txn_ref"],
            m["type"],
            m["bank"],
            grouped(m["amount"]),
            grouped(m["fee"]),
            when(m["at"]),
            m["info"],
        )
        for number, m in enumerate(movements(bank, day, tmn_code), start=1)
    )
    return csv_bytes(VNPAY_SETTLEMENT_COLUMNS, rows, bom=True)


def router(bank: SandboxBank) -> APIRouter:
    """`GET /vnpay/settlement/{day}.csv`."""
    api = APIRouter(prefix="/vnpay", include_in_schema=False)

    @api.get("/settlement/{day}.csv")
    async def settlement(day: date, tmn_code: str | None = None) -> Response:
        """The VNPay settlement file of one Vietnam calendar day (422 if `day` is not one)."""
        body = settlement_csv(bank, day, tmn_code)
        return Response(body, media_type="text/csv; charset=utf-8")

    return api
