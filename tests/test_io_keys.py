"""Content keys of rows without an ID, built with array operations: the same keys as the
obvious per-row construction, however a file is cut into chunks."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pandas as pd
from hypothesis import given, settings

from patrolwise.io.crime_rows import Occurrences, hex16, synthetic_keys


def _reference(prefixes: list[str], hashes: list[int]) -> list[str]:
    """One row at a time, a dict of occurrences: what the keys mean."""
    seen: dict[int, int] = {}
    out = []
    for p, h in zip(prefixes, hashes, strict=True):
        n = seen.get(h, 0)
        seen[h] = n + 1
        out.append(f"{p}:{h & (2**64 - 1):016x}:{n}")
    return out


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["m2022-10", "m2023-01", "n"]), st.integers(-3, 3)),
        max_size=60,
    ),
    st.lists(st.integers(0, 60), max_size=4),
    st.sampled_from([0, 2**63 - 1, -(2**63), 0x0123456789ABCDEF]),
)
def test_keys_equal_the_row_by_row_construction_across_chunks(
    rows: list[tuple[str, int]], cuts: list[int], big: int
) -> None:
    # few distinct hashes, so rows repeat (within a chunk and across chunks)
    prefixes = [p for p, _ in rows]
    hashes = [big + k if -(2**63) <= big + k < 2**63 else big for _, k in rows]
    want = _reference(prefixes, hashes)
    seen = Occurrences()
    got: list[str] = []
    bounds = sorted({0, len(rows), *[c for c in cuts if c <= len(rows)]})
    for a, b in zip(bounds, bounds[1:], strict=False):
        part = synthetic_keys(
            pd.Series(prefixes[a:b], dtype=object), np.array(hashes[a:b], dtype=np.int64), seen
        )
        got += part.tolist()
    assert got == want


def test_hex16_is_the_unsigned_value_in_sixteen_digits() -> None:
    vals = np.array([0, 1, -1, 2**63 - 1, -(2**63), 0x00FF00FF00FF00FF], dtype=np.int64)
    assert hex16(vals).to_pylist() == [f"{int(v):016x}" for v in vals.view(np.uint64)]
    assert hex16(vals[:0]).to_pylist() == []
