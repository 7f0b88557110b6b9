"""What a tired analyst types: wrong files, folders for files, reversed dates, typos.

Each case once ended in a Python traceback, a misleading message or a silent success; each must
now be one clear error (an InputError the CLI's main() prints as one line, exit 2), with
nothing written."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from patrolwise.cli import app
from patrolwise.errors import InputError
from patrolwise.store import Store
from patrolwise.store.harm_tables import list_tables


def test_import_harm_header_only_is_refused_not_a_traceback(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A harm CSV with its header and no rows failed in save_table with a pandas TypeError."""
    t = tmp_path / "harm.csv"
    t.write_text("Offence,days\n")
    args = ["--key-column", "Offence", "--harm-column", "days", "--name", "x", "--version", "1"]
    r = CliRunner().invoke(app, ["--db", sqlite_url, "import", "harm", str(t), *args])
    assert isinstance(r.exception, InputError), r.exception
    assert "no row has a usable key in column 'Offence'" in str(r.exception)
    assert list_tables(Store(sqlite_url)).empty  # nothing stored
