"""ISO 20022 camt.053 (Bank-to-Customer Statement) as a stream of StatementLines.

Any `camt.053.001.NN` namespace is read; the fields PayGov needs are where versions 02 to
13 put them, with one difference handled: `Ntry/Sts` is the code itself up to version 07
(`<Sts>BOOK</Sts>`) and a choice from version 08 on (`<Sts><Cd>BOOK</Cd></Sts>`).

The document is parsed with defusedxml (no DTD, no entity, no external reference: a
billion-laughs or XXE file is refused at its `DOCTYPE`) and read as it streams: each
`Ntry` and each `TxDtls` is dropped from the tree once read, so memory stays flat however
many entries the file has. Lines come out as they are read; an error may therefore arrive
after some lines, and the caller refuses the whole file.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import BinaryIO, Final

from defusedxml import DefusedXmlException  # type: ignore[import-untyped]
from defusedxml.ElementTree import (  # type: ignore[import-untyped]
    DefusedXMLParser,
    iterparse,
)

from bank_adapters.base import StatementLine
from bank_adapters.signing import VIETNAM
from bank_adapters.statements.amounts import decimals, expected, minor_units
from bank_adapters.statements.errors import StatementError

NAMESPACE: Final = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.\d{2}")
NOT_PROVIDED: Final = "NOTPROVIDED"  # ISO 20022's "no end-to-end reference"
CHARGE: Final = "CHRG"
BOOLEANS: Final = {"true": True, "1": True, "false": False, "0": False}  # xs:boolean
# Depths in the tree: Document 0 / BkToCstmrStmt 1 / Stmt 2 / Ntry 3 / NtryDtls 4 / TxDtls 5.
STMT, NTRY, TXDTLS = 2, 3, 5
REFUSED: Final = (
    "DOCTYPE refused: a statement may not declare a DTD or entities (entity expansion, "
    "external references)"
)


def read_camt053(stream: BinaryIO) -> Iterator[StatementLine]:
    """The booked lines of a camt.053 statement, read as the stream goes; StatementError if not.

    One line per `Ntry/NtryDtls/TxDtls` (a batch entry gives several), or per `Ntry`
    without details; entries whose status is not `BOOK` are skipped.

    * amount: `TxDtls/Amt`, else `TxDtls/AmtDtls/TxAmt/Amt`, else (for an entry's only
      transaction) `Ntry/Amt`; in minor units of its `Ccy`, which must be the entry's;
      negative when `CdtDbtInd` (the transaction's, else the entry's) is `DBIT`.
    * txn_ref: `Refs/EndToEndId` (`NOTPROVIDED` → None); memo: every `RmtInf/Ustrd`
      joined by a space (`AddtlNtryInf` for an entry without details); provider_txn_id:
      `Refs/AcctSvcrRef`, else the entry's `AcctSvcrRef`; reversal: `RvslInd`.
    * booked_at: `Ntry/BookgDt/DtTm`, else `Dt` at midnight; without an offset, Vietnam
      time. Returned in UTC.
    * fee: `Chrgs/TtlChrgsAndTaxAmt`, else the sum of `Chrgs/Rcrd/Amt` (version 02:
      `Chrgs/Amt`), from the transaction, or from the entry for its only transaction (a
      batch entry's own charges belong to no single line and are not reported). A line
      whose bank transaction code (`Domn/Fmly/SubFmlyCd` or `Prtry/Cd`) is `CHRG` is the
      charge itself: its fee is its amount when no `Chrgs` say otherwise.

    Error messages name the place: `Ntry 3 (AcctSvcrRef X) TxDtls 2: ...` (entries counted
    from 1 across the document), or the line and column of XML that cannot be parsed.
    """
    parser = DefusedXMLParser(
        target=ET.TreeBuilder(), forbid_dtd=True, forbid_entities=True, forbid_external=True
    )
    reader = _Reader()
    try:
        for event, element in iterparse(stream, events=("start", "end"), parser=parser):
            if event == "start":
                reader.start(element)
            else:
                yield from reader.end(element)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).rsplit(": line ", 1)[0]
        raise StatementError(f"line {line}, column {column + 1}", f"not XML: {reason}") from None
    except DefusedXmlException:
        expat = parser.parser  # stopped inside its handler: the position is the DOCTYPE's
        where = f"line {expat.CurrentLineNumber}, column {expat.CurrentColumnNumber + 1}"
        raise StatementError(where, REFUSED) from None


class _Reader:
    """Follows the parse events; builds the lines of each entry when its parts are read."""

    def __init__(self) -> None:
        self.stack: list[ET.Element] = []
        self.names: _Names | None = None
        self.statements = 0
        self.entries = 0
        self.entry: _Entry | None = None

    def start(self, element: ET.Element) -> None:
        if self.names is None:
            self.names = _Names.of(element)
        elif len(self.stack) == STMT and element.tag == self.names.stmt:
            self.statements += 1
        elif len(self.stack) == NTRY and element.tag == self.names.ntry:
            self.entries += 1
            self.entry = _Entry(self.names, element, self.entries)
        self.stack.append(element)

    def end(self, element: ET.Element) -> Iterable[StatementLine]:
        self.stack.pop()
        depth = len(self.stack)  # the element's own
        if depth == 0 and not self.statements:
            raise StatementError("Document", "no BkToCstmrStmt/Stmt in it")
        if depth == 0 or (depth > NTRY and depth != TXDTLS):
            return ()
        parent, names = self.stack[-1], self.names
        assert names is not None  # set at the root's start
        if depth == TXDTLS:
            if self.entry is None or (element.tag, parent.tag) != (names.txdtls, names.ntrydtls):
                return ()
            parent.remove(element)  # read now: dropped so that a big batch stays small
            return self.entry.transaction(element)
        parent.remove(element)  # everything down to Stmt's children: read once, dropped
        if depth == NTRY and self.entry is not None and element is self.entry.element:
            entry, self.entry = self.entry, None
            return entry.close()
        return ()


class _Names:
    """The tags of one camt.053 version's namespace, and finds along `/`-separated paths.

    Paths are walked one child step at a time: a single qualified tag is looked up in C,
    where a multi-step path would go through the (Python) ElementPath machinery.
    """

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.stmt, self.ntry = self.tag("Stmt"), self.tag("Ntry")
        self.ntrydtls, self.txdtls = self.tag("NtryDtls"), self.tag("TxDtls")
        self.steps: dict[str, tuple[str, ...]] = {}

    @classmethod
    def of(cls, root: ET.Element) -> _Names:
        namespace, _, name = root.tag[1:].partition("}")
        if name != "Document" or not NAMESPACE.fullmatch(namespace):
            raise StatementError(
                "root element",
                f"{root.tag} is not a camt.053 Document "
                "(urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN)",
            )
        return cls(namespace)

    def tag(self, name: str) -> str:
        return f"{{{self.namespace}}}{name}"

    def find(self, node: ET.Element | None, path: str) -> ET.Element | None:
        steps = self.steps.get(path)
        if steps is None:
            steps = self.steps[path] = tuple(self.tag(name) for name in path.split("/"))
        for step in steps:
            if node is None:
                return None
            node = node.find(step)
        return node

    def findall(self, node: ET.Element, path: str) -> list[ET.Element]:
        """Every `name` child of the first element along the path's head (`RmtInf/Ustrd`)."""
        parent_path, _, name = path.rpartition("/")
        parent = self.find(node, parent_path) if parent_path else node
        return [] if parent is None else parent.findall(self.tag(name))

    def text(self, node: ET.Element, path: str) -> str | None:
        return _text_of(self.find(node, path))


@dataclass(frozen=True, slots=True)
class _Facts:
    """What an entry says about all its lines."""

    booked_at: datetime
    amount: int  # minor units, unsigned
    currency: str
    debit: bool
    reversal: bool
    reference: str | None
    charge: bool


class _Entry:
    """One `Ntry` being read: its facts once its head is parsed, and its first TxDtls,
    held until it is known to be the only one (it may then borrow the entry's amount)."""

    def __init__(self, names: _Names, element: ET.Element, number: int) -> None:
        self.names = names
        self.element = element
        self.number = number
        self.facts: _Facts | None = None
        self.booked: bool | None = None
        self.transactions = 0
        self.held: ET.Element | None = None
        self._where: str | None = None

    def transaction(self, tx: ET.Element) -> list[StatementLine]:
        """The lines a finished `TxDtls` makes known (the held first one, this one)."""
        self.transactions += 1
        if not self.is_booked():
            return []
        if self.transactions == 1:
            self.held = tx
            return []
        lines = [self.tx_line(self.held, 1, alone=False)] if self.held is not None else []
        self.held = None
        return [*lines, self.tx_line(tx, self.transactions, alone=False)]

    def close(self) -> list[StatementLine]:
        """The lines left when the `Ntry` ends."""
        if not self.is_booked():
            return []
        if self.held is not None:
            return [self.tx_line(self.held, 1, alone=True)]
        if self.transactions:
            return []
        return [self.entry_line()]

    # -- the entry -------------------------------------------------------------------------

    def where(self) -> str:
        """`Ntry 3 (AcctSvcrRef X)`: the entry, for error messages."""
        if self._where is None:
            reference = self.names.text(self.element, "AcctSvcrRef")
            suffix = f" (AcctSvcrRef {reference})" if reference else ""
            self._where = f"Ntry {self.number}{suffix}"
        return self._where

    def is_booked(self) -> bool:
        if self.booked is None:
            status = self.names.find(self.element, "Sts")
            if status is None:
                raise StatementError(self.where(), "Sts is missing")
            code = self.names.find(status, "Cd")  # version 08 on: Sts/Cd
            self.booked = _text_of(code if code is not None else status) == "BOOK"
        return self.booked

    def entry_facts(self) -> _Facts:
        if self.facts is None:
            self.facts = _entry_facts(self.names, self.element, self.where())
        return self.facts

    def entry_line(self) -> StatementLine:
        facts, names = self.entry_facts(), self.names
        fee = _charges(names, self.element, self.where(), facts.currency)
        return StatementLine(
            booked_at=facts.booked_at,
            amount=-facts.amount if facts.debit else facts.amount,
            txn_ref=None,
            memo=names.text(self.element, "AddtlNtryInf"),
            provider_txn_id=facts.reference,
            fee=fee or (facts.amount if facts.charge else 0),
            reversal=facts.reversal,
            currency=facts.currency,
        )

    # -- one transaction -------------------------------------------------------------------

    def tx_line(self, tx: ET.Element, number: int, *, alone: bool) -> StatementLine:
        facts, names, where = self.entry_facts(), self.names, f"{self.where()} TxDtls {number}"
        amount = self.tx_amount(tx, where, alone=alone)
        indicator = names.find(tx, "CdtDbtInd")
        debit = facts.debit if indicator is None else _is_debit(indicator, where)
        fee = _charges(names, tx, where, facts.currency)
        if not fee and alone:
            fee = _charges(names, self.element, self.where(), facts.currency)
        has_code = names.find(tx, "BkTxCd") is not None
        charge = _is_charge(names, tx) if has_code else facts.charge
        end_to_end = names.text(tx, "Refs/EndToEndId")
        memo = " ".join(filter(None, map(_text_of, names.findall(tx, "RmtInf/Ustrd"))))
        return StatementLine(
            booked_at=facts.booked_at,
            amount=-amount if debit else amount,
            txn_ref=None if end_to_end == NOT_PROVIDED else end_to_end,
            memo=memo or None,
            provider_txn_id=names.text(tx, "Refs/AcctSvcrRef") or facts.reference,
            fee=fee or (amount if charge else 0),
            reversal=facts.reversal,
            currency=facts.currency,
        )

    def tx_amount(self, tx: ET.Element, where: str, *, alone: bool) -> int:
        """The transaction's own amount, or (only transaction) the entry's."""
        facts = self.entry_facts()
        for name in ("Amt", "AmtDtls/TxAmt/Amt"):
            node = self.names.find(tx, name)
            if node is not None:
                amount, currency = _amount(node, where, name)
                if currency != facts.currency:
                    raise StatementError(
                        where, f"{name} is in {currency}, its entry in {facts.currency}"
                    )
                return amount
        if alone:
            return facts.amount
        raise StatementError(where, "Amt is missing (each transaction of a batch needs one)")


def _entry_facts(names: _Names, entry: ET.Element, where: str) -> _Facts:
    node = names.find(entry, "Amt")
    if node is None:
        raise StatementError(where, "Amt is missing")
    amount, currency = _amount(node, where, "Amt")
    indicator = names.find(entry, "CdtDbtInd")
    if indicator is None:
        raise StatementError(where, "CdtDbtInd is missing")
    reversal = names.text(entry, "RvslInd") or "false"
    if reversal not in BOOLEANS:
        raise StatementError(where, f'RvslInd "{reversal}" is neither true nor false')
    return _Facts(
        booked_at=_booked_at(names, entry, where),
        amount=amount,
        currency=currency,
        debit=_is_debit(indicator, where),
        reversal=BOOLEANS[reversal],
        reference=names.text(entry, "AcctSvcrRef"),
        charge=_is_charge(names, entry),
    )


def _text_of(node: ET.Element | None) -> str | None:
    text = (node.text or "").strip() if node is not None else ""
    return text or None


def _amount(node: ET.Element, where: str, name: str) -> tuple[int, str]:
    """An `Amt`-like element: its value in minor units of its `Ccy`, and the `Ccy`."""
    currency = node.get("Ccy", "")
    places = decimals(currency)
    if places is None:
        raise StatementError(where, f'{name} has Ccy "{currency}", not an ISO 4217 code')
    text = (node.text or "").strip()
    value = minor_units(text, places)
    if value is None or value < 0:
        raise StatementError(where, f'{name} "{text}" is not {expected(currency)}')
    return value, currency


def _is_debit(node: ET.Element, where: str) -> bool:
    indicator = _text_of(node)
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(where, f'CdtDbtInd "{indicator or ""}" is neither CRDT nor DBIT')
    return indicator == "DBIT"


def _is_charge(names: _Names, node: ET.Element) -> bool:
    """True when the bank transaction code of an entry or transaction says "charges"."""
    return CHARGE in (
        names.text(node, "BkTxCd/Domn/Fmly/SubFmlyCd"),
        names.text(node, "BkTxCd/Prtry/Cd"),
    )


def _charges(names: _Names, node: ET.Element, where: str, currency: str) -> int:
    """The charges an entry or transaction reports, in minor units of `currency` (0: none)."""
    charges = names.findall(node, "Chrgs")  # one from version 03 on, several in 02
    if not charges:
        return 0
    total = names.find(charges[0], "TtlChrgsAndTaxAmt")
    if total is not None:
        records = [(total, "Chrgs/TtlChrgsAndTaxAmt")]
    else:
        records = [
            (amount, "Chrgs/Rcrd/Amt")
            for charge in charges
            for record in names.findall(charge, "Rcrd")
            for amount in names.findall(record, "Amt")
        ]
        records += [(amount, "Chrgs/Amt") for c in charges for amount in names.findall(c, "Amt")]
    fee = 0
    for record, name in records:
        amount, fee_currency = _amount(record, where, name)
        if fee_currency != currency:
            raise StatementError(where, f"{name} is in {fee_currency}, the amount in {currency}")
        fee += amount
    return fee


def _booked_at(names: _Names, entry: ET.Element, where: str) -> datetime:
    moment = names.text(entry, "BookgDt/DtTm")
    day = None if moment else names.text(entry, "BookgDt/Dt")
    if not (moment or day):
        raise StatementError(where, "BookgDt is missing")
    try:
        parsed = (
            datetime.fromisoformat(moment)
            if moment
            else datetime.combine(date.fromisoformat(day or ""), time(0))
        )
    except ValueError:
        name, text = ("BookgDt/DtTm", moment) if moment else ("BookgDt/Dt", day)
        raise StatementError(where, f'{name} "{text}" is not an ISO 8601 date') from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=VIETNAM)
    return parsed.astimezone(UTC)
