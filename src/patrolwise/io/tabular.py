"""Reading delimited text the way real exports arrive: BOMs, cp1252, CRLF, empty files."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

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
