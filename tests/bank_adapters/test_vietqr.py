"""VietQR: payloads against independently decoded vectors, the memo matcher, and the
adapter with the sandbox's bank app and collection-bank notification served in-process."""

from __future__ import annotations

import json
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from pydantic import ValidationError

from bank_adapters import signing
from bank_adapters.base import (
    AckResult,
    AttemptRef,
    AttemptRequest,
    CallbackRejected,
    InboundRequest,
    ProviderEvent,
    QrCode,
    RefundRequest,
    StatementFileOnly,
)
from bank_adapters.sandbox import vietqr as sandbox_vietqr
from bank_adapters.sandbox.app import SandboxBank
from bank_adapters.vietqr import payload
from bank_adapters.vietqr.adapter import VietQrAdapter, VietQrConfig, find_txn_ref

ROOT = Path(__file__).resolve().parents[2]
VECTORS = json.loads(
    (ROOT.parent / "shared" / "data" / "vietqr" / "vectors.json").read_text(encoding="utf-8")
)["vectors"]
PAYGOV_URL = "http://paygov.test"
CODE = "vietqr-sandbox"
TXN_REF = "PG0123456789ABCD"


def providers() -> dict[str, dict[str, Any]]:
    text = (ROOT / "config" / "providers.sandbox.toml").read_text(encoding="utf-8")
    return {p["code"]: p for p in tomllib.loads(text)["provider"]}


PROVIDERS = providers()
CONFIG = PROVIDERS[CODE]["config"]
BANK_KEY = PROVIDERS[CODE]["sandbox"]["notification_private_key"]


def adapter() -> VietQrAdapter:
    return VietQrAdapter(CODE, VietQrConfig.model_validate(CONFIG), httpx.AsyncClient())


def notification(
    *,
    memo: str = f"MBVCB.3278.{TXN_REF}.CT tu 0123",
    sent_at: datetime | None = None,
    **fields: Any,
) -> InboundRequest:
    """A credit notification as the collection bank signs it."""
    body = signing.json_body(
        {
            "transaction_id": "FT26011500000001",
            "account_number": CONFIG["account_number"],
            "amount": 150_000,
            "memo": memo,
            "booked_at": "2026-01-15T10:20:30+07:00",
            "direction": "credit",
            **fields,
        }
    )
    headers = signing.signed_headers("ecdsa-p256-sha256", BANK_KEY, body, sent_at)
    return InboundRequest("POST", {}, {k.lower(): v for k, v in headers.items()}, body)


def with_crc(body: str) -> str:
    """`body` with a correct CRC field, so only its structure can be wrong."""
    return body + "6304" + payload.crc_of(body + "6304")


MERCHANT = payload.tlv(
    "38",
    payload.tlv("00", "A000000727")
    + payload.tlv("01", payload.tlv("00", "970436") + payload.tlv("01", "0071000888999"))
    + payload.tlv("02", "QRIBFTTA"),
)
NO_BIN = payload.tlv(
    "38", payload.tlv("00", "A000000727") + payload.tlv("01", payload.tlv("01", "0071000888999"))
)


# --- payloads ----------------------------------------------------------------------------


class TestPayload:
    @pytest.mark.parametrize("vector", [v for v in VECTORS if v["expect"]["valid"]])
    def test_valid_vectors_decode_exactly(self, vector: dict[str, Any]) -> None:
        decoded = payload.parse(vector["payload"])
        expected = {k: v for k, v in vector["expect"].items() if k != "valid"}
        assert {name: getattr(decoded, name) for name in expected} == expected

    @pytest.mark.parametrize("vector", [v for v in VECTORS if not v["expect"]["valid"]])
    def test_invalid_vectors_are_rejected(self, vector: dict[str, Any]) -> None:
        with pytest.raises(payload.InvalidPayload, match="CRC"):
            payload.parse(vector["payload"])

    def test_building_the_vector_gives_the_same_payload(self) -> None:
        (vector,) = [v for v in VECTORS if v["expect"]["valid"]]
        built = payload.build(
            bank_bin="970416", account="257678859", amount=1000, purpose="Chuyen tien"
        )
        assert built == vector["payload"]

    def test_crc_of_the_check_string(self) -> None:
        assert payload.crc16_ccitt_false(b"123456789") == 0x29B1  # CRC-16/CCITT-FALSE check
        assert payload.crc_of("123456789") == "29B1"

    def test_round_trip_with_a_txn_ref_purpose(self) -> None:
        text = payload.build(
            bank_bin="970436", account="0071000888999", amount=150_000, purpose=TXN_REF
        )
        decoded = payload.parse(text)
        assert (decoded.bin, decoded.account, decoded.amount_vnd, decoded.purpose) == (
            "970436",
            "0071000888999",
            150_000,
            TXN_REF,
        )
        assert (decoded.point_of_initiation, decoded.guid, decoded.service) == (
            "12",
            "A000000727",
            "QRIBFTTA",
        )
        assert (decoded.currency, decoded.country, decoded.crc) == ("704", "VN", text[-4:])
        assert text.endswith("6304" + payload.crc_of(text[:-4]))

    def test_without_an_amount_it_is_static(self) -> None:
        decoded = payload.parse(payload.build(bank_bin="970436", account="0071000888999"))
        assert (decoded.point_of_initiation, decoded.amount, decoded.purpose) == ("11", None, None)

    @pytest.mark.parametrize(
        ("text", "reason"),
        [
            ("", "CRC field"),
            ("6304ABCD", "CRC mismatch"),
            (with_crc("0002010102123899"), "runs past the end"),  # 38 claims 99 chars
            (with_crc("0002010102125303704"), "missing field 38"),
            (with_crc("000202010212" + MERCHANT + "5303704"), "format indicator"),
            (with_crc("00020101021201021253037045802VN" + MERCHANT), "repeated"),
            (with_crc("000201AB0212"), "TLV header"),
            (with_crc("000201010212" + NO_BIN + "5303704"), "missing field 38.01.00"),
        ],
    )
    def test_malformed_payloads_are_rejected(self, text: str, reason: str) -> None:
        with pytest.raises(payload.InvalidPayload, match=reason):
            payload.parse(text)

    @pytest.mark.parametrize("purpose", ["Lệ phí hộ chiếu", "x" * 26, "line\nbreak"])
    def test_purpose_must_be_short_printable_ascii(self, purpose: str) -> None:
        with pytest.raises(ValueError, match="purpose"):
            payload.build(bank_bin="970436", account="1", amount=1, purpose=purpose)


class TestMemo:
    @pytest.mark.parametrize(
        "memo",
        [
            TXN_REF,
            f"MBVCB.3278123456.{TXN_REF}.CT tu 0011001234567 NGUYEN VAN AN",
            f"IBFT {TXN_REF.lower()} thanh toan le phi",
            f"CT TU 0123{TXN_REF}THANH TOAN",  # spaces dropped on both sides
            "PG01234 56789 ABCD",  # spaces typed inside
            "PG0123456789ABCD-FT26015",
            "PGO123456789ABCD",  # O typed for 0
        ],
    )
    def test_the_txn_ref_is_found_whatever_the_bank_adds(self, memo: str) -> None:
        assert find_txn_ref(memo) == TXN_REF

    def test_a_standalone_code_wins_over_one_glued_to_other_text(self) -> None:
        assert find_txn_ref("FT24PG0000000000000AB PG0123456789ABCD") == TXN_REF

    @pytest.mark.parametrize("memo", ["", "chuyen tien le phi", "PG123", "PGIIIIIIIIIIIIUU"])
    def test_no_code_no_match(self, memo: str) -> None:
        assert find_txn_ref(memo) is None


# --- the adapter -------------------------------------------------------------------------


def attempt() -> AttemptRequest:
    now = datetime.now(UTC)
    return AttemptRequest(
        txn_ref=TXN_REF,
        amount=150_000,
        description="Lệ phí cấp hộ chiếu",
        created_at=now,
        expires_at=now + timedelta(minutes=15),
        return_url=f"{PAYGOV_URL}/checkout/return/{CODE}",
        callback_url=f"{PAYGOV_URL}/callbacks/{CODE}",
    )


class TestAdapter:
    async def test_start_shows_a_dynamic_qr_for_the_collection_account(self) -> None:
        qr = await adapter().start(attempt())
        assert isinstance(qr, QrCode)
        assert (qr.bank_bin, qr.account_number, qr.account_name) == (
            "970436",
            "0071000888999",
            "KHO BAC NHA NUOC - PAYGOV THU HO",
        )
        assert (qr.amount, qr.memo) == (150_000, TXN_REF)
        decoded = payload.parse(qr.payload)
        assert (decoded.bin, decoded.account, decoded.amount_vnd, decoded.purpose) == (
            "970436",
            "0071000888999",
            150_000,
            TXN_REF,
        )

    async def test_there_is_no_status_api(self) -> None:
        status = await adapter().query(AttemptRef(TXN_REF, 150_000, datetime.now(UTC)))
        assert status.outcome == "unknown"

    async def test_refunds_are_paid_back_by_staff(self) -> None:
        refund = RefundRequest(
            refund_id="rf_1",
            txn_ref=TXN_REF,
            amount=150_000,
            original_amount=150_000,
            provider_txn_id="FT1",
            paid_at=None,
            attempt_created_at=datetime.now(UTC),
            reason="trả lại",
        )
        assert (await adapter().refund(refund)).status == "pending_manual"
        assert VietQrAdapter.refunds_manual

    def test_statements_come_from_a_file(self) -> None:
        assert VietQrAdapter.statement_file_only
        with pytest.raises(StatementFileOnly):
            adapter().fetch_statement(date(2026, 1, 15))

    def test_config_refuses_a_key_of_another_algorithm(self) -> None:
        with pytest.raises(ValidationError):
            VietQrConfig.model_validate({**CONFIG, "notification_algorithm": "rsa-pss-sha256"})


class TestNotification:
    def test_a_credit_confirms_the_payment_named_in_its_memo(self) -> None:
        event = adapter().verify_callback(notification(), datetime.now(UTC))
        assert (event.txn_ref, event.outcome, event.amount) == (TXN_REF, "succeeded", 150_000)
        assert event.dedupe_key == event.provider_txn_id == "FT26011500000001"
        assert event.paid_at == datetime(2026, 1, 15, 3, 20, 30, tzinfo=UTC)

    def test_an_unmatched_credit_is_kept_not_rejected(self) -> None:
        event = adapter().verify_callback(notification(memo="ung ho"), datetime.now(UTC))
        assert (event.txn_ref, event.amount, event.details["matched"]) == ("", 150_000, "no")

    def test_a_credit_to_another_account_is_rejected(self) -> None:
        with pytest.raises(CallbackRejected, match="another account"):
            adapter().verify_callback(notification(account_number="1234"), datetime.now(UTC))

    def test_a_debit_is_rejected(self) -> None:
        with pytest.raises(CallbackRejected, match="not a credit"):
            adapter().verify_callback(notification(direction="debit"), datetime.now(UTC))

    def test_a_stale_notification_is_rejected(self) -> None:
        old = datetime.now(UTC) - timedelta(seconds=301)
        with pytest.raises(CallbackRejected, match="timestamp"):
            adapter().verify_callback(notification(sent_at=old), datetime.now(UTC))

    def test_a_tampered_notification_is_rejected(self) -> None:
        genuine = notification()
        forged = InboundRequest(
            "POST", {}, dict(genuine.headers), genuine.body.replace(b"150000", b"1500000")
        )
        with pytest.raises(CallbackRejected, match="bad signature"):
            adapter().verify_callback(forged, datetime.now(UTC))

    @pytest.mark.parametrize("amount", [0, -5, "150000", 1.5, True])
    def test_an_unreadable_amount_is_rejected(self, amount: Any) -> None:
        with pytest.raises(CallbackRejected):
            adapter().verify_callback(notification(amount=amount), datetime.now(UTC))

    def test_ack_is_the_envelope_reply(self) -> None:
        ack = adapter().ack(AckResult.NOT_FOUND)
        assert (ack.status_code, ack.body) == (404, b'{"status":"rejected","reason":"not_found"}')


# --- the sandbox's bank app --------------------------------------------------------------


@dataclass
class Sandbox:
    bank: SandboxBank
    app: httpx.AsyncClient
    received: list[ProviderEvent] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    async def scan_and_pay(self, text: str, **extra: Any) -> dict[str, Any]:
        response = await self.app.post("/vietqr/transfer.json", json={"payload": text, **extra})
        assert response.status_code == 201, response.text
        await self.bank.dispatcher.drain()
        return dict(response.json())


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    bank = SandboxBank(paygov_url=PAYGOV_URL, providers=list(PROVIDERS.values()))
    app = FastAPI()
    app.include_router(sandbox_vietqr.router(bank))
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox.test"
    )
    box = Sandbox(bank, client)
    receiver = adapter()
    paygov = FastAPI()

    @paygov.post("/callbacks/{code}")
    async def callback(code: str, request: Request) -> Response:
        assert code == CODE
        inbound = InboundRequest(
            "POST", {}, {k.lower(): v for k, v in request.headers.items()}, await request.body()
        )
        try:
            box.received.append(receiver.verify_callback(inbound, datetime.now(UTC)))
            ack = receiver.ack(AckResult.CONFIRMED)
        except CallbackRejected as exc:
            box.rejected.append(exc.reason)
            ack = receiver.ack(AckResult.BAD_SIGNATURE)
        return Response(ack.body, ack.status_code, media_type=ack.media_type)

    await bank.http.aclose()
    bank.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=paygov), base_url=PAYGOV_URL)
    yield box
    await bank.dispatcher.drain()
    await bank.http.aclose()
    await client.aclose()


class TestSandboxTransfer:
    async def test_paying_the_qr_sends_a_notification_paygov_can_match(
        self, sandbox: Sandbox
    ) -> None:
        qr = await adapter().start(attempt())
        credit = await sandbox.scan_and_pay(qr.payload)
        (event,) = sandbox.received
        assert credit["memo"].startswith("MBVCB.")  # the bank's own prefix around the purpose
        assert (event.txn_ref, event.amount, event.dedupe_key) == (
            TXN_REF,
            150_000,
            credit["transaction_id"],
        )

    async def test_bad_signature_fault_is_rejected(self, sandbox: Sandbox) -> None:
        sandbox.bank.faults.update({"bad_signature": True})
        await sandbox.scan_and_pay((await adapter().start(attempt())).payload)
        assert (sandbox.received, sandbox.rejected) == ([], ["bad signature"])

    async def test_altered_amount_and_duplicate_faults(self, sandbox: Sandbox) -> None:
        sandbox.bank.faults.update({"alter_amount": 1, "duplicate": True})
        await sandbox.scan_and_pay((await adapter().start(attempt())).payload)
        first, second = sandbox.received
        assert (first.amount, first.dedupe_key) == (150_001, second.dedupe_key)

    async def test_a_typed_transfer_without_the_code_is_notified_unmatched(
        self, sandbox: Sandbox
    ) -> None:
        response = await sandbox.app.post(
            "/vietqr/transfer",
            content="payload=&account_number=0071000888999&amount=150.000&memo=le+phi+ho+chieu",
        )
        assert response.status_code == 200
        assert "150.000 ₫" in response.text
        await sandbox.bank.dispatcher.drain()
        (event,) = sandbox.received
        assert (event.txn_ref, event.amount) == ("", 150_000)

    @pytest.mark.parametrize(
        "body",
        [
            {"payload": VECTORS[1]["payload"]},  # bad CRC
            {"payload": VECTORS[0]["payload"]},  # an ACB account, not a sandbox collection one
            {"account_number": "0071000888999", "memo": "x"},  # no amount
        ],
    )
    async def test_the_bank_app_refuses_what_it_cannot_pay(
        self, sandbox: Sandbox, body: dict[str, Any]
    ) -> None:
        response = await sandbox.app.post("/vietqr/transfer.json", json=body)
        assert response.status_code == 422
        assert sandbox.bank.payments.get("vietqr", {}) == {}

    async def test_the_page_offers_to_paste_a_payload(self, sandbox: Sandbox) -> None:
        response = await sandbox.app.get("/vietqr/transfer", params={"payload": "000201"})
        assert "Chuyển tiền / Transfer" in response.text
        assert ">000201</textarea>" in response.text

    async def test_the_statement_lists_the_days_credits(self, sandbox: Sandbox) -> None:
        credit = await sandbox.scan_and_pay((await adapter().start(attempt())).payload)
        today = datetime.now(signing.VIETNAM).date().isoformat()
        rows = (await sandbox.app.get(f"/vietqr/statements/{today}.csv")).text.splitlines()
        assert rows[0] == "booked_at,amount,txn_ref,memo,bank_reference,fee"
        (row,) = rows[1:]
        assert f",150000,,{credit['memo']},{credit['transaction_id']},0" in row
        assert find_txn_ref(row) == TXN_REF
