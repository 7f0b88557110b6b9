"""What a tired analyst types: wrong files, folders for files, reversed dates, typos.

Each case once ended in a Python traceback, a misleading message or a silent success; each must
now be one clear error (an InputError the CLI's main() prints as one line, exit 2), with
nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_evaluate_out_that_is_a_file_is_refused_before_the_analysis(
    sqlite_url: str, tmp_path: Path
) -> None:
    """--out naming a file (or a folder under one) ended in a FileExistsError traceback once
    the analysis had run; it is now refused first, and the file is left as it was."""
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    for out in (f, f / "sub"):
        for args in (
            [
                "evaluate",
                "before-after",
                "--before",
                "2022-03:2022-12",
                "--during",
                "2023-01:2023-06",
            ],
            ["evaluate", "validate", "--trials", "1"],
        ):
            r = CliRunner().invoke(app, ["--db", sqlite_url, *args, "--out", str(out)])
            assert isinstance(r.exception, InputError), (args, r.exception)
            assert str(r.exception).startswith(f"--out {out}")
    assert f.read_text() == "keep me"


def test_evaluate_input_file_that_is_a_folder_is_one_line(tmp_path: Path) -> None:
    """--assignment naming a folder raised pandas' IsADirectoryError, a traceback."""
    from patrolwise.cli.evaluate import _read_assignment

    with pytest.raises(InputError, match="is a folder: give the assignment CSV"):
        _read_assignment(tmp_path)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # no --top: nothing is selected, and the command succeeded with no file written
        ([], "--out writes the selected hot spots: give --top N"),
        # checked only after --out was written, with nothing stored
        (["--top", "3", "--active-from", "2024-02-30"], "--active-from '2024-02-30' is not a date"),
        (
            ["--top", "3", "--active-from", "2024-03-01", "--active-to", "2024-02-01"],
            "never active",
        ),
    ],
)
def test_hotspots_find_refuses_bad_output_options_before_any_work(
    sqlite_url: str, tmp_path: Path, extra: list[str], message: str
) -> None:
    out = tmp_path / "hs.geojson"
    r = CliRunner().invoke(app, ["--db", sqlite_url, "hotspots", "find", "--out", str(out), *extra])
    assert isinstance(r.exception, InputError), r.exception
    assert message in str(r.exception)
    assert not out.exists()


def test_devices_add_refuses_a_service_that_ends_before_it_starts(sqlite_url: str) -> None:
    """`devices add --from 2024-03-01 --to 2024-01-01` registered a device never in service,
    which no command could mend (`devices assign` refuses such dates)."""
    from patrolwise.store.devices import get_device

    r = CliRunner().invoke(
        app,
        ["--db", sqlite_url, "devices", "add", "X1", "--team", "outreach"]
        + ["--from", "2024-03-01", "--to", "2024-01-01"],
    )
    assert isinstance(r.exception, InputError), r.exception
    assert "--to 2024-01-01 is before --from 2024-03-01" in str(r.exception)
    assert get_device(Store(sqlite_url), "X1") is None


def test_rates_add_takes_only_known_teams(sqlite_url: str) -> None:
    """A team typed 'Outreach' was stored as another team: the outreach rate stayed open and
    the new one never costed a minute; 'polce' was stored without a word."""
    from patrolwise.store.rates import load_rates

    db = ["--db", sqlite_url, "rates", "add"]
    r = CliRunner().invoke(app, [*db, "outreach", "2", "--from", "2023-01-01"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, [*db, "Outreach", "3", "--from", "2024-01-01"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(app, [*db, "polce", "3", "--from", "2024-01-01"])
    assert isinstance(r.exception, InputError), r.exception
    assert "team 'polce' is not one of outreach, police" in str(r.exception)
    rates = load_rates(Store(sqlite_url)).sort_values("effective_from")
    assert list(rates["team"]) == ["outreach", "outreach"]
    assert str(rates["effective_to"].iloc[0])[:10] == "2023-12-31"


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("postgress://me@db/patrol", "its scheme 'postgress' is not supported"),
        ("postgresql://me:s3cret@db:port/patrol", "it is malformed"),
        # the scheme left out: it was taken as a SQLite file name and shown whole
        ("me:s3cret@db/patrol", "without its scheme"),
        # an '@' in the password not written as %40: its tail was shown as the host
        ("postgresql://me:s3cret@x@db/patrol", "write an '@' in the user name or password as %40"),
    ],
)
def test_a_mistyped_database_url_is_one_line_without_its_password(url: str, why: str) -> None:
    """A --db with an unknown scheme or a bad port was a SQLAlchemy traceback."""
    from patrolwise.errors import StoreError

    r = CliRunner().invoke(app, ["--db", url, "harm", "list"])
    assert isinstance(r.exception, StoreError), r.exception
    assert why in str(r.exception)
    assert "s3cret" not in str(r.exception) and "x@db" not in str(r.exception)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--min-visit", "-1", "--min-visit must be 0 minutes or more, got -1"),
        ("--max-gap", "0", "--max-gap must be more than 0 minutes, got 0"),
    ],
)
def test_dosage_limits_are_answered_in_the_minutes_given(
    sqlite_url: str, option: str, value: str, message: str
) -> None:
    """'--min-visit -1' (minutes) was refused as 'got -60.0 s'."""
    r = CliRunner().invoke(app, ["--db", sqlite_url, "dosage", option, value])
    assert isinstance(r.exception, InputError), r.exception
    assert str(r.exception) == message


def test_evaluate_patrol_days_checks_the_team(sqlite_url: str) -> None:
    """A mistyped --team ran the analysis with no team's minutes and reported an effect."""
    r = CliRunner().invoke(
        app,
        ["--db", sqlite_url, "evaluate", "patrol-days", "--start", "2023-02-06"]
        + ["--end", "2023-02-19", "--team", "outreech"],
    )
    assert isinstance(r.exception, InputError), r.exception
    assert "team 'outreech' is not one of outreach, police" in str(r.exception)


def test_a_database_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    """The error carried SQLAlchemy's second line '(Background on this error at: ...)'."""
    from patrolwise.errors import StoreError

    url = f"sqlite:///{tmp_path / 'no such folder' / 'x.db'}"
    r = CliRunner().invoke(app, ["--db", url, "harm", "list"])
    assert isinstance(r.exception, StoreError), r.exception
    assert str(r.exception).endswith(": unable to open database file")
    assert "\n" not in str(r.exception)


def test_a_fatal_import_error_is_exactly_one_line_on_a_pipe(
    sqlite_url: str, tmp_path: Path
) -> None:
    """Run as a script runs it (stderr a pipe, not a terminal): the transient progress bar,
    which Rich cannot redraw there, left a blank line above the one 'error:' line; on a pipe no
    bar is drawn at all (crime and track imports, and the validation study, share it)."""
    import subprocess
    import sys

    bad = tmp_path / "bad.csv"
    bad.write_text("foo\n")
    r = subprocess.run(
        [sys.executable, "-m", "patrolwise.cli", "--db", sqlite_url, "import", "crimes", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert r.stderr.splitlines() == [
        f"error: {bad}: missing column for the occurrence date-time (occurred, or "
        "occurred_from/occurred_to): use --map occurred=<your column>"
    ], r.stderr


def test_a_negative_rate_is_refused_as_a_rate_not_as_an_unknown_option(sqlite_url: str) -> None:
    """'rates add outreach -2.28' was read as an option '-2' and answered with Click's usage box
    ('No such option: -2'); the amount now reaches the rate check, which says what is wrong."""
    r = CliRunner().invoke(
        app, ["--db", sqlite_url, "rates", "add", "outreach", "-2.28", "--from", "2024-01-01"]
    )
    assert isinstance(r.exception, InputError), r.output
    assert "rate amount for team 'outreach' must be a number >= 0, got -2.28" in str(r.exception)
    r = CliRunner().invoke(app, ["--db", sqlite_url, "rates", "list"])
    assert r.exit_code == 0 and "-2.28" not in r.output
