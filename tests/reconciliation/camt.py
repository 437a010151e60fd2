"""camt.053.001.08 statements written for tests: what a bank would send for a day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from xml.sax.saxutils import escape

NS = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


@dataclass
class Tx:
    amount: int
    end_to_end: str | None = None
    memo: str | None = None
    bank_ref: str | None = None
    debit: bool = False
    fee: int = 0


@dataclass
class Entry:
    booked_at: datetime
    txs: list[Tx] = field(default_factory=list)
    reversal: bool = False
    charge: bool = False  # a bank charge entry (BkTxCd CHRG)
    currency: str = "VND"

    @property
    def amount(self) -> int:
        return sum(tx.amount for tx in self.txs)


def credit(booked_at: datetime, amount: int, ref: str | None = None, **extra: object) -> Entry:
    return Entry(booked_at, [Tx(amount, end_to_end=ref, **extra)])  # type: ignore[arg-type]


def _tx(tx: Tx, currency: str) -> str:
    refs = f"<EndToEndId>{escape(tx.end_to_end or 'NOTPROVIDED')}</EndToEndId>"
    if tx.bank_ref:
        refs = f"<AcctSvcrRef>{escape(tx.bank_ref)}</AcctSvcrRef>" + refs
    memo = f"<RmtInf><Ustrd>{escape(tx.memo)}</Ustrd></RmtInf>" if tx.memo else ""
    fee = (
        f'<Chrgs><TtlChrgsAndTaxAmt Ccy="{currency}">{tx.fee}</TtlChrgsAndTaxAmt></Chrgs>'
        if tx.fee
        else ""
    )
    return (
        f"<TxDtls><Refs>{refs}</Refs>"
        f'<Amt Ccy="{currency}">{tx.amount}</Amt>'
        f"<CdtDbtInd>{'DBIT' if tx.debit else 'CRDT'}</CdtDbtInd>{fee}{memo}</TxDtls>"
    )


def _entry(entry: Entry) -> str:
    debit = entry.txs[0].debit if entry.txs else False
    code = "CHRG" if entry.charge else "RCDT"
    details = "".join(_tx(tx, entry.currency) for tx in entry.txs) if not entry.charge else ""
    return (
        f'<Ntry><Amt Ccy="{entry.currency}">{entry.amount}</Amt>'
        f"<CdtDbtInd>{'DBIT' if debit else 'CRDT'}</CdtDbtInd>"
        f"{'<RvslInd>true</RvslInd>' if entry.reversal else ''}"
        f"<Sts><Cd>BOOK</Cd></Sts>"
        f"<BookgDt><DtTm>{entry.booked_at.isoformat()}</DtTm></BookgDt>"
        f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>{code}</SubFmlyCd></Fmly>"
        f"</Domn></BkTxCd>" + (f"<NtryDtls>{details}</NtryDtls>" if details else "") + "</Ntry>"
    )


def statement(entries: list[Entry]) -> bytes:
    body = "".join(_entry(entry) for entry in entries)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS}"><BkToCstmrStmt>'
        "<GrpHdr><MsgId>TEST</MsgId><CreDtTm>2026-11-21T01:00:00+07:00</CreDtTm></GrpHdr>"
        "<Stmt><Id>S1</Id><Acct><Id><Othr><Id>0071000888999</Id></Othr></Id>"
        "<Ccy>VND</Ccy></Acct>"
        f"{body}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


def write(path: Path, entries: list[Entry]) -> Path:
    path.write_bytes(statement(entries))
    return path
