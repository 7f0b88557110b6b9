"""Bulk INSERT into SQLite from Arrow columns, bound by compiled code instead of per-row Python.

SQLite has no ``COPY``: the fastest way in is one prepared ``INSERT`` stepped once a row. The
standard library's ``executemany`` does that, but binds every value from a Python object (a
tuple a row, a type check and a copy a value): at a million police.uk rows that binding took
about as long as SQLite's own work. Here a numba kernel walks the Arrow buffers and calls
SQLite's C API (``sqlite3_bind_*``, ``sqlite3_step``, ``sqlite3_reset``) directly, on the same
connection and inside the caller's transaction, so the rows commit or roll back with the rest
of the import.

Two things the standard library does not expose are needed, and both are checked before use:

- the connection's ``sqlite3 *`` handle. CPython's ``sqlite3.Connection`` object holds it as
  its first field (``Modules/_sqlite/connection.h``, unchanged from 3.10 to 3.13). The value
  read there is used only if SQLite itself confirms it: the handle's database file, change
  count and transaction state must equal what the module reports for the connection.
- the C functions, looked up through the ``_sqlite3`` extension module itself, so they are
  those of the SQLite instance that owns the handle (other copies may be loaded in the same
  process: GDAL's wheels bring their own).

Anything unconfirmed (another Python or object layout, a SQLite whose functions the module does
not export, a kernel numba cannot load) returns ``None`` from :func:`bulk_handle` or False from
:func:`warm`, and the caller uses ``executemany``; the tests hold the two paths to the same
stored rows.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sqlite3
import sys
import sysconfig
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic
from numpy.typing import NDArray

SQLITE_DONE = 101
SQLITE_CONSTRAINT = 19
#: a byte to point empty text at (its length 0 is what SQLite reads)
_SPARE = np.zeros(1, dtype=np.uint8)
#: SQLITE_STATIC: SQLite need not copy a bound value (the Arrow buffers outlive the statement)
_STATIC = 0
#: value kinds the kernel binds
K_INT, K_FLOAT, K_TEXT, K_NULL = 0, 1, 2, 3
#: SQLAlchemy's storage format for DateTime on SQLite (what its type would write)
SQLITE_DATETIME = "%Y-%m-%d %H:%M:%S"
#: CPython versions whose ``sqlite3.Connection`` begins with the ``sqlite3 *`` handle
_KNOWN_PYTHONS = ((3, 10), (3, 11), (3, 12), (3, 13))
#: set to "0" to force the executemany path (tests of the fallback, or a suspect platform)
ENV_SWITCH = "PATROLWISE_SQLITE_BULK"
#: whether the kernel loaded (None: not tried yet)
_KERNEL_OK: bool | None = None
log = logging.getLogger(__name__)
#: rows inserted by one step of a multi-row ``VALUES``: SQLite sets a statement up once a step,
#: and at a million police.uk rows 32-128 rows a step took 1.1x less time than one
ROWS_PER_STEP = 64


def _codegen(ret: Any, args: tuple[Any, ...]) -> Any:
    """Code calling the C function whose address is the first argument (cacheable: the
    address is a run-time value, not a constant compiled in)."""

    def codegen(context: Any, builder: Any, signature: Any, llargs: Any) -> Any:
        fnty = ir.FunctionType(
            context.get_value_type(ret), [context.get_value_type(t) for t in args]
        )
        fn = builder.inttoptr(llargs[0], fnty.as_pointer())
        return builder.call(fn, llargs[1:])

    return codegen


_i32, _i64, _f64 = types.int32, types.int64, types.float64


def _type_p(typingctx: Any, addr: Any, stmt: Any) -> Any:
    """int f(sqlite3_stmt*): sqlite3_step, sqlite3_reset."""
    return _i32(_i64, _i64), _codegen(_i32, (_i64,))


def _type_pi(typingctx: Any, addr: Any, stmt: Any, i: Any) -> Any:
    """int f(sqlite3_stmt*, int): sqlite3_bind_null."""
    return _i32(_i64, _i64, _i32), _codegen(_i32, (_i64, _i32))


def _type_pil(typingctx: Any, addr: Any, stmt: Any, i: Any, v: Any) -> Any:
    """int f(sqlite3_stmt*, int, sqlite3_int64): sqlite3_bind_int64."""
    return _i32(_i64, _i64, _i32, _i64), _codegen(_i32, (_i64, _i32, _i64))


def _type_pid(typingctx: Any, addr: Any, stmt: Any, i: Any, v: Any) -> Any:
    """int f(sqlite3_stmt*, int, double): sqlite3_bind_double."""
    return _i32(_i64, _i64, _i32, _f64), _codegen(_i32, (_i64, _i32, _f64))


def _type_pipip(typingctx: Any, addr: Any, stmt: Any, i: Any, s: Any, n: Any, d: Any) -> Any:
    """int f(sqlite3_stmt*, int, const char*, int, void(*)(void*)): sqlite3_bind_text."""
    return _i32(_i64, _i64, _i32, _i64, _i32, _i64), _codegen(_i32, (_i64, _i32, _i64, _i32, _i64))


# typed as Any: mypy would see the typing context as a parameter of each call
_call_p: Any = intrinsic(_type_p)
_call_pi: Any = intrinsic(_type_pi)
_call_pil: Any = intrinsic(_type_pil)
_call_pid: Any = intrinsic(_type_pid)
_call_pipip: Any = intrinsic(_type_pipip)


#: a chunk's columns as the kernel reads them: (kind, slot, valid, ints, dbls, toff, tbase).
#: Column ``p`` is of ``kind[p]``, its values in row ``slot[p]`` of ``ints``, ``dbls`` or (text)
#: ``toff``, whose byte offsets index the buffer at address ``tbase[slot[p]]``; ``valid[p, r]``
#: is False where row ``r`` is NULL. One tuple, so the two kernels share it, not a parameter list.
Columns = tuple[
    NDArray[np.int64],
    NDArray[np.int64],
    NDArray[np.bool_],
    NDArray[np.int64],
    NDArray[np.float64],
    NDArray[np.int64],
    NDArray[np.int64],
]


@njit(cache=True, nogil=True)
def _run(
    fp: NDArray[np.int64],
    stmt_k: int,
    k: int,
    stmt_1: int,
    start: int,
    cols: Columns,
    n: int,
) -> tuple[int, int]:
    """Bind rows ``start ..`` and step; returns (rows done, SQLite's code: 101 when all went
    in; else the first row of the step that failed, which changed nothing).

    ``stmt_k`` inserts ``k`` rows a step (a multi-row ``VALUES``), ``stmt_1`` one, for the rows
    left over. ``fp`` holds the addresses of bind_int64, bind_double, bind_text, bind_null, step,
    reset; ``cols`` is the chunk (:data:`Columns`).
    """
    r0 = start
    while r0 < n:
        rows = k if n - r0 >= k else 1
        rc = _step(fp, stmt_k if rows == k else stmt_1, r0, rows, cols)
        if rc != SQLITE_DONE:
            return r0, rc
        r0 += rows
    return n, SQLITE_DONE


@njit(cache=True, nogil=True)
def _step(fp: NDArray[np.int64], stmt: int, r0: int, rows: int, cols: Columns) -> int:
    """Bind rows ``r0 .. r0 + rows - 1`` to ``stmt`` and step it once; SQLite's code."""
    kind, slot, valid, ints, dbls, toff, tbase = cols
    m = kind.shape[0]
    for q in range(rows):
        r = r0 + q
        for p in range(m):
            c = kind[p]
            j = slot[p]
            at = np.int32(q * m + p + 1)
            if c == K_NULL or not valid[p, r]:
                rc = _call_pi(fp[3], stmt, at)
            elif c == K_INT:
                rc = _call_pil(fp[0], stmt, at, ints[j, r])
            elif c == K_FLOAT:
                rc = _call_pid(fp[1], stmt, at, dbls[j, r])
            else:
                o0 = toff[j, r]
                rc = _call_pipip(
                    fp[2], stmt, at, tbase[j] + o0, np.int32(toff[j, r + 1] - o0), np.int64(_STATIC)
                )
            if rc != 0:
                return rc
    rc = _call_p(fp[4], stmt)
    _call_p(fp[5], stmt)
    return rc


@dataclass(frozen=True)
class _Lib:
    """The C functions of the SQLite library the ``sqlite3`` module runs on."""

    cdll: ctypes.CDLL
    kernel: NDArray[np.int64]  # addresses for _run


@cache
def _library() -> _Lib | None:
    """The SQLite functions the ``_sqlite3`` extension module calls, or None."""
    import _sqlite3

    # the module's own handle: symbols are looked up in it and then in the libraries it was
    # linked against, so these are the functions of the very SQLite that owns its connections
    # (other copies may be loaded too: GDAL's wheels bring their own libsqlite3)
    try:
        lib = ctypes.CDLL(_sqlite3.__file__)
        lib.sqlite3_bind_text  # noqa: B018 - a missing symbol raises here
    except (OSError, AttributeError, TypeError):
        return None
    vp = ctypes.c_void_p
    for name, res, args in (
        ("sqlite3_prepare_v2", ctypes.c_int, [vp, ctypes.c_char_p, ctypes.c_int, vp, vp]),
        ("sqlite3_finalize", ctypes.c_int, [vp]),
        ("sqlite3_errmsg", ctypes.c_char_p, [vp]),
        ("sqlite3_db_filename", ctypes.c_char_p, [vp, ctypes.c_char_p]),
        ("sqlite3_get_autocommit", ctypes.c_int, [vp]),
        ("sqlite3_total_changes", ctypes.c_int, [vp]),
        ("sqlite3_libversion_number", ctypes.c_int, []),
    ):
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args
    if lib.sqlite3_libversion_number() != sqlite3.sqlite_version_info[0] * 1_000_000 + (
        sqlite3.sqlite_version_info[1] * 1000 + sqlite3.sqlite_version_info[2]
    ):
        return None
    names = [
        "sqlite3_bind_int64",
        "sqlite3_bind_double",
        "sqlite3_bind_text",
        "sqlite3_bind_null",
        "sqlite3_step",
        "sqlite3_reset",
    ]
    addr = [ctypes.cast(getattr(lib, n), ctypes.c_void_p).value for n in names]
    return _Lib(lib, np.array(addr, dtype=np.int64))


def bulk_handle(raw: sqlite3.Connection) -> int | None:
    """The connection's ``sqlite3 *``, confirmed by SQLite itself, or None (use executemany)."""
    if os.environ.get(ENV_SWITCH, "1") == "0":
        return None
    if (
        sys.implementation.name != "cpython"
        or sys.version_info[:2] not in _KNOWN_PYTHONS
        or hasattr(sys, "gettotalrefcount")  # a debug build's object header is larger
        or sysconfig.get_config_var("Py_GIL_DISABLED")  # a free-threaded build's too
        or ctypes.sizeof(ctypes.c_void_p) != 8
        or type(raw).__basicsize__ < sqlite3.Connection.__basicsize__
        or not isinstance(raw, sqlite3.Connection)
    ):
        return None
    lib = _library()
    if lib is None:
        return None
    # the handle is the first field after the object header (PyObject_HEAD)
    db = ctypes.c_void_p.from_address(id(raw) + object.__basicsize__).value
    if not db:
        return None
    file = next((r[2] for r in raw.execute("PRAGMA database_list") if r[1] == "main"), None)
    got = lib.cdll.sqlite3_db_filename(db, b"main")
    if (got or b"").decode("utf-8", "replace") != (file or ""):
        return None
    if lib.cdll.sqlite3_total_changes(db) != raw.total_changes:
        return None
    if bool(lib.cdll.sqlite3_get_autocommit(db)) == raw.in_transaction:
        return None
    return int(db)


def warm() -> bool:
    """Load the compiled kernel now (from numba's cache, or compile it), not on the first chunk;
    False (and executemany from then on) if it cannot be loaded."""
    global _KERNEL_OK
    lib = _library()
    if lib is None:
        return False  # nothing to call: executemany, as bulk_handle will say too
    if _KERNEL_OK is None:
        try:
            z2 = np.zeros((1, 1), dtype=np.int64)
            empty = (
                np.zeros(0, dtype=np.int64),
                np.zeros(0, dtype=np.int64),
                np.zeros((0, 0), dtype=np.bool_),
                z2,
                np.zeros((1, 1)),
                z2,
                np.zeros(1, dtype=np.int64),
            )
            _run(lib.kernel, 0, 1, 0, 0, empty, 0)
            _KERNEL_OK = True
        except Exception as exc:  # a compiler or cache problem: the standard path still works
            log.warning("SQLite bulk binder unavailable, using executemany: %s", exc)
            _KERNEL_OK = False
    return _KERNEL_OK


def bindable(table: pa.Table) -> pa.Table:
    """Columns as the kernel binds them and as SQLAlchemy would store them on SQLite.

    Dictionary text becomes text, timestamps SQLAlchemy's ``YYYY-MM-DD HH:MM:SS.ffffff`` text,
    booleans 0/1, other integers int64.
    """
    cols = []
    for col in table.columns:
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        t = arr.type
        if pa.types.is_dictionary(t):
            arr = arr.cast(t.value_type)
            t = arr.type
        if pa.types.is_timestamp(t):
            # %S of a microsecond timestamp prints the fraction too: SS.ffffff
            arr = pc.strftime(arr.cast(pa.timestamp("us")), format=SQLITE_DATETIME)
        elif pa.types.is_boolean(t) or (pa.types.is_integer(t) and t != pa.int64()):
            arr = arr.cast(pa.int64())
        elif pa.types.is_floating(t) and t != pa.float64():
            arr = arr.cast(pa.float64())
        elif pa.types.is_large_string(t):
            arr = arr.cast(pa.string())
        cols.append(arr)
    return pa.table(cols, names=table.column_names)


def literal(v: object) -> str | None:
    """An SQL literal for a constant column, or None when it cannot be inlined safely."""
    if v is None:
        return "NULL"
    if isinstance(v, bool | np.bool_):
        return str(int(v))
    if isinstance(v, int | np.integer):
        return str(int(v))
    if isinstance(v, float | np.floating) and np.isfinite(v):
        return repr(float(v))
    if isinstance(v, str) and "\x00" not in v:
        return "'" + v.replace("'", "''") + "'"
    return None


def _executemany(raw: sqlite3.Connection, head: str, table: pa.Table) -> None:
    """The standard library's path, binding only the columns that vary: police.uk chunks repeat
    the force, batch and precision on every row, and binding is executemany's cost."""
    values: list[str] = []
    varying: list[list[Any]] = []
    for col in table.columns:
        lit = None
        if len(col) and (col.null_count == len(col) or pc.count_distinct(col).as_py() == 1):
            first = col[0].as_py() if col.null_count == 0 else None
            if col.null_count in (0, len(col)):
                lit = literal(first)
        if lit is None:
            values.append("?")
            varying.append(col.to_pylist())
        else:
            values.append(lit)
    sql = f"{head} ({', '.join(table.column_names)}) VALUES ({', '.join(values)})"
    if varying:
        raw.executemany(sql, zip(*varying, strict=True))
    else:
        for _ in range(table.num_rows):
            raw.execute(sql)


def insert(raw: sqlite3.Connection, head: str, table: pa.Table) -> int:
    """``{head} (columns) VALUES (...)`` for every row of ``table`` (``head`` as
    ``"INSERT OR IGNORE INTO crimes"``), inside the connection's open transaction; returns the
    rows SQLite changed. Uses the compiled binder when :func:`bulk_handle` confirms the
    connection, else ``executemany``."""
    table = bindable(table)
    n = table.num_rows
    before = raw.total_changes
    if n == 0:
        return 0
    db = bulk_handle(raw) if raw.in_transaction else None
    lib = _library() if db is not None else None
    if lib is not None and not warm():
        lib = None
    if db is None or lib is None:
        _executemany(raw, head, table)
        return int(raw.total_changes - before)
    cols = ", ".join(table.column_names)
    m = table.num_columns
    kind = np.full(m, K_NULL, dtype=np.int64)
    slot = np.zeros(m, dtype=np.int64)
    valid = np.ones((m, n), dtype=np.bool_)
    ints: list[NDArray[np.int64]] = []
    dbls: list[NDArray[np.float64]] = []
    offs: list[NDArray[np.int64]] = []
    bases: list[int] = []
    keep: list[pa.Array] = []  # the arrays whose buffers the kernel reads, alive until it ends
    for p, col in enumerate(table.columns):
        arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
        keep.append(arr)
        t = arr.type
        if arr.null_count == n or pa.types.is_null(t):
            continue  # K_NULL
        if arr.null_count:
            valid[p] = arr.is_valid().to_numpy(zero_copy_only=False)
        if pa.types.is_int64(t):
            kind[p], slot[p] = K_INT, len(ints)
            ints.append(arr.fill_null(0).to_numpy())
        elif pa.types.is_float64(t):
            kind[p], slot[p] = K_FLOAT, len(dbls)
            v = arr.fill_null(0.0).to_numpy()
            valid[p] &= ~np.isnan(v)  # NaN is NULL, as executemany binds None for it
            dbls.append(v)
        elif pa.types.is_string(t):
            kind[p], slot[p] = K_TEXT, len(offs)
            buf = arr.buffers()
            o = np.frombuffer(buf[1], dtype=np.int32, count=n + 1, offset=arr.offset * 4)
            offs.append(o.astype(np.int64))
            # a NULL pointer would bind NULL, not '': text with no bytes points at a spare one
            bases.append(
                buf[2].address if buf[2] is not None and buf[2].size else _SPARE.ctypes.data
            )
        else:
            raise TypeError(f"cannot bind column {table.column_names[p]} of type {t}")
    # this SQLite's limit on parameters a statement (32766 since 3.32, 999 before)
    k = max(1, min(ROWS_PER_STEP, raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // m, n))
    chunk: Columns = (
        kind,
        slot,
        valid,
        np.array(ints) if ints else np.zeros((1, 1), dtype=np.int64),
        np.array(dbls) if dbls else np.zeros((1, 1)),
        np.array(offs) if offs else np.zeros((1, 1), dtype=np.int64),
        np.array(bases, dtype=np.int64) if bases else np.zeros(1, dtype=np.int64),
    )
    stmts: list[ctypes.c_void_p] = []
    try:
        for rows in (k, 1):
            stmt = ctypes.c_void_p()
            one = "(" + ", ".join("?" * m) + ")"
            q = f"{head} ({cols}) VALUES {', '.join([one] * rows)}".encode()
            if lib.cdll.sqlite3_prepare_v2(db, q, len(q), ctypes.byref(stmt), None) != 0:
                raise sqlite3.OperationalError(lib.cdll.sqlite3_errmsg(db).decode())
            stmts.append(stmt)
        s_k, s_1 = int(stmts[0].value or 0), int(stmts[1].value or 0)
        done, rc = _run(lib.kernel, s_k, k, s_1, 0, chunk, n)
        one_row = k == 1
        # a step of several rows that broke a constraint changed nothing: its rows and the
        # rest go again one at a time, which inserts the rows before the one at fault and names
        # it. Only while the transaction stands: SQLite may roll it back on an error (a full
        # disk, an I/O error, RAISE(ROLLBACK)), and each row after that would commit alone
        if rc & 0xFF == SQLITE_CONSTRAINT and k > 1 and not lib.cdll.sqlite3_get_autocommit(db):
            done, rc = _run(lib.kernel, s_1, 1, s_1, done, chunk, n)
            one_row = True
        if rc != SQLITE_DONE:
            msg = lib.cdll.sqlite3_errmsg(db).decode("utf-8", "replace")
            # a failed step of several rows names them all; one row names itself
            last = done + 1 if one_row or n - done < k else done + k
            where = (
                f"row {done + 1} of {n}" if last == done + 1 else f"rows {done + 1}-{last} of {n}"
            )
            if lib.cdll.sqlite3_get_autocommit(db):
                raise sqlite3.OperationalError(
                    f"{msg} ({where}): SQLite rolled the transaction back, nothing was stored"
                )
            err = (
                sqlite3.IntegrityError
                if rc & 0xFF == SQLITE_CONSTRAINT
                else sqlite3.OperationalError
            )
            raise err(f"{msg} ({where})")
    finally:
        for stmt in stmts:
            lib.cdll.sqlite3_finalize(stmt)
    del keep  # the bound buffers lived until here
    return int(raw.total_changes - before)
