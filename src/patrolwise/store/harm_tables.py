"""Harm tables in the store: the packaged default is added on first use; user tables by import."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from ..errors import InputError
from ..harm import HarmRules, HarmTable, default_table, overlong_reason
from .db import Store, utcnow
from .models import HarmTable as HarmTableRow
from .models import HarmValue


def _num(v: object) -> float | None:
    f = float(v) if isinstance(v, int | float | str) else float("nan")
    return None if f != f else f


def _text(v: object) -> str | None:
    return None if v is None or v == "" or (isinstance(v, float) and pd.isna(v)) else str(v)


def _content(rows: Iterable[tuple[Any, ...]]) -> set[tuple[str, str, float | None, bool]]:
    return {(str(k), str(key), _num(h), bool(p)) for k, key, h, p in rows}


def save_table(store: Store, table: HarmTable, *, make_default: bool = False) -> int:
    """Store a harm table (idempotent on name + version); returns its id.

    Tables are never edited in place: other values under a stored name and version are refused.
    A key longer than its kind allows (:data:`~patrolwise.harm.KEY_MAX_LENGTH`) is refused before
    anything is written, on every back end alike (PostgreSQL would refuse it with a database
    error, SQLite would keep a key no crime can match); :func:`~patrolwise.harm.read_table_file`
    leaves such rows out, so this concerns tables built in code.
    """
    long = table.overlong_keys()
    if len(long):
        r = long.iloc[0]
        raise InputError(
            f"harm table {table.name} {table.version}: {r['key_kind']} key "
            f"{str(r['key'])[:60]!r}...: {overlong_reason(str(r['key_kind']), len(str(r['key'])))}"
            + (f" ({len(long) - 1} more such keys)" if len(long) > 1 else "")
        )
    try:
        return _save(store, table, make_default)
    except IntegrityError:
        # another writer stored this name and version since we looked (two first imports at
        # once both adding the packaged table): the second time it is found, and compared
        return _save(store, table, make_default)


def _save(store: Store, table: HarmTable, make_default: bool) -> int:
    with store.session() as s, s.begin():
        row = s.scalars(
            select(HarmTableRow).where(
                HarmTableRow.name == table.name, HarmTableRow.version == table.version
            )
        ).first()
        if row is not None:
            stored = s.execute(
                select(
                    HarmValue.key_kind, HarmValue.key, HarmValue.harm, HarmValue.proactive
                ).where(HarmValue.table_id == row.id)
            ).all()
            given = table.values[["key_kind", "key", "harm", "proactive"]].itertuples(
                index=False, name=None
            )
            if _content(tuple(r) for r in stored) != _content(given):
                raise InputError(
                    f"harm table {table.name} {table.version} is already stored with other values "
                    f"({len(stored)} keys): tables are never edited in place; load these under a "
                    "new --version"
                )
        if row is None:
            row = HarmTableRow(
                name=table.name,
                version=table.version,
                unit=table.unit,
                source=table.source,
                rules=table.rules.as_dict(),
                is_default=False,
                created_at=utcnow(),
            )
            s.add(row)
            s.flush()
            s.add_all(
                HarmValue(
                    table_id=row.id,
                    key_kind=str(r.key_kind),
                    key=str(r.key),
                    harm=_num(r.harm),
                    proactive=bool(r.proactive),
                    note=_text(r.note),
                )
                for r in table.values.itertuples(index=False)
            )
        if make_default:
            s.execute(update(HarmTableRow).values(is_default=False))
            row.is_default = True
        return row.id


def load_table(store: Store, table_id: int, rules: HarmRules | None = None) -> HarmTable:
    with store.session() as s:
        row = s.get(HarmTableRow, table_id)
        if row is None:
            raise KeyError(table_id)
        vals = s.scalars(select(HarmValue).where(HarmValue.table_id == table_id)).all()
    values = pd.DataFrame(
        [
            {
                "key_kind": v.key_kind,
                "key": v.key,
                "harm": v.harm,
                "proactive": v.proactive,
                "note": v.note,
            }
            for v in vals
        ],
        columns=["key_kind", "key", "harm", "proactive", "note"],
    )
    values["harm"] = values["harm"].astype(float)
    stored = HarmRules(**(row.rules or {}))
    return HarmTable(row.name, row.version, values, row.unit, row.source, rules or stored)


def default_table_id(store: Store) -> int:
    """The table marked default, adding the packaged CCHI police.uk table if there is none."""
    with store.session() as s:
        tid = s.scalars(select(HarmTableRow.id).where(HarmTableRow.is_default.is_(True))).first()
    if tid is not None:
        return tid
    return save_table(store, default_table(), make_default=True)


def list_tables(store: Store) -> pd.DataFrame:
    with store.session() as s:
        rows = s.scalars(select(HarmTableRow).order_by(HarmTableRow.id)).all()
        counts = {
            r.id: len(s.scalars(select(HarmValue.id).where(HarmValue.table_id == r.id)).all())
            for r in rows
        }
    return pd.DataFrame(
        [
            {
                "id": r.id,
                "name": r.name,
                "version": r.version,
                "unit": r.unit,
                "keys": counts[r.id],
                "default": r.is_default,
                "source": r.source,
            }
            for r in rows
        ]
    )
