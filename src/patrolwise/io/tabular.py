"""Reading delimited text the way real exports arrive: BOMs, cp1252, CRLF, empty files."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ..errors import FatalImportError


def _utf16(head: bytes) -> bool:
    """Starts with a UTF-16 byte order mark (Excel's 'Unicode text', some database exports)."""
    return head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def decode(raw: bytes, name: str) -> str:
    """UTF-16 when it starts with its byte order mark; else UTF-8 (with or without BOM) first,
    Windows-1252 (Excel's 'CSV') as the fallback."""
    if _utf16(raw):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FatalImportError(name, f"starts as UTF-16 but is not: {exc.reason}") from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise FatalImportError(
                name, "text is neither UTF-8 nor Windows-1252: save it as UTF-8 CSV"
            ) from exc


def sniff_delimiter(text: str) -> str:
    """The field separator of a delimited text: ',' unless the header line (the first that is
    not blank) holds more semicolons or tabs than commas.

    Excel in most of Europe saves 'CSV' with semicolons (and decimal commas), and .tsv exports
    use tabs; read with commas either became one column and the file was refused for lacking
    columns it had.
    """
    for line in text.splitlines():
        if line.strip():
            counts = {sep: line.count(sep) for sep in (",", ";", "\t")}
            best = max(counts, key=lambda k: counts[k])
            return best if counts[best] > counts[","] else ","
    return ","


#: separators of files whose numbers may have a decimal comma (``52,6345``): Excel in most of
#: Europe saves 'CSV' with semicolons because the comma is its decimal separator, and a tab-separated
#: export from such a locale writes its numbers the same way. In a comma-separated file a comma is
#: the separator, so a number never has one (a quoted ``"52,63"`` there is not a number)
DECIMAL_COMMA_SEPARATORS = (";", "\t")
_DECIMAL_COMMA = r"^[+-]?\d+,\d+$"
_MANY_COMMAS = "more than one ',' (a decimal comma is written once, as in 52,6345)"
_POINT_AND_COMMA = (
    "both '.' and ',' (a thousands separator?): write it with a decimal comma and no "
    "thousands separator, as 1234,5"
)


def has_decimal_comma(delimiter: str) -> bool:
    """Whether numbers in a file with this separator may be written with a decimal comma."""
    return delimiter in DECIMAL_COMMA_SEPARATORS


@dataclass
class Numbers:
    """Text read as numbers (see :func:`read_numbers`)."""

    #: each value as a float, NaN where it is not a number (``inf`` is read: callers refuse it)
    values: np.ndarray
    #: why a value with a comma is no number ('' where read, or where nothing more can be said)
    why: np.ndarray
    #: the text with each decimal comma read written as a point (``52,6345`` -> ``52.6345``),
    #: anything else as given: what a comma-separated twin of the file holds, for row hashes
    text: np.ndarray


def read_numbers(text: pd.Series | np.ndarray, *, decimal_comma: bool) -> Numbers:
    """Numbers written as text, on whole columns (no Python per value).

    Written as pandas reads them (``52.6345``, ``-1.13``, ``458123``; spaces around are
    ignored). With ``decimal_comma`` (a file separated by semicolons or tabs,
    :func:`has_decimal_comma`), a number with one comma between digits and no point is a decimal
    (``52,6345`` is 52.6345, ``458123,5`` is 458123.5); a point alone is still a decimal point,
    as such files written by other tools have it. Strict, so no value is read two ways: a
    thousands separator (``1.234,5``, ``1,234,5``) is not read (a ``1.234`` in the same column
    would be 1.234), nor a comma not between digits (``52,``, ``,5``); ``why`` says which of
    these a value was.
    """
    given = np.asarray(text, dtype=object)  # text cells: object arrays of str, as readers hold
    why = np.full(len(given), "", dtype=object)
    scan = _scan_commas(given) if decimal_comma else None
    if scan is None:
        return Numbers(_to_floats(given), why, given)
    arr, comma, sc, ok = scan
    # pandas is slow on what it cannot read (an exception per value): it reads no comma
    values = np.full(len(given), np.nan)
    values[~comma] = _to_floats(given[~comma])
    idx = np.flatnonzero(comma)
    if ok.any():
        pointed = pc.replace_substring(sc.filter(pa.array(ok)), ",", ".")
        # pandas reads the pointed text, as it reads a comma-separated twin's: the same floats
        values[idx[ok]] = _to_floats(pointed.to_numpy(zero_copy_only=False))
    many = ~ok & (pc.count_substring(sc, ",").to_numpy(zero_copy_only=False) > 1)
    point = ~ok & ~many & pc.match_substring(sc, ".").to_numpy(zero_copy_only=False)
    why[idx[many]] = _MANY_COMMAS
    why[idx[point]] = _POINT_AND_COMMA
    return Numbers(values, why, _pointed(given, arr, comma, ok))


def point_decimal_commas(text: pd.Series | np.ndarray) -> np.ndarray:
    """The text with each decimal comma :func:`read_numbers` reads written as a point
    (``52,6345`` -> ``52.6345``, spaces around kept), anything else as given: what the file's
    comma-separated twin holds, for row hashes."""
    given = np.asarray(text, dtype=object)
    scan = _scan_commas(given)
    return given if scan is None else _pointed(given, scan[0], scan[1], scan[3])


def _scan_commas(
    given: np.ndarray,
) -> tuple[pa.Array, np.ndarray, pa.Array, np.ndarray] | None:
    """(the text as Arrow, which values hold a comma, those values stripped, which of them are
    a decimal comma), or None when none holds a comma. Arrow's string kernels: pandas' ``.str``
    methods on object columns run Python per value."""
    if not len(given):
        return None
    try:
        arr = pa.array(given, type=pa.string(), from_pandas=True)
    except (pa.ArrowTypeError, pa.ArrowInvalid):  # not all str: read as their text
        arr = pa.array(pd.Series(given, dtype=object).astype(str), type=pa.string())
    comma = pc.fill_null(pc.match_substring(arr, ","), False).to_numpy(zero_copy_only=False)
    if not comma.any():
        return None
    sc = pc.utf8_trim_whitespace(arr.filter(comma))
    ok = pc.match_substring_regex(sc, _DECIMAL_COMMA).to_numpy(zero_copy_only=False)
    return arr, comma, sc, ok


def _pointed(given: np.ndarray, arr: pa.Array, comma: np.ndarray, ok: np.ndarray) -> np.ndarray:
    if not ok.any():
        return given
    out = given.copy()
    as_given = pc.replace_substring(arr.filter(comma).filter(pa.array(ok)), ",", ".")
    out[np.flatnonzero(comma)[ok]] = as_given.to_numpy(zero_copy_only=False)
    return out


def _to_floats(text: np.ndarray) -> np.ndarray:
    """Text as pandas reads it as numbers (NaN where it cannot), in a writable array."""
    return np.array(pd.to_numeric(pd.Series(text, dtype=object), errors="coerce"), dtype=float)


def not_a_number(noun: str, why: np.ndarray | None) -> str | np.ndarray:
    """Reasons for rejecting values that are no number: '<noun> is not a number', followed by
    what :func:`read_numbers` could say of a value with a comma (one reason when it has nothing
    to say of any)."""
    base = f"{noun} is not a number"
    if why is None:
        return base
    said = why != ""
    if not said.any():
        return base
    return np.where(said, base + ": " + why.astype(object), base).astype(object)


def read_csv_text(raw: bytes, name: str) -> pd.DataFrame:
    """Every cell as a string ('' for blank), header kept verbatim (stripped of spaces); the
    separator is sniffed (:func:`sniff_delimiter`)."""
    if not raw.strip():
        raise FatalImportError(name, "file is empty (0 rows, no header): nothing imported")
    text = decode(raw, name)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sniff_delimiter(text[:65536]),
            dtype=object,
            keep_default_na=False,
            na_filter=False,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        raise FatalImportError(name, f"not a readable CSV file: {exc}") from exc
    if not isinstance(df.index, pd.RangeIndex):
        # the first data row has more fields than the header: pandas then takes the extra
        # leading columns as the index and shifts every row's values one column along; refuse
        # that reading as it refuses a longer row further down (callers find the row)
        err = pd.errors.ParserError("the first data row has more fields than the header")
        raise FatalImportError(name, f"not a readable CSV file: {err}") from err
    df.columns = [str(c).strip() for c in df.columns]
    return df


def data_row_lines(text: str, n_rows: int) -> np.ndarray:
    """The line number of each of the ``n_rows`` data rows pandas read from ``text``.

    pandas skips blank (and whitespace-only) lines, before the header and between rows, so
    numbering rows by position put every row after a blank line a line too early in a rejects
    report. Counting line ends is enough when there is no blank line (the usual case); else the
    non-blank lines are numbered. If that does not give one line per row (a quoted value spans
    lines), rows are numbered by position after the header, as before.
    """
    flat = text if "\r" not in text else text.replace("\r\n", "\n").replace("\r", "\n")
    n_lines = flat.count("\n") + (0 if not flat or flat.endswith("\n") else 1)
    by_position = np.arange(n_rows, dtype=np.int64) + 2
    if n_lines == n_rows + 1:
        return by_position
    nonblank = [i for i, line in enumerate(flat.split("\n"), start=1) if line.strip()]
    if len(nonblank) == n_rows + 1:
        return np.asarray(nonblank[1:], dtype=np.int64)
    return by_position


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


def read_header(open_fn: Opener, name: str) -> list[str]:
    """The header row's column names (stripped), from the start of the stream only.

    For checking every input of a run before any is written; an empty stream has none.
    """
    block = 1 << 16
    with open_fn() as fh:
        head = fh.read(block)
    if not head.strip():
        return []
    text = _head_text(head, name, cut=len(head) == block).lstrip("\ufeff")
    row = next(csv.reader(io.StringIO(text), delimiter=sniff_delimiter(text)), [])
    return [c.strip() for c in row]


#: the first bytes of files people pick by mistake for a CSV, and what to call them
_NOT_TEXT = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx workbook is one: save the sheet as CSV)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook: save the sheet as CSV"),
    (b"\x1f\x8b", "a gzip archive: unpack it first"),
)


def refuse_not_text(head: bytes, name: str) -> None:
    """Refuse a file whose first bytes say it is no text at all, naming what it is: a PNG read
    as Windows-1252 gave a 'header' of noise, and the error said a date-time column was missing
    and to use --map."""
    for magic, what in _NOT_TEXT:
        if head.startswith(magic):
            raise FatalImportError(name, f"not a CSV file: it is {what}")


def _head_text(head: bytes, name: str, *, cut: bool) -> str:
    """The first bytes of a stream as text, for its header line (and separator)."""
    refuse_not_text(head, name)
    if _utf16(head):  # only the header line is wanted: a character cut at the end is no matter
        return head.decode("utf-16", errors="replace")
    return _decode_head(head, name, cut=cut)


def _decode_head(head: bytes, name: str, *, cut: bool) -> str:
    """The first bytes of a UTF-8 or Windows-1252 stream as text. When the block was ``cut``
    from a longer stream, a multi-byte character split at its end is left out rather than
    taken as a sign of Windows-1252."""
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if cut and exc.start >= len(head) - 3:
            return _decode_head(head[: exc.start], name, cut=False)
    return decode(head, name)


def _decode_error(open_fn: Opener, codec: str) -> UnicodeDecodeError | None:
    """Why the whole stream is not valid ``codec`` text (None: it is), read in blocks.

    A block of plain ASCII is valid UTF-8 and Windows-1252 as it is, and ``bytes.isascii`` says
    so without decoding it, when no multi-byte character is left open from the block before:
    decoding every block made ~0.4 s of Python text out of a 232 MB police.uk file before its
    first row was read.
    """
    dec = codecs.getincrementaldecoder(codec)()
    ascii_ok = codec in ("utf-8", "cp1252")
    with open_fn() as fh:
        try:
            while block := fh.read(1 << 22):
                if ascii_ok and block.isascii() and not dec.getstate()[0]:
                    continue
                dec.decode(block)
            dec.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            return exc
    return None


def detect_encoding(open_fn: Opener, name: str) -> str:
    """'utf-16' for a stream starting with its byte order mark, else 'utf-8-sig' if the whole
    stream is valid UTF-8, else 'cp1252'; read in blocks, not at once."""
    with open_fn() as fh:
        bom16 = _utf16(fh.read(2))
    if bom16:
        if (err := _decode_error(open_fn, "utf-16")) is not None:
            raise FatalImportError(name, f"starts as UTF-16 but is not: {err.reason}") from err
        return "utf-16"
    if _decode_error(open_fn, "utf-8") is None:
        return "utf-8-sig"
    if (err := _decode_error(open_fn, "cp1252")) is not None:
        raise FatalImportError(
            name, "text is neither UTF-8 nor Windows-1252: save it as UTF-8 CSV"
        ) from err
    return "cp1252"


def unique_names(names: list[str]) -> list[str]:
    """Header names made unique as pandas makes them: a name's second use becomes ``name.1``.

    A header naming a column twice (two 'Notes' columns of a spreadsheet) stopped Arrow's
    reader ('Field exists 2 times') and made a column lookup return a frame; the first use keeps
    the name, so required columns are found as before.
    """
    out: list[str] = []
    given, used = set(names), set()
    for n in names:
        name, k = n, 0
        # a made-up name never takes one the header itself uses ('Notes.1' given later on)
        while name in used or (k and name in given):
            k += 1
            name = f"{n}.{k}"
        used.add(name)
        out.append(name)
    return out


def _blank_rows(table: pa.Table) -> np.ndarray:
    """Rows whose every field is empty (all columns are non-null text)."""
    blank = pc.equal(table.column(0), "")
    for i in range(1, table.num_columns):
        if not pc.any(blank).as_py():
            break
        blank = pc.and_(blank, pc.equal(table.column(i), ""))
    return np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)


@dataclass
class CsvChunk:
    """Rows of a CSV as an Arrow table of strings, their row numbers, and rows too broken to read.

    Row numbers are the line a person sees in a spreadsheet (header row 1). ``broken`` holds
    (row number, reason) for rows with more or fewer fields than the header: they are rejected
    and reported, and the rows around them still import.
    """

    table: pa.Table
    rows: np.ndarray
    broken: list[tuple[int, str]]
    #: the file's separator (sniffed from its header): after ';' or a tab a number may have a
    #: decimal comma (:func:`has_decimal_comma`)
    delimiter: str = ","


def iter_csv_tables(open_fn: Opener, name: str, chunk_rows: int) -> Iterator[CsvChunk]:
    """Chunks of about ``chunk_rows`` rows of a CSV, as :class:`CsvChunk`.

    Arrow's streaming reader parses in C++ (several times faster than pandas' C parser into
    Python strings) and memory stays bounded on big files. It runs single-threaded because only
    then does it tell the line number of a broken row, which we need to report it. Header names
    are stripped of spaces. A header-only file gives one empty chunk (so its columns are still
    checked). Row numbers count records, so they equal line numbers unless a quoted value spans
    lines. The separator (comma, semicolon or tab) is sniffed from the header line, as for track
    files (:func:`sniff_delimiter`): a European Excel export with semicolons read as one column
    and was refused for lacking every column it had.
    """
    block = 1 << 16
    with open_fn() as fh:
        head = fh.read(block)
    if not head.strip():
        raise FatalImportError(name, "file is empty (0 rows, no header): nothing imported")
    delimiter = sniff_delimiter(_head_text(head, name, cut=len(head) == block))
    enc = detect_encoding(open_fn, name)
    arrow_enc = "utf8" if enc == "utf-8-sig" else enc
    broken: list[tuple[int, str]] = []
    unnumbered: list[str] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        why = (
            f"the row has {row.actual_columns} fields where the header has "
            f"{row.expected_columns}: {row.text[:80]!r}"
        )
        if row.number is None:  # pragma: no cover - the single-threaded reader numbers rows
            unnumbered.append(why)
            return "error"
        broken.append((int(row.number), why))
        return "skip"

    # empty lines are read as rows (of blank fields), not skipped unseen, so the rows after them
    # keep their numbers; blank rows are then dropped in ``numbered``
    parse = pacsv.ParseOptions(
        delimiter=delimiter, invalid_row_handler=on_invalid, ignore_empty_lines=False
    )
    try:
        with open_fn() as fh:
            names = pacsv.open_csv(
                fh,
                read_options=pacsv.ReadOptions(encoding=arrow_enc, use_threads=False),
                # only the header is wanted here; broken rows are reported by the real read
                parse_options=pacsv.ParseOptions(
                    delimiter=delimiter, invalid_row_handler=lambda _row: "skip"
                ),
            ).schema.names
        stripped = unique_names([str(c).strip() for c in names])
        read = pacsv.ReadOptions(
            encoding=arrow_enc,
            block_size=1 << 22,
            column_names=stripped,
            skip_rows=1,
            use_threads=False,
        )
        convert = pacsv.ConvertOptions(
            column_types={c: pa.string() for c in stripped},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        next_row = 2  # the first record's row number
        skipped: set[int] = set()

        def numbered(table: pa.Table) -> CsvChunk:
            """Number the chunk's rows past the broken rows reported so far, and hand those on.

            Blank rows (an empty line, or only separators: a spreadsheet's empty row) are no
            record: they take their row number, so the rows after them keep theirs, and are
            dropped (neither read nor rejected).
            """
            nonlocal next_row
            new = [b for b in broken if b[0] not in skipped]
            skipped.update(r for r, _ in new)
            n = table.num_rows
            span = np.arange(next_row, next_row + n + len(skipped) + 1)
            rows = span[~np.isin(span, np.fromiter(skipped, dtype=np.int64))][:n]
            if n:
                next_row = int(rows[-1]) + 1
                blank = _blank_rows(table)
                if blank.any():
                    table, rows = table.filter(pa.array(~blank)), rows[~blank]
            return CsvChunk(table, rows, new, delimiter)

        with open_fn() as fh:
            reader = pacsv.open_csv(
                fh, read_options=read, parse_options=parse, convert_options=convert
            )
            pending = pa.Table.from_batches([], schema=reader.schema)
            sent = False
            for batch in reader:
                pending = pa.concat_tables([pending, pa.Table.from_batches([batch])])
                while pending.num_rows >= chunk_rows:
                    yield numbered(pending.slice(0, chunk_rows))
                    pending = pending.slice(chunk_rows)
                    sent = True
            if pending.num_rows or not sent or len(skipped) < len(broken):
                yield numbered(pending)
    except pa.ArrowInvalid as exc:
        why = unnumbered[0] if unnumbered else str(exc).removeprefix("CSV parse error: ")
        if "Empty CSV file" in str(exc):
            raise FatalImportError(name, "file has no header row") from exc
        raise FatalImportError(name, f"not a readable CSV file: {why}") from exc
