"""Reading delimited text the way real exports arrive: BOMs, cp1252, CRLF, empty files."""

from __future__ import annotations

import codecs
import io
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import FatalImportError


def decode(raw: bytes, name: str) -> str:
    """UTF-8 (with or without BOM) first; Windows-1252 (Excel's 'CSV') as the fallback."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise FatalImportError(
                name, "text is neither UTF-8 nor Windows-1252: save it as UTF-8 CSV"
            ) from exc


def read_csv_text(raw: bytes, name: str) -> pd.DataFrame:
    """Every cell as a string ('' for blank), header kept verbatim (stripped of spaces)."""
    if not raw.strip():
        raise FatalImportError(name, "file is empty (0 rows, no header): nothing imported")
    text = decode(raw, name)
    try:
        df = pd.read_csv(
            io.StringIO(text), dtype=object, keep_default_na=False, na_filter=False, engine="c"
        )
    except pd.errors.ParserError as exc:
        raise FatalImportError(name, f"not a readable CSV file: {exc}") from exc
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise FatalImportError(str(path), "file not found") from exc
    except IsADirectoryError as exc:
        raise FatalImportError(str(path), "is a folder, not a file") from exc
    except OSError as exc:
        raise FatalImportError(str(path), f"cannot read: {exc.strerror}") from exc


Opener = Callable[[], IO[bytes]]


def detect_encoding(open_fn: Opener, name: str) -> str:
    """'utf-8-sig' if the whole stream is valid UTF-8, else 'cp1252'; read in blocks, not at once."""
    dec = codecs.getincrementaldecoder("utf-8")()
    with open_fn() as fh:
        try:
            while block := fh.read(1 << 22):
                dec.decode(block)
            dec.decode(b"", final=True)
            return "utf-8-sig"
        except UnicodeDecodeError:
            pass
    with open_fn() as fh:
        cp = codecs.getincrementaldecoder("cp1252")()
        try:
            while block := fh.read(1 << 22):
                cp.decode(block)
        except UnicodeDecodeError as exc:
            raise FatalImportError(
                name, "text is neither UTF-8 nor Windows-1252: save it as UTF-8 CSV"
            ) from exc
    return "cp1252"


def iter_csv_tables(open_fn: Opener, name: str, chunk_rows: int) -> Iterator[pa.Table]:
    """Chunks of about ``chunk_rows`` rows of a CSV as Arrow tables of strings ('' for blank).

    Arrow's reader parses in C++ on a background thread, several times faster than pandas' C
    parser into Python strings, and streams, so memory stays bounded on big files. Header names
    are stripped of spaces. A header-only file gives one empty table (so its columns are still
    checked). A row with more or fewer fields than the header is a broken file: one clear line.
    """
    with open_fn() as fh:
        head = fh.read(1 << 16)
    if not head.strip():
        raise FatalImportError(name, "file is empty (0 rows, no header): nothing imported")
    enc = detect_encoding(open_fn, name)
    arrow_enc = "utf8" if enc == "utf-8-sig" else enc
    bad: list[str] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        bad.append(
            f"a row has {row.actual_columns} fields where the header has {row.expected_columns}: "
            f"{row.text[:80]!r}"
        )
        return "error"

    parse = pacsv.ParseOptions(invalid_row_handler=on_invalid)
    try:
        with open_fn() as fh:
            names = pacsv.open_csv(
                fh, read_options=pacsv.ReadOptions(encoding=arrow_enc), parse_options=parse
            ).schema.names
        stripped = [str(c).strip() for c in names]
        read = pacsv.ReadOptions(
            encoding=arrow_enc, block_size=1 << 22, column_names=stripped, skip_rows=1
        )
        convert = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in stripped},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        with open_fn() as fh:
            reader = pacsv.open_csv(
                fh, read_options=read, parse_options=parse, convert_options=convert
            )
            pending = pa.Table.from_batches([], schema=reader.schema)
            sent = False
            for batch in reader:
                pending = pa.concat_tables([pending, pa.Table.from_batches([batch])])
                while pending.num_rows >= chunk_rows:
                    yield pending.slice(0, chunk_rows)
                    pending = pending.slice(chunk_rows)
                    sent = True
            if pending.num_rows or not sent:
                yield pending
    except pa.ArrowInvalid as exc:
        why = bad[0] if bad else str(exc).removeprefix("CSV parse error: ")
        if "Empty CSV file" in str(exc):
            raise FatalImportError(name, "file has no header row") from exc
        raise FatalImportError(name, f"not a readable CSV file: {why}") from exc


def iter_csv_chunks(open_fn: Opener, name: str, chunksize: int) -> Iterator[pd.DataFrame]:
    """Chunks of a CSV as strings ('' for blank), so memory stays bounded on big files."""
    with open_fn() as fh:
        head = fh.read(1 << 16)
    if not head.strip():
        raise FatalImportError(name, "file is empty (0 rows, no header): nothing imported")
    enc = detect_encoding(open_fn, name)
    with open_fn() as fh:
        text = io.TextIOWrapper(fh, encoding=enc, newline="")
        try:
            reader = pd.read_csv(
                text,
                dtype=object,
                keep_default_na=False,
                na_filter=False,
                engine="c",
                chunksize=chunksize,
            )
            for chunk in reader:
                chunk.columns = [str(c).strip() for c in chunk.columns]
                yield chunk
        except pd.errors.ParserError as exc:
            raise FatalImportError(name, f"not a readable CSV file: {exc}") from exc
        except pd.errors.EmptyDataError as exc:
            raise FatalImportError(name, "file has no header row") from exc
