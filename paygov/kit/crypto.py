"""Secrets at rest (AES-GCM under the master key), keyed hashes, canonical JSON."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class DecryptionFailed(Exception):
    """A ciphertext was made under a key we no longer hold, or was altered."""


def key_id(key: bytes) -> str:
    """A short public name for a key, stored beside each ciphertext it made."""
    return hashlib.sha256(b"paygov-key-id" + key).hexdigest()[:8]


class SecretBox:
    """Encrypts with the current master key; decrypts with the current or the old one.

    Format: `v1.<key id>.<base64url(nonce || ciphertext+tag)>`. The associated data
    binds a ciphertext to its purpose, so a webhook secret cannot be swapped in as payer data.
    """

    def __init__(self, current: bytes, old: bytes | None = None) -> None:
        self.current_id = key_id(current)
        self.keys = {self.current_id: AESGCM(current)}
        if old is not None:
            self.keys.setdefault(key_id(old), AESGCM(old))

    def encrypt(self, plaintext: bytes, purpose: str) -> str:
        nonce = os.urandom(12)
        sealed = self.keys[self.current_id].encrypt(nonce, plaintext, purpose.encode())
        return f"v1.{self.current_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str, purpose: str) -> bytes:
        try:
            version, kid, payload = token.split(".", 2)
            raw = base64.urlsafe_b64decode(payload)
            aead = self.keys[kid]
            if version != "v1":
                raise ValueError(version)
            return aead.decrypt(raw[:12], raw[12:], purpose.encode())
        except (KeyError, ValueError, InvalidTag) as exc:
            raise DecryptionFailed(f"cannot decrypt a {purpose} secret") from exc

    def encrypt_json(self, value: Any, purpose: str) -> str:
        return self.encrypt(orjson.dumps(value), purpose)

    def decrypt_json(self, token: str, purpose: str) -> Any:
        return orjson.loads(self.decrypt(token, purpose))

    def is_current(self, token: str) -> bool:
        return token.split(".", 2)[1:2] == [self.current_id]


def keyed_hash(secret: bytes, value: str) -> str:
    """HMAC-SHA256 hex: how API keys are stored (fast to look up, useless if stolen)."""
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Bearer:
    """A new bearer secret: shown once in clear, stored only as its HMAC."""

    clear: str
    stored_hash: str
    display_prefix: str  # the first characters, so people can tell their secrets apart


def new_bearer(secret: bytes, prefix: str) -> Bearer:
    """An API key or staff token: `prefix` + 256 random bits."""
    clear = prefix + secrets.token_urlsafe(32)
    return Bearer(clear, keyed_hash(secret, clear), clear[:12])


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace: equal documents give equal bytes."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
