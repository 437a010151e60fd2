"""The sandbox's VietQR side: a citizen's bank app that pays a VietQR, and the collection
bank that notifies PayGov of the credit.

`GET /vietqr/transfer` is the "bank app": paste a payload (or type account, amount and
memo) and press Transfer. The transfer is booked on the collection account of the
`vietqr` provider it names, and the credit notification, signed with that provider's
`sandbox.notification_private_key`, goes to PayGov under the fault switches. Like a real
bank, the sandbox writes its own prefix and suffix around the QR's purpose in the memo.
"""

from __future__ import annotations

import html
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Final
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse

from bank_adapters import signing
from bank_adapters.sandbox.app import SandboxBank
from bank_adapters.sandbox.signed_json import (
    corrupt,
    csv_bytes,
    local_day,
    local_time,
    page,
    vnd,
)
from bank_adapters.statements import PAYGOV_STATEMENT_COLUMNS
from bank_adapters.vietqr import payload as vietqr

SENDER: Final = "1023456789 NGUYEN VAN AN"  # the sandbox citizen's own account


class TransferRefused(ValueError):
    """The bank app will not make this transfer (bad payload, unknown account, ...)."""


@dataclass(frozen=True)
class CollectionAccount:
    """A `vietqr` provider as its collection bank sees it."""

    code: str
    bank_bin: str
    account_number: str
    account_name: str
    algorithm: signing.Algorithm
    private_key: str


def collection_accounts(bank: SandboxBank) -> list[CollectionAccount]:
    """The `vietqr` providers' collection accounts with their notification keys."""
    raw = {p["code"]: p for p in bank.providers}
    return [
        CollectionAccount(
            code=config["code"],
            bank_bin=config["bank_bin"],
            account_number=config["account_number"],
            account_name=config["account_name"],
            algorithm=config["notification_algorithm"],
            private_key=raw[config["code"]]["sandbox"]["notification_private_key"],
        )
        for config in bank.configs("vietqr")
    ]


def bank_memo(purpose: str) -> str:
    """The memo as a Vietnamese bank writes it: its prefix, the purpose, the sender."""
    return f"MBVCB.{secrets.randbelow(10**10):010d}.{purpose}.CT tu {SENDER}"


def transfer(
    bank: SandboxBank,
    *,
    payload: str | None = None,
    account_number: str | None = None,
    amount: int | None = None,
    memo: str | None = None,
) -> dict[str, Any]:
    """Book a transfer to a collection account and schedule its credit notification."""
    accounts = collection_accounts(bank)
    if payload:
        try:
            qr = vietqr.parse(payload)
            qr_amount = qr.amount_vnd
        except vietqr.InvalidPayload as exc:
            raise TransferRefused(f"not a valid VietQR: {exc}") from None
        if (qr.guid, qr.service, qr.currency) != (
            vietqr.NAPAS_GUID,
            vietqr.SERVICE_TO_ACCOUNT,
            vietqr.CURRENCY_VND,
        ):
            raise TransferRefused("not a NAPAS 247 transfer to an account in VND")
        target = [a for a in accounts if (a.bank_bin, a.account_number) == (qr.bin, qr.account)]
        amount = qr_amount or amount
        memo = memo or bank_memo(qr.purpose or "")
    else:
        target = [a for a in accounts if a.account_number == account_number]
    if not target:
        raise TransferRefused("no collection account of the sandbox has this number")
    if amount is None or amount <= 0:
        raise TransferRefused("the amount must be a positive whole number of VND")
    account = target[0]
    now = datetime.now(UTC)
    transaction_id = f"FT{now:%y%m%d}{secrets.randbelow(10**10):010d}"
    credit: dict[str, Any] = {
        "transaction_id": transaction_id,
        "account_number": account.account_number,
        "amount": amount,
        "memo": memo or "",
        "booked_at": now,
        "provider": account.code,
        "callbacks": [],
    }
    bank.payments.setdefault("vietqr", {})[transaction_id] = credit
    schedule_notification(bank, account, credit)
    return credit


def schedule_notification(
    bank: SandboxBank, account: CollectionAccount, credit: dict[str, Any]
) -> None:
    """Send the signed credit notification under the fault switches in force now.

    `out_of_order` has nothing to act on: a credit has no earlier state to send late.
    """
    alter, bad = bank.faults.alter_amount, bank.faults.bad_signature
    notification = {
        "transaction_id": credit["transaction_id"],
        "account_number": credit["account_number"],
        "amount": credit["amount"] + alter,
        "memo": credit["memo"],
        "booked_at": local_time(credit["booked_at"]),
        "direction": "credit",
    }

    async def send() -> None:
        body = signing.json_body(notification)
        headers = signing.signed_headers(account.algorithm, account.private_key, body)
        if bad:
            headers[signing.SIGNATURE_HEADER] = corrupt(headers[signing.SIGNATURE_HEADER])
        headers["Content-Type"] = "application/json"
        response = await bank.http.post(
            bank.callback_url(account.code), content=body, headers=headers
        )
        credit["callbacks"].append(
            {"event": notification, "status_code": response.status_code, "reply": response.text}
        )

    bank.dispatcher.schedule(f"vietqr credit {credit['transaction_id']}", send)


def public(credit: dict[str, Any]) -> dict[str, Any]:
    """A credit as JSON."""
    return {
        "transaction_id": credit["transaction_id"],
        "provider": credit["provider"],
        "account_number": credit["account_number"],
        "amount": credit["amount"],
        "memo": credit["memo"],
        "booked_at": signing.iso_time(credit["booked_at"]),
    }


def statement_csv(bank: SandboxBank, day: date, account_number: str | None) -> bytes:
    """The collection account's CSV for a Vietnam calendar day (same columns as signed_json).

    A collection bank knows no txn_ref: that column is empty and the memo carries it.
    """
    credits = sorted(bank.payments.get("vietqr", {}).values(), key=lambda c: c["booked_at"])
    return csv_bytes(
        PAYGOV_STATEMENT_COLUMNS,
        (
            (local_time(c["booked_at"]), c["amount"], "", c["memo"], c["transaction_id"], 0)
            for c in credits
            if local_day(c["booked_at"]) == day and account_number in (None, c["account_number"])
        ),
    )


def router(bank: SandboxBank) -> APIRouter:
    """The bank app page, its JSON twin for tests, and the collection account's statement."""
    api = APIRouter(prefix="/vietqr", tags=["sandbox: vietqr"])

    @api.get("/transfer", response_class=HTMLResponse)
    async def transfer_page(payload: str = "") -> HTMLResponse:
        """The bank app, optionally with a payload filled in."""
        return HTMLResponse(app_page(bank, payload))

    @api.post("/transfer", response_class=HTMLResponse)
    async def transfer_form(request: Request) -> HTMLResponse:
        """Transfer from the bank app's form; show the receipt."""
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8")).items()}
        try:
            amount = int(form["amount"].replace(".", "")) if form.get("amount") else None
            credit = transfer(
                bank,
                payload=form.get("payload", "").strip() or None,
                account_number=form.get("account_number"),
                amount=amount,
                memo=form.get("memo") or None,
            )
        except ValueError as exc:
            message = f'<p class="note">{html.escape(str(exc))}</p>'
            return HTMLResponse(app_page(bank, form.get("payload", ""), message), 422)
        return HTMLResponse(done_page(credit))

    @api.post("/transfer.json")
    async def transfer_json(request: Request) -> JSONResponse:
        """Transfer from JSON `{payload}` or `{account_number, amount, memo}`."""
        try:
            data = json.loads(await request.body())
            if not isinstance(data, dict):
                raise TransferRefused("body must be a JSON object")
            amount = data.get("amount")
            if amount is not None and type(amount) is not int:
                raise TransferRefused("amount must be a whole number of VND")
            credit = transfer(
                bank,
                payload=data.get("payload"),
                account_number=data.get("account_number"),
                amount=amount,
                memo=data.get("memo"),
            )
        except ValueError as exc:
            return JSONResponse({"error": {"code": "transfer_refused", "message": str(exc)}}, 422)
        return JSONResponse(public(credit), 201)

    @api.get("/statements/{day}.csv")
    async def statement(day: str, account: str | None = None) -> Response:
        """`GET /vietqr/statements/{day}.csv`: the collection account's day."""
        try:
            wanted = date.fromisoformat(day)
        except ValueError:
            return JSONResponse({"error": {"code": "invalid_date"}}, 422)
        return Response(statement_csv(bank, wanted, account), media_type="text/csv")

    return api


def app_page(bank: SandboxBank, payload: str, message: str = "") -> str:
    """The bank app: pay a VietQR by its payload, or by account, amount and memo."""
    esc = html.escape
    accounts = "".join(
        f"<li>{esc(a.account_name)} — {esc(a.bank_bin)} / {esc(a.account_number)}</li>"
        for a in collection_accounts(bank)
    )
    body = (
        f"{message}<p>Tài khoản nhận / Collection accounts:</p><ul>{accounts}</ul>"
        '<form method="post" action="/vietqr/transfer">'
        '<p><label>Mã VietQR / VietQR payload<br><textarea name="payload" rows="4" '
        f'style="width:100%">{esc(payload)}</textarea></label></p>'
        "<p>…hoặc / or</p><dl>"
        '<dt>Số tài khoản / Account</dt><dd><input name="account_number"></dd>'
        '<dt>Số tiền / Amount (₫)</dt><dd><input name="amount" inputmode="numeric"></dd>'
        '<dt>Nội dung / Memo</dt><dd><input name="memo"></dd></dl>'
        '<button class="pay">Chuyển tiền / Transfer</button></form>'
    )
    return page("Ngân hàng sandbox — chuyển tiền / Sandbox bank — transfer", body)


def done_page(credit: dict[str, Any]) -> str:
    """The receipt after a transfer."""
    esc = html.escape
    body = (
        f'<p class="amount">{esc(vnd(credit["amount"]))}</p><dl>'
        f"<dt>Mã giao dịch / Transaction</dt><dd>{esc(credit['transaction_id'])}</dd>"
        f"<dt>Tới / To</dt><dd>{esc(credit['account_number'])}</dd>"
        f"<dt>Nội dung / Memo</dt><dd>{esc(credit['memo'])}</dd></dl>"
        '<p><a href="/vietqr/transfer">Chuyển tiếp / Another transfer</a></p>'
    )
    return page("Chuyển tiền thành công / Transfer done", body)
