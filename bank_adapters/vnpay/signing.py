"""VNPay's two checksums, both hex HMAC-SHA512 under the merchant's `vnp_HashSecret`.

* Redirects, IPN and return legs sign the `vnp_*` parameters (minus `vnp_SecureHash` and
  `vnp_SecureHashType`) sorted by name, each `name=value` form-url-encoded the way VNPay's
  servers do it, joined by `&`.
* The JSON transaction API (`querydr`, `refund`) signs a fixed list of fields joined by `|`,
  in the order VNPay publishes for each message; a missing field counts as "".

Parameters with an empty value are left out of the sorted form, as VNPay's own .NET and Java
integration code does (the PHP sample keeps them); PayGov never sends one, so this only
matters for a callback that carries one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

HASH_FIELD = "vnp_SecureHash"
UNSIGNED = frozenset({"vnp_SecureHash", "vnp_SecureHashType"})
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")

# The pipe-joined field orders of the transaction API (VNPay, "API querydr, refund").
QUERYDR_REQUEST = (
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_TransactionDate",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
)
QUERYDR_RESPONSE = (
    "vnp_ResponseId",
    "vnp_Command",
    "vnp_ResponseCode",
    "vnp_Message",
    "vnp_TmnCode",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_BankCode",
    "vnp_PayDate",
    "vnp_TransactionNo",
    "vnp_TransactionType",
    "vnp_TransactionStatus",
    "vnp_OrderInfo",
    "vnp_PromotionCode",
    "vnp_PromotionAmount",
)
REFUND_REQUEST = (
    "vnp_RequestId",
    "vnp_Version",
    "vnp_Command",
    "vnp_TmnCode",
    "vnp_TransactionType",
    "vnp_TxnRef",
    "vnp_Amount",
    "vnp_TransactionNo",
    "vnp_TransactionDate",
    "vnp_CreateBy",
    "vnp_CreateDate",
    "vnp_IpAddr",
    "vnp_OrderInfo",
)
REFUND_RESPONSE = QUERYDR_RESPONSE[:13]  # the same fields, without the promotion pair


def encode(text: str) -> str:
    """Form-url-encode like VNPay: space → '+', all but A-Z a-z 0-9 - _ . as %XX (UTF-8)."""
    out: list[str] = []
    for byte in text.encode("utf-8"):
        if byte in _UNRESERVED:
            out.append(chr(byte))
        elif byte == 0x20:
            out.append("+")
        else:
            out.append(f"%{byte:02X}")
    return "".join(out)


def signed_items(params: Mapping[str, str]) -> list[tuple[str, str]]:
    """The parameters that are signed, sorted by name (ordinal, like PHP's ksort)."""
    return sorted(
        (name, value)
        for name, value in params.items()
        if name.startswith("vnp_") and name not in UNSIGNED and value != ""
    )


def canonical(params: Mapping[str, str]) -> str:
    """The exact text VNPay signs for a redirect, IPN or return leg."""
    return "&".join(f"{encode(name)}={encode(value)}" for name, value in signed_items(params))


def query_string(params: Mapping[str, str]) -> str:
    """Parameters as a URL query string, encoded the same way, in the order given."""
    return "&".join(f"{encode(name)}={encode(value)}" for name, value in params.items())


def digest(message: bytes, secret: str) -> str:
    """Hex HMAC-SHA512 of `message` under `secret`."""
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha512).hexdigest()


def secure_hash(params: Mapping[str, str], secret: str) -> str:
    """`vnp_SecureHash` of redirect/IPN/return parameters."""
    return digest(canonical(params).encode("utf-8"), secret)


def sign(params: Mapping[str, str], secret: str) -> dict[str, str]:
    """The parameters (non-empty ones) with their `vnp_SecureHash` appended."""
    signed = dict(signed_items(params))
    signed[HASH_FIELD] = secure_hash(signed, secret)
    return signed


def matches(expected: str, presented: str) -> bool:
    """Constant-time comparison of two hex digests, ignoring case."""
    return hmac.compare_digest(
        expected.lower().encode("utf-8"), presented.strip().lower().encode("utf-8")
    )


def verify(params: Mapping[str, str], secret: str) -> bool:
    """True when the parameters carry a valid `vnp_SecureHash`."""
    presented = params.get(HASH_FIELD)
    return bool(presented) and matches(secure_hash(params, secret), str(presented))


def field_text(value: Any) -> str:
    """A JSON field as VNPay joins it: missing or null → "", numbers as digits."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def pipe_message(body: Mapping[str, Any], fields: Iterable[str]) -> str:
    """The pipe-joined text of the transaction API for these fields, in this order."""
    return "|".join(field_text(body.get(name)) for name in fields)


def pipe_checksum(body: Mapping[str, Any], fields: Sequence[str], secret: str) -> str:
    """`vnp_SecureHash` of a querydr/refund request or response."""
    return digest(pipe_message(body, fields).encode("utf-8"), secret)


def pipe_verify(body: Mapping[str, Any], fields: Sequence[str], secret: str) -> bool:
    """True when a JSON message carries a valid pipe-joined `vnp_SecureHash`."""
    presented = body.get(HASH_FIELD)
    if not isinstance(presented, str) or not presented:
        return False
    return matches(pipe_checksum(body, fields, secret), presented)
