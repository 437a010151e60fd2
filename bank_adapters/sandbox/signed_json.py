"""The sandbox's direct-API banks: the bank side of PayGov's bank integration spec v1.

Each `signed_json` provider whose `base_url` ends in `/bank/{slug}` is served here under
that prefix. Requests must carry PayGov's signature (the provider's
`sandbox.paygov_public_key`); answers and callbacks are signed with
`sandbox.bank_private_key`. The payment page offers Pay / Decline / Cancel; the decision
is sent to the attempt's `callback_url` under the fault switches, and the browser goes
back to its `return_url`.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from bank_adapters import signing
from bank_adapters.base import CallbackRejected
from bank_adapters.sandbox.app import SandboxBank
from bank_adapters.statements import PAYGOV_STATEMENT_COLUMNS

FEE_PER_PAYMENT: Final = 1_100  # VND the bank charges PayGov per payment, booked daily
CAMT_NS: Final = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
TXN_REF: Final = re.compile(r"[A-Z0-9]{1,20}")
DECISION_REASONS: Final[dict[str, str | None]] = {
    "pay": None,
    "decline": "declined",
    "cancel": "cancelled",
}


@dataclass
class DirectBank:
    """One sandbox bank with a direct API, and what it has moved."""

    slug: str
    code: str
    name: str
    algorithm: signing.Algorithm
    bank_private_key: str
    paygov_public_key: str
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)  # by txn_ref
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)  # by refund_id

    def reply(self, status_code: int, payload: Any) -> Response:
        """A JSON answer signed by the bank."""
        return self.signed(status_code, signing.json_body(payload), "application/json")

    def signed(self, status_code: int, body: bytes, media_type: str) -> Response:
        """Any answer, signed by the bank."""
        headers = signing.signed_headers(self.algorithm, self.bank_private_key, body)
        return Response(body, status_code=status_code, media_type=media_type, headers=headers)

    def error(self, status_code: int, code: str, message: str) -> Response:
        """A signed `{"error": {"code", "message"}}`."""
        return self.reply(status_code, {"error": {"code": code, "message": message}})


def direct_banks(bank: SandboxBank) -> dict[str, DirectBank]:
    """The signed_json providers by slug, their books kept in `bank.payments`."""
    books = bank.payments.setdefault("signed_json", {})
    raw = {p["code"]: p for p in bank.providers}
    out: dict[str, DirectBank] = {}
    for config in bank.configs("signed_json"):
        match = re.search(r"/bank/([a-z0-9-]+)/?$", config["base_url"])
        if match is None:
            continue
        slug = match.group(1)
        book = books.setdefault(slug, {"payments": {}, "refunds": {}})
        sandbox = raw[config["code"]].get("sandbox", {})
        out[slug] = DirectBank(
            slug=slug,
            code=config["code"],
            name=raw[config["code"]].get("name", slug.upper()),
            algorithm=config["algorithm"],
            bank_private_key=sandbox["bank_private_key"],
            paygov_public_key=sandbox["paygov_public_key"],
            payments=book["payments"],
            refunds=book["refunds"],
        )
    return out


def vnd(amount: int) -> str:
    """150000 → `150.000 ₫` (Vietnamese grouping)."""
    return f"{amount:,}".replace(",", ".") + " ₫"


def reference(prefix: str) -> str:
    """A bank reference: prefix, date, 8 random digits."""
    return f"{prefix}{datetime.now(UTC):%y%m%d}{secrets.randbelow(10**8):08d}"


def with_query(url: str, **params: str) -> str:
    """`url` with `params` added to its query string."""
    parts = urlsplit(url)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    return urlunsplit(parts._replace(query=query))


def router(bank: SandboxBank) -> APIRouter:
    """Routes of every direct-API bank of the sandbox under `/bank/{slug}`."""
    banks = direct_banks(bank)
    api = APIRouter(prefix="/bank/{slug}", tags=["sandbox: signed_json"])

    async def authenticated(slug: str, request: Request) -> tuple[DirectBank, bytes] | Response:
        """The bank and the raw body of a request signed by PayGov, or the refusal."""
        direct = banks.get(slug)
        if direct is None:
            return Response(
                b'{"error":{"code":"no_such_bank"}}', 404, media_type="application/json"
            )
        body = await request.body()
        timestamp = request.headers.get(signing.TIMESTAMP_HEADER, "")
        signature = request.headers.get(signing.SIGNATURE_HEADER, "")
        if not signing.verify(
            direct.algorithm, direct.paygov_public_key, timestamp, body, signature
        ):
            return direct.error(401, "bad_signature", "The request signature does not verify.")
        try:
            signing.check_freshness(timestamp, datetime.now(UTC))
        except CallbackRejected as exc:
            return direct.error(401, "stale_timestamp", exc.reason)
        return direct, body

    @api.post("/payments")
    async def create_payment(slug: str, request: Request) -> Response:
        """`POST /payments`: create (or replay) a payment; answer its payment_url."""
        checked = await authenticated(slug, request)
        if isinstance(checked, Response):
            return checked
        direct, body = checked
        try:
            order = read_order(body)
        except (ValueError, TypeError, KeyError) as exc:
            return direct.error(422, "invalid_request", str(exc))
        url = f"{str(request.base_url).rstrip('/')}/bank/{slug}/pay/{order['txn_ref']}"
        existing = direct.payments.get(order["txn_ref"])
        if existing is not None:
            if existing["amount"] != order["amount"]:
                return direct.error(409, "txn_ref_reused", "This txn_ref has another amount.")
            return direct.reply(200, payment_created(existing, url))
        record = {
            **order,
            "bank_reference": reference(slug.upper()),
            "status": "pending",
            "reason": None,
            "created_at": datetime.now(UTC),
            "paid_at": None,
            "callbacks": [],
        }
        direct.payments[order["txn_ref"]] = record
        return direct.reply(201, payment_created(record, url))

    @api.get("/payments/{txn_ref}")
    async def payment_status(slug: str, txn_ref: str, request: Request) -> Response:
        """`GET /payments/{txn_ref}`: the payment as the bank sees it."""
        checked = await authenticated(slug, request)
        if isinstance(checked, Response):
            return checked
        direct, _ = checked
        record = direct.payments.get(txn_ref)
        if record is None:
            return direct.error(404, "not_found", "No payment with this txn_ref.")
        return direct.reply(200, status_of(record))

    @api.get("/pay/{txn_ref}", response_class=HTMLResponse)
    async def payment_page(slug: str, txn_ref: str) -> HTMLResponse:
        """The page where the citizen pays, declines or cancels."""
        direct = banks.get(slug)
        record = direct.payments.get(txn_ref) if direct else None
        if direct is None or record is None:
            return HTMLResponse(page("Không tìm thấy / Not found", "<p>No such payment.</p>"), 404)
        return HTMLResponse(pay_page(direct, record))

    @api.post("/pay/{txn_ref}")
    async def decide(slug: str, txn_ref: str, request: Request) -> Response:
        """The citizen's decision: record it, schedule the callback, return the browser."""
        direct = banks.get(slug)
        record = direct.payments.get(txn_ref) if direct else None
        if direct is None or record is None:
            return HTMLResponse(page("Không tìm thấy / Not found", "<p>No such payment.</p>"), 404)
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        decision = form.get("decision", [""])[0]
        if decision not in ("pay", "decline", "cancel"):
            return HTMLResponse(page("Lỗi / Error", "<p>Unknown decision.</p>"), 422)
        if record["status"] == "pending":  # a second click changes nothing
            record["status"] = "succeeded" if decision == "pay" else "failed"
            record["reason"] = DECISION_REASONS[decision]
            record["paid_at"] = datetime.now(UTC) if decision == "pay" else None
            record["decided_at"] = datetime.now(UTC)
            schedule_callback(bank, direct, record)
        target = with_query(record["return_url"], txn_ref=txn_ref)
        return RedirectResponse(target, status_code=303)

    @api.post("/refunds")
    async def create_refund(slug: str, request: Request) -> Response:
        """`POST /refunds`: refund at once, idempotent on refund_id."""
        checked = await authenticated(slug, request)
        if isinstance(checked, Response):
            return checked
        direct, body = checked
        try:
            ask = read_refund(body)
        except (ValueError, TypeError, KeyError) as exc:
            return direct.error(422, "invalid_request", str(exc))
        return refund(direct, ask)

    @api.get("/statements/{day}.csv")
    async def statement_csv(slug: str, day: str, request: Request) -> Response:
        """`GET /statements/{day}.csv`: the day's movements as CSV."""
        checked = await authenticated(slug, request)
        if isinstance(checked, Response):
            return checked
        direct, _ = checked
        try:
            wanted = date.fromisoformat(day)
        except ValueError:
            return direct.error(422, "invalid_date", "Dates are YYYY-MM-DD.")
        return direct.signed(200, statement_csv_bytes(movements(direct, wanted)), "text/csv")

    @api.get("/statements/{day}")
    async def statement(slug: str, day: str, request: Request) -> Response:
        """`GET /statements/{day}`: the day's movements as camt.053.001.08."""
        checked = await authenticated(slug, request)
        if isinstance(checked, Response):
            return checked
        direct, _ = checked
        try:
            wanted = date.fromisoformat(day)
        except ValueError:
            return direct.error(422, "invalid_date", "Dates are YYYY-MM-DD.")
        return direct.signed(200, camt053(direct, wanted), "application/xml")

    return api


# --- payments ----------------------------------------------------------------------------


def read_order(body: bytes) -> dict[str, Any]:
    """The payment initiation, checked the way a careful bank would."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise TypeError("body must be a JSON object")
    if not isinstance(data["txn_ref"], str) or not TXN_REF.fullmatch(data["txn_ref"]):
        raise ValueError("txn_ref must be 1-20 characters A-Z 0-9")
    if type(data["amount"]) is not int or data["amount"] <= 0:
        raise ValueError("amount must be a positive whole number of VND")
    if data.get("currency") != "VND":
        raise ValueError("currency must be VND")
    for name in ("return_url", "callback_url"):
        if not str(data[name]).startswith(("https://", "http://")):
            raise ValueError(f"{name} must be an http(s) URL")
    return {
        "txn_ref": data["txn_ref"],
        "amount": data["amount"],
        "description": str(data.get("description", ""))[:255],
        "expires_at": signing.parse_time(data["expires_at"]),
        "return_url": data["return_url"],
        "callback_url": data["callback_url"],
        "bank_code": data.get("bank_code"),
        "language": data.get("language", "vi"),
    }


def payment_created(record: dict[str, Any], url: str) -> dict[str, Any]:
    """The answer to `POST /payments`."""
    return {
        "txn_ref": record["txn_ref"],
        "payment_url": url,
        "bank_reference": record["bank_reference"],
    }


def status_of(record: dict[str, Any]) -> dict[str, Any]:
    """The answer to `GET /payments/{txn_ref}`."""
    out: dict[str, Any] = {
        "txn_ref": record["txn_ref"],
        "status": record["status"],
        "amount": record["amount"],
        "bank_reference": record["bank_reference"],
    }
    if record["paid_at"]:
        out["paid_at"] = signing.iso_time(record["paid_at"])
    if record["reason"]:
        out["reason"] = record["reason"]
    return out


def corrupt(signature: str) -> str:
    """The same signature with one bit flipped: well-formed, and wrong."""
    raw = bytearray(base64.b64decode(signature))
    raw[-1] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def schedule_callback(bank: SandboxBank, direct: DirectBank, record: dict[str, Any]) -> None:
    """Send the decision to PayGov under the fault switches in force now."""
    alter, bad = bank.faults.alter_amount, bank.faults.bad_signature
    succeeded = record["status"] == "succeeded"

    def event(kind: str, reason: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "event_id": f"evt_{secrets.token_hex(12)}",
            "type": kind,
            "txn_ref": record["txn_ref"],
            "amount": record["amount"] + alter,
            "bank_reference": record["bank_reference"],
        }
        if kind == "payment.succeeded":
            out["paid_at"] = signing.iso_time(record["paid_at"])
        if reason:
            out["reason"] = reason
        return out

    async def send(payload: dict[str, Any]) -> None:
        body = signing.json_body(payload)  # signed at each delivery, with its own time
        headers = signing.signed_headers(direct.algorithm, direct.bank_private_key, body)
        if bad:
            headers[signing.SIGNATURE_HEADER] = corrupt(headers[signing.SIGNATURE_HEADER])
        headers["Content-Type"] = "application/json"
        response = await bank.http.post(record["callback_url"], content=body, headers=headers)
        record["callbacks"].append(
            {"event": payload, "status_code": response.status_code, "reply": response.text}
        )

    final = (
        event("payment.succeeded", None) if succeeded else event("payment.failed", record["reason"])
    )
    # Out of order: an earlier state arrives after the final one, under its own event_id.
    stale = (
        event("payment.failed", "earlier_try_declined")
        if succeeded
        else event("payment.pending", None)
    )
    bank.dispatcher.schedule(
        f"{direct.slug} {final['type']} {record['txn_ref']}",
        lambda: send(final),
        lambda: send(stale),
    )


# --- refunds -----------------------------------------------------------------------------


def read_refund(body: bytes) -> dict[str, Any]:
    """A refund request, checked."""
    data = json.loads(body)
    if not isinstance(data, dict):
        raise TypeError("body must be a JSON object")
    if not isinstance(data["refund_id"], str) or not 0 < len(data["refund_id"]) <= 64:
        raise ValueError("refund_id must be a string of 1-64 characters")
    if type(data["amount"]) is not int or data["amount"] <= 0:
        raise ValueError("amount must be a positive whole number of VND")
    return {
        "refund_id": data["refund_id"],
        "txn_ref": str(data["txn_ref"]),
        "amount": data["amount"],
        "reason": str(data.get("reason", ""))[:255],
    }


def refund(direct: DirectBank, ask: dict[str, Any]) -> Response:
    """Refund at once (the sandbox has no pending refunds); idempotent on refund_id."""
    existing = direct.refunds.get(ask["refund_id"])
    if existing is not None:
        if (existing["txn_ref"], existing["amount"]) != (ask["txn_ref"], ask["amount"]):
            return direct.error(409, "refund_id_reused", "This refund_id has other details.")
        return direct.reply(200, refund_answer(existing))
    payment = direct.payments.get(ask["txn_ref"])
    if payment is None:
        return direct.error(404, "not_found", "No payment with this txn_ref.")
    if payment["status"] != "succeeded":
        return direct.error(409, "not_refundable", "Only a paid payment can be refunded.")
    refunded = sum(r["amount"] for r in direct.refunds.values() if r["txn_ref"] == ask["txn_ref"])
    if refunded + ask["amount"] > payment["amount"]:
        return direct.error(422, "amount_exceeds_remaining", "More than what is left to refund.")
    now = datetime.now(UTC)
    record = {
        **ask,
        "status": "succeeded",
        "bank_refund_reference": reference(f"RF{direct.slug.upper()}"),
        "booked_at": now,
    }
    direct.refunds[ask["refund_id"]] = record
    return direct.reply(201, refund_answer(record))


def refund_answer(record: dict[str, Any]) -> dict[str, Any]:
    """The answer to `POST /refunds`."""
    return {
        "refund_id": record["refund_id"],
        "txn_ref": record["txn_ref"],
        "amount": record["amount"],
        "status": record["status"],
        "bank_refund_reference": record["bank_refund_reference"],
        "refunded_at": signing.iso_time(record["booked_at"]),
    }


# --- statements --------------------------------------------------------------------------


@dataclass(frozen=True)
class Movement:
    """One booked movement on PayGov's account at the bank."""

    booked_at: datetime
    amount: int  # negative for debits
    txn_ref: str | None
    memo: str
    bank_reference: str
    fee: int = 0
    kind: str = "payment"  # payment | refund | fee
    instruction_id: str | None = None


def local_time(moment: datetime) -> str:
    """ISO 8601 in Vietnam time, to the second: how the sandbox writes times in files."""
    return moment.astimezone(signing.VIETNAM).isoformat(timespec="seconds")


def local_day(moment: datetime) -> date:
    """The calendar day in Vietnam, which statements are cut by."""
    return moment.astimezone(signing.VIETNAM).date()


def all_movements(direct: DirectBank) -> list[Movement]:
    """Every movement ever, with one fee entry per day that had payments."""
    out = [
        Movement(
            p["paid_at"],
            p["amount"],
            p["txn_ref"],
            f"{p['txn_ref']} {p['description']}"[:140],
            p["bank_reference"],
        )
        for p in direct.payments.values()
        if p["status"] == "succeeded"
    ]
    out += [
        Movement(
            r["booked_at"],
            -r["amount"],
            r["txn_ref"],
            f"REFUND {r['refund_id']}"[:140],
            r["bank_refund_reference"],
            kind="refund",
            instruction_id=r["refund_id"],
        )
        for r in direct.refunds.values()
    ]
    days: dict[date, int] = {}
    for movement in out:
        if movement.kind == "payment":
            days[local_day(movement.booked_at)] = days.get(local_day(movement.booked_at), 0) + 1
    for day, count in days.items():
        fee = count * FEE_PER_PAYMENT
        end = datetime.combine(day, time(23, 59, 59), signing.VIETNAM)
        out.append(
            Movement(
                end,
                -fee,
                None,
                f"PHI DICH VU THU HO {count} GD / service fee",
                f"FEE{direct.slug.upper()}{day:%Y%m%d}",
                fee=fee,
                kind="fee",
            )
        )
    return sorted(out, key=lambda m: m.booked_at)


def movements(direct: DirectBank, day: date) -> list[Movement]:
    """The movements booked on one Vietnam calendar day."""
    return [m for m in all_movements(direct) if local_day(m.booked_at) == day]


def csv_bytes(
    header: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool = False
) -> bytes:
    """CSV as the sandbox's statements write it: RFC 4180 quoting, CRLF, UTF-8 (with a BOM
    when the file is meant for Excel)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")


def statement_csv_bytes(rows: Iterable[Movement]) -> bytes:
    """The §8.3 CSV (`bank_adapters.statements.PAYGOV_STATEMENT_CSV` reads it back)."""
    return csv_bytes(
        PAYGOV_STATEMENT_COLUMNS,
        (
            (local_time(m.booked_at), m.amount, m.txn_ref or "", m.memo, m.bank_reference, m.fee)
            for m in rows
        ),
    )


def _add(parent: ET.Element, path: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = parent
    for name in path.split("/"):
        node = ET.SubElement(node, name)
    node.attrib.update(attrs)
    if text is not None:
        node.text = text
    return node


def _balance(stmt: ET.Element, code: str, amount: int, day: date) -> None:
    bal = _add(stmt, "Bal")
    _add(bal, "Tp/CdOrPrtry/Cd", code)
    _add(bal, "Amt", str(abs(amount)), Ccy="VND")
    _add(bal, "CdtDbtInd", "CRDT" if amount >= 0 else "DBIT")
    _add(bal, "Dt/Dt", day.isoformat())


def _bank_code(entry: ET.Element, domain: str, family: str, sub: str) -> None:
    code = _add(entry, "BkTxCd/Domn")
    _add(code, "Cd", domain)
    fmly = _add(code, "Fmly")
    _add(fmly, "Cd", family)
    _add(fmly, "SubFmlyCd", sub)


def camt053(direct: DirectBank, day: date) -> bytes:
    """camt.053.001.08 for one day: credits per payment, debits per refund, one fee entry."""
    everything = all_movements(direct)
    start = datetime.combine(day, time(0), signing.VIETNAM)
    opening = sum(m.amount for m in everything if m.booked_at < start)
    today = [m for m in everything if local_day(m.booked_at) == day]
    now = local_time(datetime.now(UTC))
    doc = ET.Element("Document", xmlns=CAMT_NS)  # the default namespace, written as is
    report = _add(doc, "BkToCstmrStmt")
    header = _add(report, "GrpHdr")
    _add(header, "MsgId", f"STMT-{direct.slug.upper()}-{day:%Y%m%d}")
    _add(header, "CreDtTm", now)
    stmt = _add(report, "Stmt")
    _add(stmt, "Id", f"{direct.slug.upper()}-{day:%Y%m%d}")
    _add(stmt, "CreDtTm", now)
    period = _add(stmt, "FrToDt")
    _add(period, "FrDtTm", local_time(start))
    _add(period, "ToDtTm", local_time(start + timedelta(days=1, seconds=-1)))
    account = _add(stmt, "Acct")
    _add(account, "Id/Othr/Id", f"PAYGOV-{direct.slug.upper()}")
    _add(account, "Ccy", "VND")
    _balance(stmt, "OPBD", opening, day)
    _balance(stmt, "CLBD", opening + sum(m.amount for m in today), day)
    for m in today:
        entry = _add(stmt, "Ntry")
        _add(entry, "Amt", str(abs(m.amount)), Ccy="VND")
        _add(entry, "CdtDbtInd", "CRDT" if m.amount >= 0 else "DBIT")
        _add(entry, "Sts/Cd", "BOOK")
        _add(entry, "BookgDt/DtTm", local_time(m.booked_at))
        _add(entry, "ValDt/Dt", day.isoformat())
        _add(entry, "AcctSvcrRef", m.bank_reference)
        if m.kind == "fee":
            _bank_code(entry, "ACMT", "MDOP", "CHRG")
            _add(entry, "AddtlNtryInf", m.memo)
            continue
        _bank_code(entry, "PMNT", "RCDT" if m.kind == "payment" else "ICDT", "DMCT")
        tx = _add(entry, "NtryDtls/TxDtls")
        refs = _add(tx, "Refs")
        _add(refs, "AcctSvcrRef", m.bank_reference)
        if m.instruction_id:
            _add(refs, "InstrId", m.instruction_id)
        _add(refs, "EndToEndId", m.txn_ref or "NOTPROVIDED")
        _add(tx, "Amt", str(abs(m.amount)), Ccy="VND")
        _add(tx, "CdtDbtInd", "CRDT" if m.amount >= 0 else "DBIT")
        _add(tx, "RmtInf/Ustrd", m.memo)
    return bytes(ET.tostring(doc, encoding="utf-8", xml_declaration=True))


# --- the payment page ----------------------------------------------------------------------

STYLE: Final = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;"
    "color:#1b2733}h1{font-size:1.25rem}.amount{font-size:2rem;font-weight:700;margin:.5rem 0}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem 1rem}dt{color:#5b6b7a}"
    "button{font-size:1rem;padding:.7rem 1rem;margin:.25rem .25rem 0 0;border:0;"
    "border-radius:.4rem;cursor:pointer}.pay{background:#0a7d3b;color:#fff}"
    ".decline{background:#b3261e;color:#fff}.cancel{background:#e3e7eb}"
    ".note{background:#fff4d6;padding:.5rem;border-radius:.3rem}"
)


def page(title: str, body: str) -> str:
    """A small self-contained HTML page."""
    return (
        f'<!doctype html><html lang="vi"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )


def pay_page(direct: DirectBank, record: dict[str, Any]) -> str:
    """The bank's page where the citizen approves or refuses the payment."""
    esc = html.escape
    expires = record["expires_at"].astimezone(signing.VIETNAM)
    details = (
        f'<p class="amount">{esc(vnd(record["amount"]))}</p><dl>'
        f"<dt>Nội dung / Description</dt><dd>{esc(record['description'])}</dd>"
        f"<dt>Mã giao dịch / Reference</dt><dd>{esc(record['txn_ref'])}</dd>"
        f"<dt>Hạn / Expires</dt><dd>{esc(f'{expires:%H:%M %d/%m/%Y}')}</dd>"
        "</dl>"
    )
    if record["status"] != "pending":
        done = (
            "Đã thanh toán / Paid"
            if record["status"] == "succeeded"
            else "Không thành công / Not paid"
        )
        back = esc(with_query(record["return_url"], txn_ref=record["txn_ref"]))
        return page(
            direct.name, f'{details}<p>{done}</p><p><a href="{back}">Quay lại / Back</a></p>'
        )
    note = ""
    if record["expires_at"] < datetime.now(UTC):
        note = (
            '<p class="note">Đã quá hạn / Past its deadline — the sandbox still accepts '
            "it, so a late success can be tried.</p>"
        )
    form = (
        f'<form method="post" action="/bank/{esc(direct.slug)}/pay/{esc(record["txn_ref"])}">'
        '<button class="pay" name="decision" value="pay">Thanh toán / Pay</button>'
        '<button class="decline" name="decision" value="decline">Từ chối / Decline</button>'
        '<button class="cancel" name="decision" value="cancel">Hủy / Cancel</button></form>'
    )
    return page(direct.name, details + note + form)
