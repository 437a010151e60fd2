"""PayGov's signature envelope (docs/bank-api.md §3), shared by `signed_json` and `vietqr`.

A message is signed over the bytes `f"{timestamp}.".encode() + body`, where `timestamp` is
the `X-PayGov-Timestamp` header (unix seconds, ASCII digits) exactly as sent and `body` the
HTTP body exactly as sent (empty for a GET). The signature travels base64-encoded (standard
alphabet, padded) in `X-PayGov-Signature`. Two algorithms:

* `rsa-pss-sha256` — RSASSA-PSS, SHA-256, MGF1-SHA-256, salt length 32 (the digest length);
* `ecdsa-p256-sha256` — ECDSA on P-256 with SHA-256, DER-encoded (r, s).

Keys are PEM: public keys as SubjectPublicKeyInfo, private keys as PKCS#8 (PKCS#1 / SEC1
are read too). A public-key setting may hold several PEM blocks one after another (key
rotation): a signature valid under any of them is accepted.
"""

from __future__ import annotations

import abc
import base64
import binascii
import json
import re
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Final, Literal, TypeVar, get_args

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import (
    load_pem_private_key,
    load_pem_public_key,
)

from bank_adapters.base import (
    Ack,
    AckResult,
    Adapter,
    AdapterConfig,
    CallbackRejected,
    InboundRequest,
)

Algorithm = Literal["rsa-pss-sha256", "ecdsa-p256-sha256"]
ALGORITHMS: Final[tuple[str, ...]] = get_args(Algorithm)

SIGNATURE_HEADER: Final = "X-PayGov-Signature"
TIMESTAMP_HEADER: Final = "X-PayGov-Timestamp"
DEFAULT_TOLERANCE_SECONDS: Final = 300
MIN_RSA_BITS: Final = 2048

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----.+?-----END \1-----", re.DOTALL)


# --- keys --------------------------------------------------------------------------------


def _check_key(algorithm: str, key: PublicKey | PrivateKey) -> None:
    if algorithm == "rsa-pss-sha256":
        if not isinstance(key, rsa.RSAPublicKey | rsa.RSAPrivateKey):
            raise ValueError("rsa-pss-sha256 needs an RSA key")
        if key.key_size < MIN_RSA_BITS:
            raise ValueError(f"RSA keys must have at least {MIN_RSA_BITS} bits")
    elif algorithm == "ecdsa-p256-sha256":
        if not isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey):
            raise ValueError("ecdsa-p256-sha256 needs an EC key")
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("ecdsa-p256-sha256 needs a P-256 (secp256r1) key")
    else:
        raise ValueError(f"unknown algorithm {algorithm!r}; known: {', '.join(ALGORITHMS)}")


@lru_cache(maxsize=128)
def private_key(algorithm: str, pem: str) -> PrivateKey:
    """Load a PEM private key once and check it suits `algorithm`; ValueError otherwise."""
    try:
        key = load_pem_private_key(pem.strip().encode(), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a readable unencrypted PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("only RSA and EC private keys are supported")
    _check_key(algorithm, key)
    return key


@lru_cache(maxsize=128)
def public_keys(algorithm: str, pem: str) -> tuple[PublicKey, ...]:
    """Load the PEM public key(s) of a setting once; ValueError if none suits `algorithm`."""
    blocks = [match.group(0) for match in _PEM_BLOCK.finditer(pem)]
    if not blocks:
        raise ValueError("no PEM block found")
    keys: list[PublicKey] = []
    for block in blocks:
        try:
            key = load_pem_public_key(block.encode())
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise ValueError(f"not a readable PEM public key: {exc}") from None
        if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
            raise ValueError("only RSA and EC public keys are supported")
        _check_key(algorithm, key)
        keys.append(key)
    return tuple(keys)


# --- sign and verify ---------------------------------------------------------------------


def signed_message(timestamp: str, body: bytes) -> bytes:
    """The exact bytes that are signed: `{timestamp}.` followed by the raw body."""
    return f"{timestamp}.".encode() + body


def sign_message(algorithm: Algorithm, private_pem: str, message: bytes) -> str:
    """Sign `message`; base64 of the signature. Raises ValueError on an unusable key."""
    key = private_key(algorithm, private_pem)
    if isinstance(key, rsa.RSAPrivateKey):
        raw = key.sign(message, _PSS, hashes.SHA256())
    else:
        raw = key.sign(message, ec.ECDSA(hashes.SHA256()))
    return base64.b64encode(raw).decode("ascii")


def sign(algorithm: Algorithm, private_pem: str, timestamp: str, body: bytes) -> str:
    """The `X-PayGov-Signature` value for a body sent with this timestamp."""
    return sign_message(algorithm, private_pem, signed_message(timestamp, body))


def verify_message(algorithm: str, public_pem: str, message: bytes, signature: str) -> bool:
    """True when `signature` (base64) signs `message` under one of the keys; never raises."""
    try:
        raw = base64.b64decode(signature.strip().encode("ascii"), validate=True)
        keys = public_keys(algorithm, public_pem)
    except (ValueError, TypeError, binascii.Error):
        return False
    for key in keys:
        try:
            if isinstance(key, rsa.RSAPublicKey):
                key.verify(raw, message, _PSS, hashes.SHA256())
            else:
                key.verify(raw, message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError, TypeError):
            continue
        return True
    return False


def verify(algorithm: str, public_pem: str, timestamp: str, body: bytes, signature: str) -> bool:
    """True when `signature` signs this timestamp and body; never raises."""
    return verify_message(algorithm, public_pem, signed_message(timestamp, body), signature)


def unix_timestamp(now: datetime) -> str:
    """`now` as the header's unix seconds."""
    return str(int(now.timestamp()))


def signed_headers(
    algorithm: Algorithm, private_pem: str, body: bytes, now: datetime | None = None
) -> dict[str, str]:
    """The two envelope headers for a body sent now."""
    timestamp = unix_timestamp(now or datetime.now(UTC))
    return {
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: sign(algorithm, private_pem, timestamp, body),
    }


def check_freshness(
    timestamp: str | None, now: datetime, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS
) -> None:
    """Raise CallbackRejected unless `timestamp` is unix seconds within ±tolerance of now."""
    if not timestamp:
        raise CallbackRejected("missing timestamp")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise CallbackRejected("timestamp is not unix seconds")
    skew = abs(now.timestamp() - int(timestamp))
    if skew > tolerance_seconds:
        raise CallbackRejected(f"timestamp {skew:.0f} s away from now (limit {tolerance_seconds})")


# --- JSON and time on the wire ----------------------------------------------------------

VIETNAM: Final = timezone(timedelta(hours=7), "ICT")  # no DST: a fixed offset is exact


def json_body(payload: Any) -> bytes:
    """Compact UTF-8 JSON: the bytes that are sent and signed."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def iso_time(moment: datetime) -> str:
    """An aware time as ISO 8601 in UTC with a `Z`, to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> datetime:
    """ISO 8601 → aware UTC; a time without offset is Vietnam time (UTC+07:00)."""
    if not isinstance(value, str):
        raise TypeError("time must be an ISO 8601 string")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=VIETNAM)
    return moment.astimezone(UTC)


# --- the reply to a signed callback ------------------------------------------------------

_ACKS: Final[dict[AckResult, tuple[int, dict[str, str]]]] = {
    AckResult.CONFIRMED: (200, {"status": "accepted"}),
    AckResult.DUPLICATE: (200, {"status": "duplicate"}),
    AckResult.NOT_FOUND: (404, {"status": "rejected", "reason": "not_found"}),
    AckResult.INVALID_AMOUNT: (422, {"status": "rejected", "reason": "invalid_amount"}),
    AckResult.BAD_SIGNATURE: (401, {"status": "rejected", "reason": "bad_signature"}),
    AckResult.ERROR: (500, {"status": "error", "reason": "try_again"}),
}


def envelope_ack(result: AckResult) -> Ack:
    """PayGov's reply to an enveloped callback (docs/bank-api.md §6.3)."""
    status_code, payload = _ACKS[result]
    return Ack(status_code, json_body(payload))


# --- the callback hooks, once for every enveloped protocol -------------------------------

EnvelopeConfigT = TypeVar("EnvelopeConfigT", bound=AdapterConfig)


class EnvelopeAdapter(Adapter[EnvelopeConfigT]):
    """An adapter whose callbacks arrive in PayGov's envelope: the hooks and the reply."""

    @abc.abstractmethod
    def envelope(self) -> tuple[Algorithm, str, int]:
        """(algorithm, the sender's public key PEM, tolerance in seconds) for callbacks."""

    def signed_message(self, request: InboundRequest) -> bytes:
        """`{X-PayGov-Timestamp}.{body}`, with the header exactly as received."""
        return signed_message(request.header(TIMESTAMP_HEADER) or "", request.body)

    def presented_signature(self, request: InboundRequest) -> str | None:
        """The `X-PayGov-Signature` header."""
        return request.header(SIGNATURE_HEADER)

    def signature_valid(self, message: bytes, signature: str) -> bool:
        """RSA-PSS or ECDSA verification with the configured public key(s)."""
        algorithm, public_pem, _ = self.envelope()
        return verify_message(algorithm, public_pem, message, signature)

    def check_freshness(self, request: InboundRequest, now: datetime) -> None:
        """The ±tolerance rule on `X-PayGov-Timestamp` (the signature covers it)."""
        _, _, tolerance = self.envelope()
        check_freshness(request.header(TIMESTAMP_HEADER), now, tolerance)

    def ack(self, result: AckResult) -> Ack:
        """JSON `{"status": ...}` with the HTTP status the spec gives each result."""
        return envelope_ack(result)
