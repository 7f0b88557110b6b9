"""The compiled string hash equals pandas' ``hash_array`` of the same strings, for any text."""

from __future__ import annotations

import hypothesis.strategies as st
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings

from patrolwise.io.strhash import hash_strings


def _pandas(values: list[str | None]) -> np.ndarray:
    return pd.util.hash_array(np.array(values, dtype=object), categorize=False)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=30),
    st.integers(0, 5),
    st.booleans(),
)
def test_equals_pandas_for_any_text(values: list[str | None], cut: int, large: bool) -> None:
    arr = pa.array(values, type=pa.large_string() if large else pa.string())
    assert (hash_strings(arr) == _pandas(values)).all()
    # a slice (an Arrow offset into shared buffers) hashes its own values
    part = arr.slice(min(cut, len(values)))
    assert (hash_strings(part) == _pandas(values[min(cut, len(values)) :])).all()


def test_lengths_around_the_eight_byte_blocks_and_police_uk_ids() -> None:
    values = ["x" * n for n in range(0, 20)] + [f"{i:064x}" for i in range(50)] + ["é✓€" * 7]
    chunked = pa.chunked_array([values[:30], values[30:]], type=pa.string())
    assert (hash_strings(chunked) == _pandas(values)).all()
    assert hash_strings(pa.array([], pa.string())).shape == (0,)


def test_refuses_what_is_not_text() -> None:
    with pytest.raises(TypeError, match="takes strings"):
        hash_strings(pa.array([1, 2]))
