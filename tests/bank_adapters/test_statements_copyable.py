"""The plain-CSV check: what it lets through goes to COPY unchanged; the rest is refused
so that read_csv reads it (tests/reconciliation/test_copy.py compares the two readers)."""

from __future__ import annotations

import io

import pytest

from bank_adapters.statements.copyable import HEADER, NotCopyable, copy_chunks

ROWS = (
    "2026-11-20T09:15:00+07:00,150000,PG0123456789ABCD,,VCB1,0\n"
    '2026-11-20T02:16:00.5Z,20000,,"Đóng lệ phí, mã PGABCDEFGHJKMNPQ ""gấp""",VCB2,0\n'
    "2026-11-20T10:00:00.123456-01:30,-50000,rfd_01M8XYZ,Hoàn tiền,VCB3,0\n"
    "2026-11-20T23:59:59+07:00,-1100,,PHI DICH VU THU HO,FEEVCB20261120,1100\n"
    "2026-11-20T12:00:00+07:00,0,,ghi chú đầu,,0\n"
)


def chunks(text: str, size: int = 1 << 20) -> bytes:
    return b"".join(copy_chunks(io.BytesIO(text.encode()), size))


def test_plain_rows_go_through_unchanged_at_any_chunk_size() -> None:
    for size in (1, 7, 64, 1 << 20):
        assert chunks(f"{HEADER}\n{ROWS}", size) == ROWS.encode()


def test_a_byte_order_mark_crlf_and_trailing_empty_lines_are_read_as_read_csv_does() -> None:
    rows = ROWS.replace("\n", "\r\n")
    assert chunks(f"\ufeff{HEADER}\r\n{rows}\r\n\r\n") == rows.encode()
    assert chunks(f"{HEADER}\n{ROWS.rstrip()}") == ROWS.rstrip().encode()
    assert chunks(f"{HEADER}\n") == b""


PLAIN = "2026-11-20T09:15:00+07:00,150000,PG0123456789ABCD,memo,VCB1,0"


@pytest.mark.parametrize(
    ("row", "why"),
    [
        (PLAIN.replace("150000", "+150000"), "a sign on a credit"),
        (PLAIN.replace("150000", "0150000"), "a leading zero"),
        (PLAIN.replace("150000", " 150000"), "a space read_csv strips"),
        (PLAIN.replace("150000", '"150000"'), "a quoted amount"),
        (PLAIN.replace("150000", "150000.00"), "decimals"),
        (PLAIN.replace("150000", "150.000"), "grouping"),
        (PLAIN.replace("+07:00", ""), "a time without an offset"),
        (PLAIN.replace("T09", " 09"), "a space for T"),
        (PLAIN.replace("T09:15", "T24:00"), "hour 24"),
        (PLAIN.replace(":00+", ":60+"), "second 60"),
        (PLAIN.replace("2026-11-20", "0000-11-20"), "year 0"),
        (PLAIN.replace("PG0123456789ABCD", "ORDER-17"), "a credit naming another reference"),
        (PLAIN.replace("PG0123456789ABCD", "pg0123456789abcd"), "a reference in lower case"),
        (PLAIN.replace(",memo,", ", memo,"), "a space before a memo"),
        (PLAIN.replace(",memo,", ',"memo ",'), "a space inside quotes"),
        (PLAIN.replace(",memo,", ",memo\u00a0,"), "a no-break space"),
        (PLAIN.replace(",memo,", ',me"mo,'), "a quote inside an unquoted field"),
        (PLAIN.replace(",memo,", ',"me\nmo",'), "a line break in a memo"),
        (PLAIN.replace(",memo,", ',"memo"x,'), "text after a closing quote"),
        (PLAIN.replace(",0", ","), "an empty fee"),
        (PLAIN.replace(",0", ",-5"), "a negative fee"),
        (PLAIN + ",", "a seventh column"),
        (PLAIN.rsplit(",", 1)[0], "a missing column"),
        ("\\.", "COPY's end-of-data marker"),
    ],
)
def test_anything_else_is_left_to_read_csv(row: str, why: str) -> None:
    with pytest.raises(NotCopyable):
        chunks(f"{HEADER}\n{PLAIN}\n{row}\n{PLAIN}\n")


@pytest.mark.parametrize(
    "text",
    [
        "booked_at,amount,memo,txn_ref,bank_reference,fee\n",  # another order
        f"{HEADER},extra\n",
        f"{HEADER}",  # no line end: not a header row read_csv would find rows after
        f"{HEADER}\n{PLAIN}\n\n{PLAIN}\n",  # an empty row inside
    ],
)
def test_a_header_or_an_empty_row_out_of_place_is_left_to_read_csv(text: str) -> None:
    with pytest.raises(NotCopyable):
        chunks(text)


def test_bytes_that_are_not_utf8_are_left_to_read_csv() -> None:
    raw = f"{HEADER}\n{PLAIN}\n".encode().replace(b"memo", b"m\xe9mo")
    with pytest.raises(NotCopyable):
        b"".join(copy_chunks(io.BytesIO(raw)))


def test_a_row_longer_than_the_longest_is_refused_before_the_end_of_the_file() -> None:
    long = PLAIN.replace("memo", "m" * 70_000)
    stream = io.BytesIO(f"{HEADER}\n{PLAIN}\n{long}\n".encode() + f"{PLAIN}\n".encode() * 1000)
    produced = copy_chunks(stream, size=4096)
    assert next(produced) == f"{PLAIN}\n".encode()
    with pytest.raises(NotCopyable):
        list(produced)
