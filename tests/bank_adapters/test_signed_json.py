"""The signature envelope and the `signed_json` adapter against the sandbox's direct banks,
served in-process: PayGov's requests go to the sandbox, the sandbox's callbacks come back
to a receiver that verifies them with the adapter, as PayGov's callback endpoint does."""

from __future__ import annotations

import base64
import re
import tomllib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.x509.oid import NameOID
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
    ProviderUnavailable,
    Redirect,
    RefundRequest,
    StatementLine,
)
from bank_adapters.sandbox import signed_json as sandbox_signed_json
from bank_adapters.sandbox import vietqr as sandbox_vietqr
from bank_adapters.sandbox.app import SandboxBank
from bank_adapters.signed_json.adapter import SignedJsonAdapter, SignedJsonConfig, parse_camt053

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_URL = "http://sandbox.test"
PAYGOV_URL = "http://paygov.test"
VCB, BIDV = "vcb-direct-sandbox", "bidv-direct-sandbox"


def providers() -> dict[str, dict[str, Any]]:
    """The sandbox providers file, as PayGov imports it (URL placeholder filled in)."""
    text = (ROOT / "config" / "providers.sandbox.toml").read_text(encoding="utf-8")
    text = text.replace("${PAYGOV_SANDBOX_URL}", SANDBOX_URL)
    return {p["code"]: p for p in tomllib.loads(text)["provider"]}


PROVIDERS = providers()


def adapter(code: str, http: httpx.AsyncClient, **overrides: Any) -> SignedJsonAdapter:
    config = SignedJsonConfig.model_validate({**PROVIDERS[code]["config"], **overrides})
    return SignedJsonAdapter(code, config, http)


def attempt(
    txn_ref: str = "PG0123456789ABCD", amount: int = 150_000, code: str = VCB
) -> AttemptRequest:
    now = datetime.now(UTC)
    return AttemptRequest(
        txn_ref=txn_ref,
        amount=amount,
        description="Lệ phí cấp hộ chiếu",
        created_at=now,
        expires_at=now + timedelta(minutes=30),
        return_url=f"{PAYGOV_URL}/checkout/return/{code}?lang=vi",
        callback_url=f"{PAYGOV_URL}/callbacks/{code}",
    )


@dataclass
class Sandbox:
    """The sandbox bank in-process, PayGov's adapters, and what PayGov received."""

    bank: SandboxBank
    browser: httpx.AsyncClient  # a citizen's browser (and PayGov's outbound client)
    received: list[ProviderEvent] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)

    def adapter(self, code: str = VCB) -> SignedJsonAdapter:
        return adapter(code, self.browser)

    async def settle(self) -> None:
        await self.bank.dispatcher.drain()

    def record(self, slug: str, txn_ref: str) -> dict[str, Any]:
        return dict(self.bank.payments["signed_json"][slug]["payments"][txn_ref])


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    bank = SandboxBank(paygov_url=PAYGOV_URL, providers=list(PROVIDERS.values()))
    app = FastAPI()
    app.include_router(sandbox_signed_json.router(bank))
    app.include_router(sandbox_vietqr.router(bank))
    browser = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SANDBOX_URL)
    box = Sandbox(bank, browser)
    adapters = {code: adapter(code, browser) for code in (VCB, BIDV)}

    paygov = FastAPI()

    @paygov.post("/callbacks/{code}")
    async def callback(code: str, request: Request) -> Response:
        inbound = InboundRequest(
            method="POST",
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
        )
        receiver = adapters[code]
        try:
            box.received.append(receiver.verify_callback(inbound, datetime.now(UTC)))
        except CallbackRejected as exc:
            box.rejected.append(exc.reason)
            ack = receiver.ack(AckResult.BAD_SIGNATURE)
        else:
            ack = receiver.ack(AckResult.CONFIRMED)
        return Response(ack.body, ack.status_code, media_type=ack.media_type)

    await bank.http.aclose()
    bank.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=paygov), base_url=PAYGOV_URL)
    yield box
    await bank.dispatcher.drain()
    await bank.http.aclose()
    await browser.aclose()


async def pay(box: Sandbox, url: str, decision: str = "pay") -> httpx.Response:
    """What the citizen does on the bank's page."""
    page = await box.browser.get(url)
    assert page.status_code == 200
    return await box.browser.post(url, content=f"decision={decision}")


def signed_answer(code: str, status: int, payload: Any, *, key: str | None = None) -> Response:
    """A bank answer signed with the sandbox bank key of `code` (or another key)."""
    algorithm = PROVIDERS[code]["config"]["algorithm"]
    body = signing.json_body(payload)
    headers = signing.signed_headers(
        algorithm, key or PROVIDERS[code]["sandbox"]["bank_private_key"], body
    )
    return Response(body, status, headers=headers, media_type="application/json")


def keypair(code: str) -> tuple[str, str, str]:
    """(algorithm, PayGov's private key, PayGov's public key) of a provider."""
    entry = PROVIDERS[code]
    return (
        entry["config"]["algorithm"],
        entry["config"]["paygov_private_key"],
        entry["sandbox"]["paygov_public_key"],
    )


# --- the envelope ------------------------------------------------------------------------


class TestEnvelope:
    @pytest.mark.parametrize("code", [VCB, BIDV])
    def test_signature_made_with_the_private_key_verifies_with_the_public_key(
        self, code: str
    ) -> None:
        algorithm, private, public = keypair(code)
        body = b'{"txn_ref":"PG0123456789ABCD","amount":150000}'
        signature = signing.sign(algorithm, private, "1760000000", body)  # type: ignore[arg-type]
        assert signing.verify(algorithm, public, "1760000000", body, signature)

    @pytest.mark.parametrize("code", [VCB, BIDV])
    def test_tampered_body_or_timestamp_does_not_verify(self, code: str) -> None:
        algorithm, private, public = keypair(code)
        body = b'{"amount":150000}'
        signature = signing.sign(algorithm, private, "1760000000", body)  # type: ignore[arg-type]
        assert not signing.verify(algorithm, public, "1760000000", b'{"amount":150001}', signature)
        assert not signing.verify(algorithm, public, "1760000001", body, signature)

    @pytest.mark.parametrize("code", [VCB, BIDV])
    def test_signature_of_another_key_does_not_verify(self, code: str) -> None:
        algorithm, _, public = keypair(code)
        other = PROVIDERS[code]["sandbox"]["bank_private_key"]  # same algorithm, other key
        signature = signing.sign(algorithm, other, "1760000000", b"{}")  # type: ignore[arg-type]
        assert not signing.verify(algorithm, public, "1760000000", b"{}", signature)

    @pytest.mark.parametrize(
        ("algorithm", "public", "signature"),
        [
            ("rsa-pss-sha256", PROVIDERS[VCB]["sandbox"]["paygov_public_key"], "not base64 !!"),
            ("rsa-pss-sha256", PROVIDERS[VCB]["sandbox"]["paygov_public_key"], ""),
            ("rsa-pss-sha256", PROVIDERS[VCB]["sandbox"]["paygov_public_key"], "ŝ"),
            ("rsa-pss-sha256", "-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----", "AA=="),
            ("rsa-pss-sha256", "no key at all", "AA=="),
            ("ecdsa-p256-sha256", PROVIDERS[VCB]["sandbox"]["paygov_public_key"], "AA=="),
            ("md5", PROVIDERS[BIDV]["sandbox"]["paygov_public_key"], "AA=="),
        ],
    )
    def test_bad_input_is_false_never_an_exception(
        self, algorithm: str, public: str, signature: str
    ) -> None:
        assert signing.verify(algorithm, public, "1760000000", b"{}", signature) is False

    def test_rsa_pss_parameters_are_the_published_ones(self) -> None:
        """A signature made independently with SHA-256, MGF1-SHA-256, salt 32 verifies."""
        key = serialization.load_pem_private_key(
            PROVIDERS[VCB]["config"]["paygov_private_key"].encode(), None
        )
        pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        raw = key.sign(b"1760000000.{}", pss, hashes.SHA256())  # type: ignore[call-arg, union-attr, arg-type]
        _, _, public = keypair(VCB)
        signature = base64.b64encode(raw).decode()
        assert signing.verify("rsa-pss-sha256", public, "1760000000", b"{}", signature)

    def test_ecdsa_signature_is_der(self) -> None:
        algorithm, private, _ = keypair(BIDV)
        raw = base64.b64decode(signing.sign(algorithm, private, "1", b""))  # type: ignore[arg-type]
        assert raw[0] == 0x30  # an ASN.1 SEQUENCE of (r, s), not raw r||s

    def test_two_public_keys_during_rotation_either_verifies(self) -> None:
        _, vcb_private, vcb_public = keypair(VCB)
        rotated = vcb_public + PROVIDERS[VCB]["config"]["bank_public_key"]
        signature = signing.sign("rsa-pss-sha256", vcb_private, "1", b"x")
        assert signing.verify("rsa-pss-sha256", rotated, "1", b"x", signature)

    def test_keys_are_loaded_once(self) -> None:
        _, private, _ = keypair(VCB)
        signing.sign("rsa-pss-sha256", private, "1", b"x")
        before = signing.private_key.cache_info().hits
        signing.sign("rsa-pss-sha256", private, "2", b"y")
        assert signing.private_key.cache_info().hits == before + 1

    def test_worked_examples_in_the_spec_verify(self) -> None:
        """docs/bank-api.md's examples: body, timestamp, signature and signed bytes agree."""
        spec = (ROOT / "docs" / "bank-api.md").read_text(encoding="utf-8")
        examples = re.findall(
            r"<!-- worked-example (\S+) -->(.*?)<!-- /worked-example -->", spec, re.DOTALL
        )
        assert {code for code, _ in examples} == {VCB, BIDV}
        for code, example in examples:
            body, timestamp, signature, message = re.findall(
                r"```[a-z]*\n(.*?)\n```", example, re.DOTALL
            )
            config = PROVIDERS[code]["config"]
            assert signing.verify(
                config["algorithm"], config["bank_public_key"], timestamp, body.encode(), signature
            )
            assert signing.signed_message(timestamp, body.encode()) == message.encode()


class TestFreshness:
    NOW = datetime(2026, 1, 15, 3, 0, tzinfo=UTC)

    @pytest.mark.parametrize("skew", [0, 299, -299, 300, -300])
    def test_within_five_minutes_either_way_is_fresh(self, skew: int) -> None:
        signing.check_freshness(str(int(self.NOW.timestamp()) + skew), self.NOW)

    @pytest.mark.parametrize("skew", [301, -301, 86_400])
    def test_older_or_further_ahead_is_rejected(self, skew: int) -> None:
        with pytest.raises(CallbackRejected):
            signing.check_freshness(str(int(self.NOW.timestamp()) + skew), self.NOW)

    @pytest.mark.parametrize(
        "value", [None, "", "abc", "1.5", "-1", "\uff11\uff12\uff13", "1" * 20]
    )
    def test_missing_or_malformed_timestamp_is_rejected(self, value: str | None) -> None:
        with pytest.raises(CallbackRejected):
            signing.check_freshness(value, self.NOW)


class TestConfig:
    def test_the_sandbox_providers_are_accepted(self) -> None:
        for code in (VCB, BIDV):
            SignedJsonConfig.model_validate(PROVIDERS[code]["config"])

    def test_a_key_of_the_wrong_algorithm_is_refused(self) -> None:
        with pytest.raises(ValidationError, match="EC key"):
            SignedJsonConfig.model_validate(
                {**PROVIDERS[VCB]["config"], "algorithm": "ecdsa-p256-sha256"}
            )

    def test_unknown_settings_are_refused(self) -> None:
        with pytest.raises(ValidationError):
            SignedJsonConfig.model_validate({**PROVIDERS[VCB]["config"], "hash_secret": "x"})

    def test_mutual_tls_uses_its_own_client_once(self, tmp_path: Path) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "paygov-client")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(1)
            .not_valid_before(now)
            .not_valid_after(now + timedelta(days=1))
            .sign(key, hashes.SHA256())
        )
        (tmp_path / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (tmp_path / "k.pem").write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        shared = httpx.AsyncClient()
        files = {"client_cert": str(tmp_path / "c.pem"), "client_key": str(tmp_path / "k.pem")}
        first, second = adapter(VCB, shared, **files), adapter(VCB, shared, **files)
        assert first.client() is not shared
        assert first.client() is second.client()

    def test_an_unreadable_client_key_makes_the_provider_unavailable(self) -> None:
        bad = adapter(VCB, httpx.AsyncClient(), client_cert="/nonexistent/cert.pem")
        with pytest.raises(ProviderUnavailable, match="TLS client key"):
            bad.client()


# --- payments through the sandbox --------------------------------------------------------


class TestStart:
    async def test_start_sends_the_citizen_to_the_banks_payment_page(
        self, sandbox: Sandbox
    ) -> None:
        redirect = await sandbox.adapter().start(attempt())
        assert isinstance(redirect, Redirect)
        assert redirect.url == f"{SANDBOX_URL}/bank/vcb/pay/PG0123456789ABCD"
        page = await sandbox.browser.get(redirect.url)
        assert "150.000 ₫" in page.text
        assert "Thanh toán / Pay" in page.text
        assert "Hủy / Cancel" in page.text
        assert "Lệ phí cấp hộ chiếu" in page.text

    async def test_starting_the_same_attempt_again_gives_the_same_page(
        self, sandbox: Sandbox
    ) -> None:
        first = await sandbox.adapter().start(attempt())
        again = await sandbox.adapter().start(attempt())
        assert first == again

    async def test_the_bank_refuses_a_txn_ref_reused_with_another_amount(
        self, sandbox: Sandbox
    ) -> None:
        await sandbox.adapter().start(attempt())
        with pytest.raises(ProviderUnavailable, match="txn_ref_reused"):
            await sandbox.adapter().start(attempt(amount=1))

    async def test_a_request_signed_with_the_wrong_key_is_refused_by_the_bank(
        self, sandbox: Sandbox
    ) -> None:
        wrong = adapter(
            VCB, sandbox.browser, paygov_private_key=PROVIDERS[VCB]["sandbox"]["bank_private_key"]
        )
        with pytest.raises(ProviderUnavailable, match="bad_signature"):
            await wrong.start(attempt())

    async def test_ecdsa_bank_works_end_to_end(self, sandbox: Sandbox) -> None:
        redirect = await sandbox.adapter(BIDV).start(attempt(code=BIDV))
        assert redirect.url.startswith(f"{SANDBOX_URL}/bank/bidv/pay/")
        await pay(sandbox, redirect.url)
        await sandbox.settle()
        assert [e.outcome for e in sandbox.received] == ["succeeded"]


class TestCallbacks:
    async def test_paying_sends_a_signed_success_the_adapter_verifies(
        self, sandbox: Sandbox
    ) -> None:
        redirect = await sandbox.adapter().start(attempt())
        back = await pay(sandbox, redirect.url)
        assert back.status_code == 303
        assert back.headers["location"] == (
            f"{PAYGOV_URL}/checkout/return/{VCB}?lang=vi&txn_ref=PG0123456789ABCD"
        )
        await sandbox.settle()
        (event,) = sandbox.received
        record = sandbox.record("vcb", "PG0123456789ABCD")
        assert (event.txn_ref, event.outcome, event.amount) == (
            "PG0123456789ABCD",
            "succeeded",
            150_000,
        )
        assert event.provider_txn_id == record["bank_reference"]
        assert event.dedupe_key.startswith("evt_")
        assert event.paid_at is not None
        assert record["callbacks"][0]["status_code"] == 200

    @pytest.mark.parametrize(
        ("decision", "reason"), [("decline", "declined"), ("cancel", "cancelled")]
    )
    async def test_declining_or_cancelling_sends_a_failure(
        self, sandbox: Sandbox, decision: str, reason: str
    ) -> None:
        redirect = await sandbox.adapter().start(attempt())
        await pay(sandbox, redirect.url, decision)
        await sandbox.settle()
        (event,) = sandbox.received
        assert (event.outcome, event.reason) == ("failed", reason)

    async def test_a_second_click_changes_nothing(self, sandbox: Sandbox) -> None:
        redirect = await sandbox.adapter().start(attempt())
        await pay(sandbox, redirect.url, "pay")
        await pay(sandbox, redirect.url, "decline")
        await sandbox.settle()
        assert [e.outcome for e in sandbox.received] == ["succeeded"]

    async def test_bad_signature_fault_is_rejected(self, sandbox: Sandbox) -> None:
        sandbox.bank.faults.update({"bad_signature": True})
        redirect = await sandbox.adapter().start(attempt())
        await pay(sandbox, redirect.url)
        await sandbox.settle()
        assert sandbox.received == []
        assert sandbox.rejected == ["bad signature"]
        reply = sandbox.record("vcb", "PG0123456789ABCD")["callbacks"][0]
        assert reply["status_code"] == 401
        assert reply["reply"] == '{"status":"rejected","reason":"bad_signature"}'

    async def test_altered_amount_is_signed_and_reported_as_is(self, sandbox: Sandbox) -> None:
        sandbox.bank.faults.update({"alter_amount": -1000})
        redirect = await sandbox.adapter().start(attempt())
        await pay(sandbox, redirect.url)
        await sandbox.settle()
        assert [e.amount for e in sandbox.received] == [149_000]

    async def test_duplicate_delivery_keeps_its_dedupe_key(self, sandbox: Sandbox) -> None:
        sandbox.bank.faults.update({"duplicate": True})
        redirect = await sandbox.adapter().start(attempt())
        await pay(sandbox, redirect.url)
        await sandbox.settle()
        first, second = sandbox.received
        assert first.dedupe_key == second.dedupe_key

    @pytest.mark.parametrize(
        ("decision", "final", "stale"),
        [("pay", "succeeded", "failed"), ("decline", "failed", "unknown")],
    )
    async def test_out_of_order_sends_an_earlier_state_after_the_final_one(
        self, sandbox: Sandbox, decision: str, final: str, stale: str
    ) -> None:
        sandbox.bank.faults.update({"out_of_order": True})
        redirect = await sandbox.adapter().start(attempt())
        await pay(sandbox, redirect.url, decision)
        await sandbox.settle()
        first, late = sandbox.received
        assert (first.outcome, late.outcome) == (final, stale)
        assert first.dedupe_key != late.dedupe_key

    def test_a_stale_callback_is_rejected(self) -> None:
        receiver = adapter(VCB, httpx.AsyncClient())
        body = signing.json_body(
            {
                "event_id": "evt_1",
                "type": "payment.succeeded",
                "txn_ref": "PG0123456789ABCD",
                "amount": 150_000,
                "bank_reference": "VCB1",
            }
        )
        then = datetime.now(UTC) - timedelta(minutes=6)
        headers = signing.signed_headers(
            "rsa-pss-sha256", PROVIDERS[VCB]["sandbox"]["bank_private_key"], body, then
        )
        request = InboundRequest("POST", {}, {k.lower(): v for k, v in headers.items()}, body)
        with pytest.raises(CallbackRejected, match="timestamp"):
            receiver.verify_callback(request, datetime.now(UTC))
        assert receiver.verify_callback(request, then).outcome == "succeeded"

    @pytest.mark.parametrize(
        "payload",
        [
            {"event_id": "e", "type": "payment.refunded", "txn_ref": "T", "amount": 1},
            {"event_id": "e", "type": "payment.succeeded", "txn_ref": "T", "amount": "1"},
            {"event_id": "e", "type": "payment.succeeded", "txn_ref": "T", "amount": True},
            {"event_id": "", "type": "payment.succeeded", "txn_ref": "T", "amount": 1},
            {"type": "payment.succeeded", "txn_ref": "T", "amount": 1},
            ["not", "an", "object"],
        ],
    )
    def test_unreadable_callbacks_are_rejected(self, payload: Any) -> None:
        receiver = adapter(VCB, httpx.AsyncClient())
        body = signing.json_body(payload)
        headers = signing.signed_headers(
            "rsa-pss-sha256", PROVIDERS[VCB]["sandbox"]["bank_private_key"], body
        )
        request = InboundRequest("POST", {}, {k.lower(): v for k, v in headers.items()}, body)
        with pytest.raises(CallbackRejected):
            receiver.verify_callback(request, datetime.now(UTC))

    @pytest.mark.parametrize(
        ("result", "status", "body"),
        [
            (AckResult.CONFIRMED, 200, {"status": "accepted"}),
            (AckResult.DUPLICATE, 200, {"status": "duplicate"}),
            (AckResult.NOT_FOUND, 404, {"status": "rejected", "reason": "not_found"}),
            (AckResult.INVALID_AMOUNT, 422, {"status": "rejected", "reason": "invalid_amount"}),
            (AckResult.BAD_SIGNATURE, 401, {"status": "rejected", "reason": "bad_signature"}),
            (AckResult.ERROR, 500, {"status": "error", "reason": "try_again"}),
        ],
    )
    def test_ack_tells_the_bank_what_happened(
        self, result: AckResult, status: int, body: dict[str, str]
    ) -> None:
        ack = adapter(VCB, httpx.AsyncClient()).ack(result)
        assert ack.status_code == status
        assert ack.body == signing.json_body(body)


class TestQuery:
    async def test_status_follows_the_citizens_decision(self, sandbox: Sandbox) -> None:
        bank = sandbox.adapter()
        ref = AttemptRef("PG0123456789ABCD", 150_000, datetime.now(UTC))
        redirect = await bank.start(attempt())
        assert (await bank.query(ref)).outcome == "unknown"
        await pay(sandbox, redirect.url)
        status = await bank.query(ref)
        assert (status.outcome, status.amount) == ("succeeded", 150_000)
        assert status.paid_at is not None
        assert status.provider_txn_id == sandbox.record("vcb", ref.txn_ref)["bank_reference"]

    async def test_a_payment_the_bank_never_accepted_is_failed(self, sandbox: Sandbox) -> None:
        status = await sandbox.adapter().query(AttemptRef("PG9999999999999Z", 1, datetime.now(UTC)))
        assert (status.outcome, status.reason) == ("failed", "not_found_at_bank")


def bank_behind(handler: Any) -> SignedJsonAdapter:
    return adapter(VCB, httpx.AsyncClient(transport=httpx.MockTransport(handler)))


def as_httpx(response: Response) -> httpx.Response:
    return httpx.Response(
        response.status_code, headers=dict(response.headers), content=response.body
    )


class TestUnavailable:
    """A timeout or an answer PayGov cannot trust is unknown: ProviderUnavailable."""

    REF = AttemptRef("PG0123456789ABCD", 150_000, datetime(2026, 1, 15, tzinfo=UTC))
    ANSWER: ClassVar[dict[str, Any]] = {
        "txn_ref": "PG0123456789ABCD",
        "status": "succeeded",
        "amount": 150_000,
    }

    @pytest.mark.parametrize(
        "error",
        [httpx.ReadTimeout("slow"), httpx.ConnectError("refused"), httpx.RemoteProtocolError("x")],
    )
    async def test_transport_trouble(self, error: Exception) -> None:
        def handler(request: httpx.Request) -> httpx.Response:
            raise error

        with pytest.raises(ProviderUnavailable):
            await bank_behind(handler).query(self.REF)

    async def test_server_error(self) -> None:
        answer = as_httpx(signed_answer(VCB, 503, {"error": {"code": "maintenance"}}))
        with pytest.raises(ProviderUnavailable, match="503"):
            await bank_behind(lambda request: answer).query(self.REF)

    async def test_unsigned_answer(self) -> None:
        answer = httpx.Response(200, json=self.ANSWER)
        with pytest.raises(ProviderUnavailable, match="bad signature"):
            await bank_behind(lambda request: answer).query(self.REF)

    async def test_answer_signed_by_someone_else(self) -> None:
        other = PROVIDERS[VCB]["config"]["paygov_private_key"]
        answer = as_httpx(signed_answer(VCB, 200, self.ANSWER, key=other))
        with pytest.raises(ProviderUnavailable, match="bad signature"):
            await bank_behind(lambda request: answer).query(self.REF)

    @pytest.mark.parametrize(
        "payload",
        [
            {"txn_ref": "PG0123456789ABCD", "status": "maybe"},
            {"txn_ref": "PGAAAAAAAAAAAAAA", "status": "succeeded", "amount": 150_000},
            {"txn_ref": "PG0123456789ABCD", "status": "succeeded", "amount": "150000"},
            "plain text",
        ],
    )
    async def test_unreadable_answer(self, payload: Any) -> None:
        answer = as_httpx(signed_answer(VCB, 200, payload))
        with pytest.raises(ProviderUnavailable):
            await bank_behind(lambda request: answer).query(self.REF)

    async def test_every_request_carries_paygovs_signature(self) -> None:
        seen: list[httpx.Request] = []

        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return as_httpx(signed_answer(VCB, 200, self.ANSWER))

        await bank_behind(handler).query(self.REF)
        (request,) = seen
        _, _, public = keypair(VCB)
        timestamp = request.headers[signing.TIMESTAMP_HEADER]
        signature = request.headers[signing.SIGNATURE_HEADER]
        assert signing.verify("rsa-pss-sha256", public, timestamp, request.content, signature)


class TestRefund:
    async def paid(self, sandbox: Sandbox) -> SignedJsonAdapter:
        bank = sandbox.adapter()
        redirect = await bank.start(attempt())
        await pay(sandbox, redirect.url)
        return bank

    def refund(self, refund_id: str = "rf_1", amount: int = 50_000) -> RefundRequest:
        return RefundRequest(
            refund_id=refund_id,
            txn_ref="PG0123456789ABCD",
            amount=amount,
            original_amount=150_000,
            provider_txn_id=None,
            paid_at=None,
            attempt_created_at=datetime.now(UTC),
            reason="Hồ sơ bị từ chối",
        )

    async def test_partial_refund_succeeds_once(self, sandbox: Sandbox) -> None:
        bank = await self.paid(sandbox)
        first = await bank.refund(self.refund())
        again = await bank.refund(self.refund())
        assert first.status == "succeeded"
        assert first.provider_refund_id is not None
        assert again == first

    async def test_more_than_was_paid_fails(self, sandbox: Sandbox) -> None:
        bank = await self.paid(sandbox)
        await bank.refund(self.refund("rf_1", 100_000))
        result = await bank.refund(self.refund("rf_2", 50_001))
        assert (result.status, result.message) == ("failed", "amount_exceeds_remaining")

    async def test_an_unpaid_payment_cannot_be_refunded(self, sandbox: Sandbox) -> None:
        await sandbox.adapter().start(attempt())
        result = await sandbox.adapter().refund(self.refund())
        assert (result.status, result.message) == ("failed", "not_refundable")


class TestStatement:
    async def test_the_days_statement_has_payments_refunds_and_the_fee(
        self, sandbox: Sandbox
    ) -> None:
        bank = sandbox.adapter()
        for txn_ref in ("PG0123456789ABCD", "PG0123456789ABCE"):
            redirect = await bank.start(attempt(txn_ref))
            await pay(sandbox, redirect.url)
        declined = await bank.start(attempt("PG0123456789ABCF"))
        await pay(sandbox, declined.url, "decline")
        refund = await bank.refund(TestRefund().refund(amount=20_000))
        today = datetime.now(signing.VIETNAM).date()

        lines = [line async for line in bank.fetch_statement(today)]

        credits = [line for line in lines if line.amount > 0]
        assert sorted(line.txn_ref or "" for line in credits) == [
            "PG0123456789ABCD",
            "PG0123456789ABCE",
        ]
        assert all(line.amount == 150_000 for line in credits)
        assert all(
            line.memo and line.txn_ref and line.memo.startswith(line.txn_ref) for line in credits
        )
        (debit,) = [line for line in lines if line.amount < 0 and not line.fee]
        assert (debit.amount, debit.txn_ref, debit.provider_txn_id) == (
            -20_000,
            "PG0123456789ABCD",
            refund.provider_refund_id,
        )
        (fee,) = [line for line in lines if line.fee]
        assert (fee.amount, fee.fee, fee.txn_ref) == (-2_200, 2_200, None)

    async def test_the_csv_statement_has_the_same_movements(self, sandbox: Sandbox) -> None:
        bank = sandbox.adapter()
        redirect = await bank.start(attempt())
        await pay(sandbox, redirect.url)
        day = datetime.now(signing.VIETNAM).date().isoformat()
        response = await bank.call("GET", f"/statements/{day}.csv")
        rows = response.text.splitlines()
        assert rows[0] == "booked_at,amount,txn_ref,memo,bank_reference,fee"
        assert ",150000,PG0123456789ABCD," in rows[1]
        assert rows[2].split(",")[1::4] == ["-1100", "1100"]

    async def test_a_quiet_day_has_an_empty_statement(self, sandbox: Sandbox) -> None:
        lines = [
            line async for line in sandbox.adapter().fetch_statement(datetime(2020, 1, 1).date())
        ]
        assert lines == []


CAMT = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>
<GrpHdr><MsgId>M</MsgId><CreDtTm>2026-01-16T01:00:00+07:00</CreDtTm></GrpHdr><Stmt>
<Ntry><Amt Ccy="VND">300000.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>
<BookgDt><Dt>2026-01-15</Dt></BookgDt><AcctSvcrRef>BATCH1</AcctSvcrRef>
<NtryDtls>
<TxDtls><Refs><EndToEndId>PG0000000000000A</EndToEndId></Refs><Amt Ccy="VND">100000</Amt>
<RmtInf><Ustrd>PG0000000000000A le phi</Ustrd></RmtInf></TxDtls>
<TxDtls><Refs><AcctSvcrRef>TX2</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
<Amt Ccy="VND">200000</Amt><Chrgs><TtlChrgsAndTaxAmt Ccy="VND">1100</TtlChrgsAndTaxAmt></Chrgs>
<RmtInf><Ustrd>chuyen khoan</Ustrd></RmtInf></TxDtls>
</NtryDtls></Ntry>
<Ntry><Amt Ccy="VND">100000</Amt><CdtDbtInd>DBIT</CdtDbtInd><RvslInd>true</RvslInd>
<Sts><Cd>BOOK</Cd></Sts><BookgDt><DtTm>2026-01-15T18:00:00+07:00</DtTm></BookgDt>
<NtryDtls><TxDtls><Refs><EndToEndId>PG0000000000000A</EndToEndId></Refs></TxDtls></NtryDtls>
</Ntry>
<Ntry><Amt Ccy="VND">5</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>PDNG</Cd></Sts>
<BookgDt><Dt>2026-01-15</Dt></BookgDt></Ntry>
</Stmt></BkToCstmrStmt></Document>"""


class TestCamt053:
    def test_batch_entries_reversals_and_pending_entries(self) -> None:
        lines = parse_camt053(CAMT.encode())
        assert lines == [
            StatementLine(
                booked_at=datetime(2026, 1, 14, 17, tzinfo=UTC),
                amount=100_000,
                txn_ref="PG0000000000000A",
                memo="PG0000000000000A le phi",
                provider_txn_id="BATCH1",
            ),
            StatementLine(
                booked_at=datetime(2026, 1, 14, 17, tzinfo=UTC),
                amount=200_000,
                txn_ref=None,
                memo="chuyen khoan",
                provider_txn_id="TX2",
                fee=1100,
            ),
            StatementLine(
                booked_at=datetime(2026, 1, 15, 11, tzinfo=UTC),
                amount=-100_000,
                txn_ref="PG0000000000000A",
                memo=None,
                provider_txn_id=None,
                reversal=True,
            ),
        ]

    @pytest.mark.parametrize(
        "xml",
        [
            b"<?xml version='1.0'?><!DOCTYPE d [<!ENTITY a 'aaaa'><!ENTITY b '&a;&a;&a;'>]>"
            b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.053.001.08'>&b;</Document>",
            b"<?xml version='1.0'?><!DOCTYPE d [<!ENTITY x SYSTEM 'file:///etc/passwd'>]><d>&x;</d>",
            b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:camt.052.001.08'/>",
            b"not xml",
            CAMT.replace('Ccy="VND">100000<', 'Ccy="USD">100000<').encode(),
            CAMT.replace("300000.00", "300000.50").replace(">100000<", ">100000.5<").encode(),
        ],
    )
    def test_unsafe_or_unreadable_statements_are_refused(self, xml: bytes) -> None:
        with pytest.raises(ValueError):  # noqa: PT011 - the message varies with the fault
            parse_camt053(xml)
