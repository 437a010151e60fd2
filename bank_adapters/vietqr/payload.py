"""VietQR payloads: EMVCo merchant-presented QR as NAPAS 247 uses it for account transfers.

A payload is a run of TLV fields — 2-digit tag, 2-digit length (in characters), value —
ending in the CRC field `63` `04` `XXXX`:

    00 `01`                      payload format indicator
    01 `11` | `12`               point of initiation: static | dynamic (amount included)
    38 { 00 `A000000727`         NAPAS GUID
         01 { 00 BIN, 01 account }   beneficiary bank (6-digit BIN) and account
         02 `QRIBFTTA` }         service: inter-bank fund transfer to an account
    53 `704`                     currency (VND)
    54 amount                    optional
    58 `VN`                      country
    62 { 08 purpose }            additional data; 08 = purpose of transaction (the memo)
    63 CRC-16/CCITT-FALSE of everything before its value (including `6304`), 4 hex digits
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Final

NAPAS_GUID: Final = "A000000727"
SERVICE_TO_ACCOUNT: Final = "QRIBFTTA"
CURRENCY_VND: Final = "704"
COUNTRY_VN: Final = "VN"
DYNAMIC: Final = "12"
STATIC: Final = "11"
MAX_PURPOSE: Final = 25  # EMVCo: purpose of transaction, ans ..25
MAX_AMOUNT_CHARS: Final = 13  # EMVCo: transaction amount, ans ..13


class InvalidPayload(ValueError):
    """The text is not a well-formed VietQR payload, or its CRC does not match."""


def crc16_ccitt_false(data: bytes) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def crc_of(text: str) -> str:
    """The 4 uppercase hex digits of the CRC of `text` (which must end in `6304`)."""
    return f"{crc16_ccitt_false(text.encode('utf-8')):04X}"


def tlv(tag: str, value: str) -> str:
    """One field: tag, 2-digit length, value."""
    if len(tag) != 2 or not tag.isdigit():
        raise ValueError(f"bad tag {tag!r}")
    if len(value) > 99:
        raise ValueError(f"field {tag} longer than 99 characters")
    return f"{tag}{len(value):02d}{value}"


def fields(text: str) -> list[tuple[str, str]]:
    """Split a run of TLV fields; InvalidPayload when it does not split exactly."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        head = text[pos : pos + 4]
        if len(head) < 4 or not head.isascii() or not head.isdigit():
            raise InvalidPayload(f"bad TLV header at offset {pos}")
        tag, length = head[:2], int(head[2:])
        value = text[pos + 4 : pos + 4 + length]
        if len(value) != length:
            raise InvalidPayload(f"field {tag} runs past the end")
        out.append((tag, value))
        pos += 4 + length
    return out


@dataclass(frozen=True)
class VietQrPayload:
    """The decoded fields of a payload, as the strings they are on the wire."""

    point_of_initiation: str
    guid: str
    bin: str
    account: str
    service: str
    currency: str
    amount: str | None
    country: str
    purpose: str | None
    crc: str

    @property
    def amount_vnd(self) -> int | None:
        """The amount as whole VND (None for a payload without one)."""
        if self.amount is None:
            return None
        try:
            value = Decimal(self.amount)
        except InvalidOperation:
            raise InvalidPayload(f"amount {self.amount!r} is not a number") from None
        if value != value.to_integral_value() or value <= 0:
            raise InvalidPayload(f"amount {self.amount!r} is not a positive whole VND")
        return int(value)


def build(
    *, bank_bin: str, account: str, amount: int | None = None, purpose: str | None = None
) -> str:
    """A VietQR payload for a transfer to `account` at the bank `bank_bin`.

    With an amount it is dynamic (01=`12`), without one static (01=`11`). `purpose` is the
    transfer memo (ASCII, ≤ 25 characters): PayGov puts the attempt's `txn_ref` there.
    """
    if not (len(bank_bin) == 6 and bank_bin.isascii() and bank_bin.isdigit()):
        raise ValueError("bank_bin must be 6 digits")
    if not (account and len(account) <= 19 and account.isascii() and account.isalnum()):
        raise ValueError("account must be 1-19 letters or digits")
    beneficiary = tlv("00", bank_bin) + tlv("01", account)
    merchant = tlv("00", NAPAS_GUID) + tlv("01", beneficiary) + tlv("02", SERVICE_TO_ACCOUNT)
    text = tlv("00", "01") + tlv("01", DYNAMIC if amount is not None else STATIC)
    text += tlv("38", merchant) + tlv("53", CURRENCY_VND)
    if amount is not None:
        if amount <= 0 or len(str(amount)) > MAX_AMOUNT_CHARS:
            raise ValueError("amount must be a positive VND amount of at most 13 digits")
        text += tlv("54", str(amount))
    text += tlv("58", COUNTRY_VN)
    if purpose:
        if len(purpose) > MAX_PURPOSE or not (purpose.isascii() and purpose.isprintable()):
            raise ValueError(f"purpose must be printable ASCII of at most {MAX_PURPOSE} chars")
        text += tlv("62", tlv("08", purpose))
    text += "6304"
    return text + crc_of(text)


def _unique(value: str, where: str) -> dict[str, str]:
    split = fields(value)
    found = dict(split)
    if len(found) != len(split):
        raise InvalidPayload(f"repeated field in {where}")
    return found


def _need(found: dict[str, str], tag: str, where: str) -> str:
    if tag not in found:
        raise InvalidPayload(f"missing field {where}{tag}")
    return found[tag]


def parse(text: str) -> VietQrPayload:
    """Decode a payload, checking the CRC first; InvalidPayload when anything is wrong."""
    text = text.strip()
    if len(text) < 8 or text[-8:-4] != "6304":
        raise InvalidPayload("the payload does not end with the CRC field 6304")
    presented = text[-4:].upper()
    if crc_of(text[:-4]) != presented:
        raise InvalidPayload("CRC mismatch")
    found = _unique(text, "the payload")
    if next(reversed(found)) != "63":
        raise InvalidPayload("the CRC field is not the last field")
    if _need(found, "00", "") != "01":
        raise InvalidPayload("payload format indicator is not 01")
    merchant = _unique(_need(found, "38", ""), "38")
    beneficiary = _unique(_need(merchant, "01", "38."), "38.01")
    extra = _unique(found["62"], "62") if "62" in found else {}
    return VietQrPayload(
        point_of_initiation=found.get("01", STATIC),
        guid=_need(merchant, "00", "38."),
        bin=_need(beneficiary, "00", "38.01."),
        account=_need(beneficiary, "01", "38.01."),
        service=merchant.get("02", ""),
        currency=_need(found, "53", ""),
        amount=found.get("54"),
        country=_need(found, "58", ""),
        purpose=extra.get("08"),
        crc=presented,
    )
