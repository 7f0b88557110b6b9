"""Rejects reports: one CSV per imported file, listing each rejected row and why.

Crime and track imports both write them. A report is named after the file and the second it was
written, and is created exclusively, so it never replaces another: two files of one name
(``street.csv`` in two forces' folders, ``OUT-1.csv`` from two days' folders) imported within a
second wrote one report, the second overwriting the first, and the first file's summary pointed
at the other file's rejected rows. A taken name gets ``-1``, ``-2`` ...
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd


def write_report(table: pd.DataFrame, out_dir: Path, name: str) -> Path:
    """Write ``table`` as ``out_dir/<name>.<stamp>[-n].rejects.csv``; returns its path. Creates
    ``out_dir``; an OSError (the folder is a file, or not writable) is the caller's to report."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    n = 0
    while True:
        path = out_dir / f"{name}.{stamp}{f'-{n}' if n else ''}.rejects.csv"
        try:
            with path.open("x", newline="", encoding="utf-8") as fh:
                table.to_csv(fh, index=False)
            return path
        except FileExistsError:
            n += 1
