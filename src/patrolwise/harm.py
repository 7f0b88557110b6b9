"""Crime harm tables: data, not code, and versioned.

The default table maps police.uk categories to Cambridge Crime Harm Index (CCHI) values in days of
imprisonment equivalent. police.uk publishes 14 broad categories, each covering several Home Office
offence subgroups with very different harm (homicide and common assault are both "Violence and
sexual offences"), so a category value is necessarily an average: we use the mean of the subgroup
CCHI medians weighted by national recorded counts (see docs/harm.md for sources and derivation).
A force with offence-level data should load the official CCHI workbook keyed by Home Office code.

Rules, explicit and recorded with each table:
- Anti-social behaviour has no CCHI value: by default its harm is missing and reported as such
  (``harm_status='asb'``), never a silent zero; a floor can be configured.
- Proactively detected offences (drug and weapon possession found by stop and search) measure police
  activity more than harm; the CCHI authors advise excluding them: ``exclude_proactive``.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import FatalImportError, InputError
from .io.tabular import (
    decode,
    has_decimal_comma,
    read_numbers,
    refuse_not_text,
    sniff_delimiter,
)

DEFAULT_NAME = "cchi-police-uk"
DEFAULT_VERSION = "2026.1"
DEFAULT_SOURCE = (
    "Derived from Cambridge Crime Harm Index 2026 subgroup medians as compiled by "
    "isthisben/cbl-realcrime (data/cchi_weights.csv), weighted by 2024/25 national counts"
)
ASB = "Anti-social behaviour"

#: the longest key of each kind that can match a crime: the length of the crime field it is
#: looked up in (``crime_labels.ho_code``, ``.offence``, ``.category``; crime imports reject
#: longer values, and ``harm_values.key`` holds no more). A test holds these to the store's columns.
KEY_MAX_LENGTH = {"ho_code": 20, "description": 300, "category": 100}
#: how the key kinds are named in messages
KEY_FIELD = {"ho_code": "Home Office code", "description": "offence", "category": "crime type"}
REJECT_COLUMNS = ["row", "field", "value", "reason"]


def overlong_reason(kind: str, length: int) -> str:
    """Why a key of ``length`` characters can never be used (see :data:`KEY_MAX_LENGTH`)."""
    limit = KEY_MAX_LENGTH.get(kind, max(KEY_MAX_LENGTH.values()))
    return (
        f"key is {length} characters, longer than {limit}: no crime's "
        f"{KEY_FIELD.get(kind, kind)} can be that long, so it could never match "
        "(shorten it or leave the row out)"
    )


@dataclass
class HarmRules:
    """How harm is assigned beyond the table lookup."""

    asb_floor: float | None = None
    exclude_proactive: bool = False

    def __post_init__(self) -> None:
        # a negative floor would subtract from every place with anti-social behaviour, and an
        # infinite or NaN one make its harm sums meaningless (as such values in a table would)
        f = self.asb_floor
        if f is not None and not (np.isfinite(f) and f >= 0):
            raise InputError(
                f"--asb-floor {f} must be a number of 0 or more (the harm given to each "
                "anti-social behaviour row), or left out for no harm"
            )

    def as_dict(self) -> dict[str, object]:
        return {"asb_floor": self.asb_floor, "exclude_proactive": self.exclude_proactive}


@dataclass
class HarmTable:
    """A harm table: keys of one or more kinds (category, ho_code, description) to values."""

    name: str
    version: str
    values: pd.DataFrame  # key_kind, key, harm (float, NaN = no value), proactive (bool), note
    unit: str = "days"
    source: str = ""
    rules: HarmRules = field(default_factory=HarmRules)
    #: rows of the source file left out (row, field, value, reason); see :func:`read_table_file`
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=REJECT_COLUMNS))

    def overlong_keys(self) -> pd.DataFrame:
        """The values whose key is longer than :data:`KEY_MAX_LENGTH` allows for its kind."""
        v = self.values
        limit = v["key_kind"].map(KEY_MAX_LENGTH).fillna(max(KEY_MAX_LENGTH.values()))
        return v[v["key"].astype(str).str.len() > limit]

    def _lookup(self, kind: str, keys: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        v = self.values[self.values["key_kind"] == kind]
        norm = v["key"].map(lambda k: normalise_key(k, kind))
        harm_map = dict(zip(norm, v["harm"].astype(float), strict=True))
        pro_map = dict(zip(norm, v["proactive"].astype(bool), strict=True))
        # normalise each distinct key once: a million rows hold a few hundred offences
        codes, uniques = _distinct_keys(keys)
        u = pd.Series(uniques).map(lambda k: normalise_key(k, kind))
        u_found = (u.isin(harm_map.keys()) & (u != "")).to_numpy()
        u_harm = u.map(harm_map).astype(float).to_numpy()
        u_pro = u.map(pro_map).astype(object).fillna(False).astype(bool).to_numpy()
        if len(uniques) == 0:
            n = len(keys)
            return np.zeros(n, dtype=bool), np.full(n, np.nan), np.zeros(n, dtype=bool)
        return u_found[codes], u_harm[codes], u_pro[codes]

    def assign(
        self,
        category: pd.Series,
        ho_code: pd.Series | None = None,
        description: pd.Series | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Harm and status per crime: most specific key first (HO code, description, category).

        Status is ``ok``, ``asb`` (no value for anti-social behaviour), ``excluded`` (proactive,
        excluded by rule) or ``missing`` (offence not in the table: counted and reported).
        """
        n = len(category)
        harm = np.full(n, np.nan)
        pro = np.zeros(n, dtype=bool)
        done = np.zeros(n, dtype=bool)
        for kind, keys in (
            ("ho_code", ho_code),
            ("description", description),
            ("category", category),
        ):
            if keys is None or (kind != "category" and bool(keys.isna().all())):
                continue  # police.uk rows have no HO code or offence text: nothing to look up
            found, h, p = self._lookup(kind, keys.reset_index(drop=True))
            take = found & ~done
            harm[take] = h[take]
            pro[take] = p[take]
            done |= take
        status = np.full(n, "ok", dtype=object)
        c_codes, c_uniques = _distinct_keys(category)
        is_asb = (np.asarray(c_uniques, dtype=object) == ASB)[c_codes] if n else np.zeros(0, bool)
        status[~done] = "missing"
        asb_rows = is_asb & (~done | np.isnan(harm))
        status[asb_rows] = "asb"
        harm[asb_rows] = self.rules.asb_floor if self.rules.asb_floor is not None else np.nan
        nan_ok = done & np.isnan(harm) & ~asb_rows
        status[nan_ok] = "missing"
        if self.rules.exclude_proactive:
            status[pro & done] = "excluded"
            harm[pro & done] = np.nan
        return harm, status


def _distinct_keys(keys: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(code per row, distinct keys as text), blank for missing; a categorical is already that."""
    if isinstance(keys.dtype, pd.CategoricalDtype):
        cats = np.append(keys.cat.categories.astype(str).to_numpy(dtype=object), "")
        codes = keys.cat.codes.to_numpy().astype(np.intp)
        return np.where(codes < 0, len(cats) - 1, codes), cats
    codes, uniques = pd.factorize(keys.fillna("").astype(str))
    return codes, np.asarray(uniques, dtype=object)


_DIGITS = re.compile(r"\d+")


def normalise_key(k: object, kind: str = "description") -> str:
    """A key as lookups compare it: case and repeated spaces aside.

    A Home Office code (``kind='ho_code'``) also drops its spaces and each number's leading
    zeros: '8/1', '008/01' and '8 / 01' are one classification (forces and the CCHI workbook
    write them differently), as are '28A' and '028A'; '8/10' and '80/1' stay distinct.
    """
    text = " ".join(str(k).strip().lower().split())
    if kind == "ho_code":
        text = _DIGITS.sub(lambda m: str(int(m.group())), text.replace(" ", ""))
    return text


def default_table(rules: HarmRules | None = None) -> HarmTable:
    """The packaged police.uk category table (CCHI-derived)."""
    with resources.files("patrolwise.data").joinpath("harm_police_uk_cchi.csv").open("rb") as fh:
        df = pd.read_csv(fh)
    values = pd.DataFrame(
        {
            "key_kind": "category",
            "key": df["key"],
            "harm": pd.to_numeric(df["harm"], errors="coerce"),
            "proactive": df["proactive"].astype(str).str.lower().eq("true"),
            "note": df["note"],
        }
    )
    return HarmTable(
        DEFAULT_NAME, DEFAULT_VERSION, values, source=DEFAULT_SOURCE, rules=rules or HarmRules()
    )


#: an .xlsx / .xlsm workbook is a ZIP archive; Excel 97-2003 (.xls) an OLE2 compound file
_ZIP, _OLE2 = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _is_workbook(path: Path) -> bool:
    """The file is an Excel workbook by its first bytes, whatever its name says: a CSV saved
    as 'cchi.xlsx' was answered with pandas' 'Excel file format cannot be determined, you must
    specify an engine manually', and a workbook named .csv was read as a one-column table of
    binary noise."""
    with path.open("rb") as f:
        return f.read(4) == _ZIP


def _sheets_with(path: Path, column: str) -> str:
    """Which other sheets of a workbook have ``column`` in their first row, as advice.

    Published workbooks often open on a cover or notes sheet; without this the error only
    listed that sheet's 'columns' and left --sheet to be guessed.
    """
    try:
        sheets = pd.read_excel(path, sheet_name=None, nrows=0, engine="openpyxl")
    except Exception:  # the first sheet read; any other trouble is no reason to hide the error
        return ""
    found = [str(n) for n, d in sheets.items() if column in map(str, d.columns)]
    if found:
        return f"; sheet {found[0]!r} has it: pass --sheet {found[0]!r}"
    return f"; the workbook's sheets are {', '.join(repr(str(n)) for n in sheets)}"


def read_table_file(
    path: Path,
    *,
    name: str,
    version: str,
    key_column: str,
    harm_column: str,
    key_kind: str = "ho_code",
    proactive_column: str | None = None,
    sheet: str | None = None,
    source: str = "",
) -> HarmTable:
    """A user-supplied table (CSV or XLSX), e.g. the official CCHI workbook or ONS severity scores.

    ``key_kind`` says what the key column holds: ``ho_code``, ``description`` or ``category``.
    Rows with an empty key are skipped; a harm that is not a number, not finite or negative is an
    error naming the row, and so is a key given twice with two values. A CSV's separator is
    sniffed from its header, as for crime files (:func:`~patrolwise.io.tabular.sniff_delimiter`):
    after ';' or a tab (European Excel) a harm may have a decimal comma (``365,5``), read by the
    crime files' strict rule (:func:`~patrolwise.io.tabular.read_numbers`), so a thousands
    separator (``1.234,5``) is an error; in a comma-separated file or a workbook a comma is
    never read in a number. A key longer than the
    crime field it is matched against
    (:data:`KEY_MAX_LENGTH`: an offence of more than 300 characters, say) could never match a
    stored crime, as crime imports reject such values: its row is left out and listed in
    ``rejects`` (row, field, value, reason), as crime imports list over-long rows, and the rest
    of the table loads. Row numbers are as a spreadsheet shows them (the header is row 1).
    """
    if key_kind not in ("ho_code", "description", "category"):
        raise InputError(f"key kind {key_kind!r} must be ho_code, description or category")
    decimal_comma = False
    try:
        if _is_workbook(path):
            try:
                df = pd.read_excel(path, sheet_name=sheet or 0, dtype=str, engine="openpyxl")
            except (zipfile.BadZipFile, KeyError, OSError) as exc:  # a ZIP, but no workbook
                raise FatalImportError(
                    str(path), f"not a readable Excel workbook (.xlsx): {exc}"
                ) from exc
        else:
            with path.open("rb") as f:
                head = f.read(16)
            if head.startswith(_OLE2):
                raise FatalImportError(
                    str(path),
                    "an Excel 97-2003 workbook (.xls) cannot be read: save it as .xlsx or CSV",
                )
            refuse_not_text(head, str(path))
            # as crime files: UTF-8 (with or without BOM), UTF-16, or Excel's Windows-1252, and
            # separated by commas, semicolons or tabs (a fixed comma read a European Excel file
            # as one column, refused for lacking the columns it had)
            text = decode(path.read_bytes(), str(path))
            sep = sniff_delimiter(text[:65536])
            decimal_comma = has_decimal_comma(sep)
            df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str)
    except FileNotFoundError as exc:
        raise FatalImportError(str(path), "file not found") from exc
    except FatalImportError:
        raise
    except Exception as exc:
        raise FatalImportError(str(path), f"cannot read harm table: {exc}") from exc
    for col in (key_column, harm_column):
        if col not in df.columns:
            raise FatalImportError(
                str(path),
                f"missing column {col!r} (columns are: {', '.join(map(str, df.columns))})"
                + (_sheets_with(path, col) if sheet is None and _is_workbook(path) else ""),
            )
    df = df[df[key_column].fillna("").str.strip() != ""]
    key_len = df[key_column].str.strip().str.len()
    long = (key_len > KEY_MAX_LENGTH[key_kind]).to_numpy()
    # a NUL character (a damaged export): no crime field holds one, and PostgreSQL refused the
    # whole table over it with a DataError
    nul = df[key_column].str.contains("\x00", regex=False).to_numpy() & ~long
    rejects = pd.DataFrame(
        {
            "row": np.concatenate([df.index[long], df.index[nul]]) + 2,
            "field": key_column,
            "value": [
                *(df[key_column][long].str.strip().str.slice(0, 60) + "..."),
                *df[key_column][nul].str.replace("\x00", "\\x00", regex=False),
            ],
            "reason": [overlong_reason(key_kind, int(n)) for n in key_len[long]]
            + ["key contains a NUL character (a damaged export?): it could never match"]
            * int(nul.sum()),
        },
        columns=REJECT_COLUMNS,
    ).sort_values("row", kind="stable")
    df = df[~long & ~nul]
    if df.empty:
        # a header with no rows (or only rows left out) made an empty table, which failed in
        # save_table with a pandas TypeError traceback; a table of no keys would give no crime
        # any harm, so it is refused, not stored
        raise FatalImportError(
            str(path),
            f"no row has a usable key in column {key_column!r}"
            + (
                f" ({len(rejects)} row(s) left out, e.g. row {rejects['row'].iloc[0]}: "
                f"{rejects['reason'].iloc[0]})"
                if len(rejects)
                else ""
            )
            + ": nothing stored",
        )
    # every comma used to be dropped as a thousands separator, so a European '365,5' was 3655
    given = df[harm_column].fillna("")
    num = read_numbers(given.to_numpy(dtype=object), decimal_comma=decimal_comma)
    harm = pd.Series(num.values, index=df.index)
    bad = harm.isna() & given.str.strip().ne("")
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        value = str(given.iloc[i])
        hint = (
            f": {num.why[i]}"
            if num.why[i]
            else (
                ": in a comma-separated file or a workbook a comma is never read in a number "
                "(write it with a decimal point and no thousands separator)"
            )
            if "," in value and not decimal_comma
            else ""
        )
        raise FatalImportError(
            str(path),
            f"row {df.index[i] + 2}, column {harm_column!r}: {value!r} is not a number{hint}",
        )
    # harm is days of imprisonment or a severity weight: a negative value would subtract from a
    # place's harm and an infinite one ('inf', '1e400') make every sum over it infinite
    for wrong, why in ((np.isinf(harm), "is not a finite number"), (harm < 0, "is negative")):
        if wrong.any():
            i = int(np.flatnonzero(np.asarray(wrong))[0])
            raise FatalImportError(
                str(path),
                f"row {df.index[i] + 2}, column {harm_column!r}: {df[harm_column].iloc[i]!r} "
                f"{why}: give harm as a number of 0 or more, or leave it blank for no value",
            )
    pro = (
        df[proactive_column].fillna("").str.lower().isin(["1", "true", "yes", "y"])
        if proactive_column
        else pd.Series(False, index=df.index)
    )
    values = pd.DataFrame(
        {
            "key_kind": key_kind,
            "key": df[key_column].str.strip(),
            "harm": harm,
            "proactive": pro,
            "note": "",
        }
    )
    # a key given twice must mean one thing: the same key (as lookups match it: case and spaces
    # aside) with two harm values or proactive flags is an error in the table, not a choice
    norm = values["key"].map(lambda k: normalise_key(k, key_kind)).to_numpy()
    seen: dict[str, int] = {}
    for i, k in enumerate(norm):
        j = seen.setdefault(k, i)
        if j == i:
            continue
        h0, h1 = values["harm"].iloc[j], values["harm"].iloc[i]
        same = (pd.isna(h0) and pd.isna(h1)) or h0 == h1
        if not same or bool(values["proactive"].iloc[j]) != bool(values["proactive"].iloc[i]):
            raise FatalImportError(
                str(path),
                f"row {values.index[i] + 2}: key {values['key'].iloc[i]!r} is already in row "
                f"{values.index[j] + 2} with harm {h0:g} (here {h1:g}; proactive "
                f"{bool(values['proactive'].iloc[j])} / {bool(values['proactive'].iloc[i])}): "
                "give each key once",
            )
    first = ~pd.Series(norm).duplicated(keep="first").to_numpy()
    values = values[first]
    return HarmTable(
        name,
        version,
        values.reset_index(drop=True),
        source=source or str(path),
        rejects=rejects.reset_index(drop=True),
    )
