"""Reading CSV text: which encoding (the whole stream is checked, block by block), and chunks."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from patrolwise.errors import FatalImportError
from patrolwise.io.tabular import detect_encoding

BLOCK = 1 << 22  # the reader's block: where a character may be cut in two


def _detect(data: bytes) -> str:
    return detect_encoding(lambda: io.BytesIO(data), "x.csv")


@pytest.mark.parametrize("at", [BLOCK - 1, BLOCK - 2, BLOCK, 2 * BLOCK - 1])
def test_a_character_across_a_block_boundary_is_utf8(at: int) -> None:
    # 'é' is two bytes in UTF-8; cut by a block boundary and followed by plain ASCII blocks,
    # which are skipped undecoded only when no character is left open
    body = b"a" * at + "é".encode() + b"b" * (2 * BLOCK)
    assert _detect(body) == "utf-8-sig"


@pytest.mark.parametrize("at", [10, BLOCK - 1, BLOCK, 2 * BLOCK + 5])
def test_a_windows_1252_byte_anywhere_is_found(at: int) -> None:
    # 'é' in Windows-1252 is one byte, no valid UTF-8; after ASCII blocks or before them
    body = b"a" * at + "é".encode("cp1252") + b"b" * BLOCK
    assert _detect(body) == "cp1252"


def test_a_character_left_open_before_an_ascii_block_is_not_utf8() -> None:
    # a UTF-8 lead byte at a block's end, a whole block of ASCII, then a continuation byte:
    # not UTF-8. Skipping the ASCII block undecoded would join the two bytes into 'é'
    body = b"a" * (BLOCK - 1) + b"\xc3" + b"b" * BLOCK + b"\xa9" + b"c" * 10
    assert _detect(body) == "cp1252"


def test_plain_ascii_and_a_text_neither_utf8_nor_1252() -> None:
    assert _detect(b"a,b\n1,2\n" * 1000) == "utf-8-sig"
    # 0x81 is undefined in Windows-1252, and alone it is no UTF-8
    with pytest.raises(FatalImportError, match="neither UTF-8 nor Windows-1252"):
        _detect(b"a" * BLOCK + b"\x81" + b"b" * 10)


def test_csv_chunks_keep_their_row_numbers() -> None:
    # every row keeps its number (the header is row 1) whatever the chunk it falls in
    from patrolwise.io.tabular import iter_csv_tables

    n = 5_000
    data = ("a,b\n" + "".join(f"{i},x\n" for i in range(n))).encode()
    chunks = list(iter_csv_tables(lambda: io.BytesIO(data), "x.csv", 800))
    sizes = [c.table.num_rows for c in chunks]
    assert set(sizes[:-1]) == {800}
    assert sum(sizes) == n
    rows = [r for c in chunks for r in c.rows.tolist()]
    assert rows == list(range(2, n + 2))
    assert [int(v) for c in chunks for v in c.table.column("a").to_pylist()] == list(range(n))


@pytest.mark.parametrize(
    ("head", "what"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        (b"PK\x03\x04\x14\x00\x06\x00", "a ZIP archive (an Excel .xlsx workbook is one"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00", "an Excel 97-2003 workbook"),
    ],
)
def test_a_file_that_is_no_text_is_named_for_what_it_is(
    tmp_path: Path, head: bytes, what: str
) -> None:
    # a PNG picked by mistake was read as Windows-1252 noise, and the import said a date-time
    # column was missing and to use --map
    from patrolwise.io.tabular import read_header
    from patrolwise.store.crime_import import check_columns, sniff_format

    p = tmp_path / "crimes.csv"
    p.write_bytes(head + bytes(range(256)) * 4)
    with pytest.raises(FatalImportError, match=f"not a CSV file: it is {re.escape(what)}"):
        read_header(lambda: p.open("rb"), str(p))
    with pytest.raises(FatalImportError, match="not a CSV file"):
        check_columns(p, sniff_format(p), None)
