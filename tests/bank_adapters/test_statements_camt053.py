"""camt.053 statements read by `bank_adapters.statements.read_camt053`: a real public
sample (camt.053.001.02, EUR), PayGov's own VND fixture (camt.053.001.08), and broken or
hostile files, each refused with a message that says where."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bank_adapters.base import StatementLine
from bank_adapters.statements import StatementError, read_camt053

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"
OCA = SHARED / "camt053" / "oca-test-camt053.xml"
VND = Path(__file__).parent / "data" / "camt053-001.08-vnd.xml"
VND_TEXT = VND.read_text(encoding="utf-8")
NS08 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def read(text: str | bytes) -> list[StatementLine]:
    data = text.encode() if isinstance(text, str) else text
    return list(read_camt053(io.BytesIO(data)))


def refusal(text: str | bytes) -> str:
    with pytest.raises(StatementError) as caught:
        read(text)
    return str(caught.value)


def vnd(old: str, new: str) -> str:
    """The VND fixture with one change (which must apply exactly once)."""
    assert VND_TEXT.count(old) == 1, old
    return VND_TEXT.replace(old, new)


def document(entries: str, namespace: str = NS08) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{namespace}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>M</MsgId></GrpHdr><Stmt><Id>S</Id>{entries}</Stmt>"
        "</BkToCstmrStmt></Document>"
    )


ENTRY = (
    '<Ntry><Amt Ccy="VND">150000</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
    "<BookgDt><DtTm>2026-01-15T09:20:27+07:00</DtTm></BookgDt>"
    "<AcctSvcrRef>REF{n}</AcctSvcrRef><NtryDtls><TxDtls><Refs>"
    "<EndToEndId>PG{n:014d}</EndToEndId></Refs><Amt Ccy='VND'>150000</Amt>"
    "<RmtInf><Ustrd>PG{n:014d} Lệ phí cấp hộ chiếu phổ thông</Ustrd></RmtInf>"
    "</TxDtls></NtryDtls></Ntry>"
)


class TestPublicSample:
    """OCA/bank-statement-import's test-camt053.xml, as published."""

    def test_every_line_of_the_eur_sample(self) -> None:
        with OCA.open("rb") as stream:
            lines = list(read_camt053(stream))

        booked = datetime(2013, 1, 4, 17, tzinfo=UTC)  # 2013-01-05, a date: midnight +07:00
        assert lines == [
            StatementLine(
                booked_at=booked,
                amount=-75425,
                txn_ref="435005714488-ABNO33052620",
                memo="Insurance policy 857239PERIOD 01.01.2013 - 31.12.2013",
                provider_txn_id=None,
                currency="EUR",
            ),
            StatementLine(  # the reversal: its transaction's amount, not the entry's 594.05
                booked_at=booked,
                amount=-56405,
                txn_ref="TESTBANK/NL/20141229/01206408",
                memo="Direct Debit S14 0410",
                provider_txn_id=None,
                reversal=True,
                currency="EUR",
            ),
            StatementLine(
                booked_at=booked,
                amount=140531,
                txn_ref="115",
                memo=None,
                provider_txn_id=None,
                currency="EUR",
            ),
        ]


class TestVndStatement:
    """PayGov's camt.053.001.08 fixture: batch, NOTPROVIDED, reversal, pending, charges."""

    def test_every_line(self) -> None:
        assert read(VND_TEXT) == [
            StatementLine(
                booked_at=datetime(2026, 1, 15, 2, 20, 27, tzinfo=UTC),
                amount=150_000,
                txn_ref="PG0000000000001A",
                memo="PG0000000000001A Lệ phí cấp hộ chiếu phổ thông",
                provider_txn_id="VCB2601150001-1",
            ),
            StatementLine(
                booked_at=datetime(2026, 1, 15, 2, 20, 27, tzinfo=UTC),
                amount=300_000,
                txn_ref="PG0000000000001B",
                memo="PG0000000000001B Phí trước bạ — Đà Nẵng",
                provider_txn_id="VCB2601150001-2",
                fee=3_300,
            ),
            StatementLine(
                booked_at=datetime(2026, 1, 15, 3, 5, tzinfo=UTC),
                amount=200_000,
                txn_ref=None,
                memo="CHUYEN TIEN PG7K3M9Q2X4V8N1R nop phi",
                provider_txn_id="VCB2601150002",
                fee=1_210,
            ),
            StatementLine(
                booked_at=datetime(2026, 1, 15, 9, tzinfo=UTC),
                amount=-150_000,
                txn_ref="PG0000000000001A",
                memo=None,
                provider_txn_id="VCB2601150003",
                reversal=True,
            ),
            StatementLine(
                booked_at=datetime(2026, 1, 15, 16, 59, 59, tzinfo=UTC),
                amount=-3_300,
                txn_ref=None,
                memo="PHÍ DỊCH VỤ THU HỘ 3 GD",
                provider_txn_id="FEEVCB20260115",
                fee=3_300,
            ),
            StatementLine(
                booked_at=datetime(2026, 1, 14, 17, tzinfo=UTC),
                amount=-1_100,
                txn_ref=None,
                memo=None,
                provider_txn_id="VCB2601150007",
                fee=1_100,
            ),
        ]

    def test_version_02_status_and_charges_read_the_same(self) -> None:
        entry = (
            '<Ntry><Amt Ccy="VND">150000</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
            "<BookgDt><Dt>2026-01-15</Dt></BookgDt><AcctSvcrRef>R1</AcctSvcrRef>"
            '<Chrgs><Amt Ccy="VND">1100</Amt></Chrgs><Chrgs><Amt Ccy="VND">110</Amt></Chrgs>'
            "</Ntry>"
        )

        [line] = read(document(entry, "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"))

        assert (line.amount, line.fee, line.provider_txn_id) == (150_000, 1_210, "R1")

    def test_a_batch_entry_gives_one_line_per_transaction_as_it_streams(self) -> None:
        batch = VND_TEXT.encode()
        cut = batch.index(b"<Ntry>", batch.index(b"VCB2601150002") - 400)
        stream = read_camt053(io.BytesIO(batch[:cut]))  # broken after the first entry

        first, second = next(stream), next(stream)

        assert (first.txn_ref, second.txn_ref) == ("PG0000000000001A", "PG0000000000001B")
        with pytest.raises(StatementError):
            next(stream)

    def test_memory_stays_flat_however_many_entries(self) -> None:
        def generated(count: int) -> Iterator[bytes]:
            head, tail = document("{}").split("{}")
            yield head.encode()
            for n in range(count):
                yield ENTRY.format(n=n).encode()
            yield tail.encode()

        def peak(count: int) -> int:
            tracemalloc.start()
            try:
                total = 0
                for _ in read_camt053(io.BufferedReader(ChunkStream(generated(count)))):
                    total += 1
                assert total == count
                return tracemalloc.get_traced_memory()[1]
            finally:
                tracemalloc.stop()

        # A parser keeping the tree would hold ~2 KB per entry: 20 MB more at 10,000.
        assert peak(10_000) < peak(500) + 1_000_000


class ChunkStream(io.RawIOBase):
    """A binary stream made on the fly, so that the input itself takes no memory."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self.rest:
            self.rest = next(self.chunks, b"")
            if not self.rest:
                return 0
        size = min(len(buffer), len(self.rest))
        buffer[:size], self.rest = self.rest[:size], self.rest[size:]
        return size


class TestRefused:
    """Each broken statement is refused with a message that names where and what."""

    @pytest.mark.parametrize(
        ("old", "new", "message"),
        [
            (
                '<Amt Ccy="VND">450000</Amt>',
                "",
                "Ntry 1 (AcctSvcrRef VCB2601150001): Amt is missing",
            ),
            (
                "<CdtDbtInd>DBIT</CdtDbtInd>\n    <RvslInd>",
                "<CdtDbtInd>DEBIT</CdtDbtInd>\n    <RvslInd>",
                'Ntry 3 (AcctSvcrRef VCB2601150003): CdtDbtInd "DEBIT" is neither CRDT nor DBIT',
            ),
            (
                '<Amt Ccy="VND">200000</Amt>\n    <CdtDbtInd>',
                '<Amt Ccy="VND">12,5</Amt>\n    <CdtDbtInd>',
                'Ntry 2 (AcctSvcrRef VCB2601150002): Amt "12,5" is not a whole number of VND',
            ),
            (
                '<Amt Ccy="VND">300000.00</Amt>',
                '<Amt Ccy="VND">300000.50</Amt>',
                "Ntry 1 (AcctSvcrRef VCB2601150001) TxDtls 2: "
                'Amt "300000.50" is not a whole number of VND',
            ),
            (
                '<Amt Ccy="VND">150000</Amt>\n      <CdtDbtInd>CRDT',
                "<CdtDbtInd>CRDT",
                "Ntry 1 (AcctSvcrRef VCB2601150001) TxDtls 1: "
                "Amt is missing (each transaction of a batch needs one)",
            ),
            (
                '<Amt Ccy="VND">150000</Amt>\n      <CdtDbtInd>CRDT',
                '<Amt Ccy="USD">150000</Amt>\n      <CdtDbtInd>CRDT',
                "Ntry 1 (AcctSvcrRef VCB2601150001) TxDtls 1: Amt is in USD, its entry in VND",
            ),
            (
                '<TtlChrgsAndTaxAmt Ccy="VND">3300</TtlChrgsAndTaxAmt>',
                '<TtlChrgsAndTaxAmt Ccy="VN">3300</TtlChrgsAndTaxAmt>',
                "Ntry 1 (AcctSvcrRef VCB2601150001) TxDtls 2: "
                'Chrgs/TtlChrgsAndTaxAmt has Ccy "VN", not an ISO 4217 code',
            ),
            (
                "<BookgDt><DtTm>2026-01-15T10:05:00+07:00</DtTm></BookgDt>",
                "<BookgDt><DtTm>15/01/2026 10:05</DtTm></BookgDt>",
                'Ntry 2 (AcctSvcrRef VCB2601150002): BookgDt/DtTm "15/01/2026 10:05" is not '
                "an ISO 8601 date",
            ),
            (
                "<BookgDt><DtTm>2026-01-15T23:59:59+07:00</DtTm></BookgDt>",
                "",
                "Ntry 5 (AcctSvcrRef FEEVCB20260115): BookgDt is missing",
            ),
            (
                "<RvslInd>true</RvslInd>",
                "<RvslInd>yes</RvslInd>",
                'Ntry 3 (AcctSvcrRef VCB2601150003): RvslInd "yes" is neither true nor false',
            ),
        ],
    )
    def test_a_malformed_entry(self, old: str, new: str, message: str) -> None:
        assert refusal(vnd(old, new)) == message

    def test_truncated_xml_names_line_and_column(self) -> None:
        truncated = VND_TEXT[: VND_TEXT.index("<AcctSvcrRef>VCB2601150003")]

        assert refusal(truncated) == "line 60, column 5: not XML: no element found"

    def test_a_billion_laughs_is_refused_at_its_doctype(self) -> None:
        bomb = (
            '<?xml version="1.0"?>\n<!DOCTYPE Document [\n <!ENTITY a "lol">\n'
            + "".join(
                f' <!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">\n' for i in range(9)
            )
            + f']>\n<Document xmlns="{NS08}">&j;</Document>'
        )

        assert refusal(bomb) == (
            "line 2, column 20: DOCTYPE refused: a statement may not declare a DTD or entities "
            "(entity expansion, external references)"
        )

    def test_an_external_entity_is_refused(self) -> None:
        xxe = (
            '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
            f'<Document xmlns="{NS08}">&x;</Document>'
        )

        assert refusal(xxe).startswith("line 2, column ")
        assert "DOCTYPE refused" in refusal(xxe)

    @pytest.mark.parametrize(
        ("xml", "message"),
        [
            (b"not xml", "line 1, column 1: not XML: syntax error"),
            (
                b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.052.001.08"/>',
                "root element: {urn:iso:std:iso:20022:tech:xsd:camt.052.001.08}Document is not "
                "a camt.053 Document (urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN)",
            ),
            (f'<Document xmlns="{NS08}"/>'.encode(), "Document: no BkToCstmrStmt/Stmt in it"),
        ],
    )
    def test_not_a_statement(self, xml: bytes, message: str) -> None:
        assert refusal(xml) == message

    def test_an_entry_without_status(self) -> None:
        assert refusal(vnd("<Sts><Cd>PDNG</Cd></Sts>", "")) == (
            "Ntry 4 (AcctSvcrRef VCB2601150004): Sts is missing"
        )
