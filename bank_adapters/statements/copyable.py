"""A statement CSV in PayGov's own layout, checked for PostgreSQL's COPY to read as it is.

`read_csv` turns each row into a StatementLine in Python, at a few microseconds a row.
A file in PayGov's layout (docs/bank-api.md §8.3) whose every row is written the plain
way can instead go to the database byte for byte: `copy_chunks` checks each chunk of
whole rows against the strict grammar below (one regular expression a chunk, no Python
per row) and yields it, while the database parses the chunk before.

The grammar admits only texts both readers take to the same values: ISO 8601 times with
an offset (`Z` or `±HH:MM`), whole signed amounts without `+` or leading zeros, fees as
digits, and text fields without edge whitespace (read_csv strips it, COPY keeps it),
without line breaks and without a quote inside an unquoted field (the two CSV readers
differ on those). A payment's reference (a positive amount) is empty or PayGov's own
`PG…`, so the database may take it as the line's txn_ref; anything else (a refund id, a
memo to search) is left to Python. Whatever falls outside raises `NotCopyable` and the
caller reads the file with `read_csv` instead: strict here costs speed, never an answer.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from typing import BinaryIO, Final

from bank_adapters.statements.mappings import PAYGOV_STATEMENT_COLUMNS

CHUNK: Final = 1 << 20  # bytes read at a time
LONGEST_ROW: Final = 1 << 16  # a row longer than this is left to read_csv
HEADER: Final = ",".join(PAYGOV_STATEMENT_COLUMNS)

_TIME = (
    r"[12]\d{3}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d{1,6})?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)"
)
_CREDIT = r"[1-9]\d{0,17}"
_NOT_CREDIT = r"(?:-[1-9]\d{0,17}|0)"
_OUR_REF = r"(?:PG[0-9A-Z]{14})?"
_EDGE = r'[^\s",]'  # a field's first and last character: no space, quote or comma
_UNQUOTED = rf'(?:{_EDGE}(?:[^",\r\n]*{_EDGE})?)?'
_QUOTED_EDGE = r'(?:[^\s"]|"")'
_QUOTED = rf'"(?:{_QUOTED_EDGE}(?:(?:[^"\r\n]|"")*{_QUOTED_EDGE})?)?"'
_TEXT = rf"(?:{_UNQUOTED}|{_QUOTED})"
_FEE = r"(?:0|[1-9]\d{0,17})"
_ROW = rf"{_TIME},(?:{_CREDIT},{_OUR_REF}|{_NOT_CREDIT},{_TEXT}),{_TEXT},{_TEXT},{_FEE}"
ROWS: Final = re.compile(rf"(?:{_ROW}\r?\n)*")
LAST_ROW: Final = re.compile(rf"{_ROW}(?:\r?\n)*|(?:\r?\n)*")


class NotCopyable(Exception):
    """The file is not written the plain way (`where` says what first was not)."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def copy_chunks(stream: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    """The rows after the header, as UTF-8 chunks of whole rows; NotCopyable at the first
    text outside the grammar (the chunks yielded before it must then be thrown away)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        head = decoder.decode(stream.readline(LONGEST_ROW))
        if head.rstrip("\r\n") != HEADER or not head.endswith("\n"):
            raise NotCopyable("the header is not PayGov's, in its order")
        carry = ""
        while chunk := stream.read(size):
            text = carry + decoder.decode(chunk)
            end = ROWS.match(text).end()  # type: ignore[union-attr]  # matches "" at least
            if end == 0 and len(text) > LONGEST_ROW:
                raise NotCopyable("a row outside the plain grammar")
            carry = text[end:]
            if end:
                yield text[:end].encode()
        carry += decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise NotCopyable("not UTF-8") from None
    if not LAST_ROW.fullmatch(carry):
        raise NotCopyable("a row outside the plain grammar")
    if last := carry.rstrip("\r\n"):  # trailing empty lines: read_csv skips them
        yield last.encode()
