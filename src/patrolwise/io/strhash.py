"""pandas' 64-bit hash of strings, computed on Arrow's buffers in compiled code.

Crime keys are stored with ``pandas.util.hash_array(keys, categorize=False)``: SipHash-2-4 of each
string's UTF-8 bytes under pandas' fixed key, then a 64-bit mixing step. pandas computes it from
Python string objects, so a million 64-character police.uk Crime IDs had first to become Python
strings (~65 ms) and were then hashed holding the GIL (~100 ms), while the import's other threads
waited for it. Here the same function runs on the Arrow array's offsets and bytes, outside the
GIL, with no Python object per row. A property test holds it to pandas for any text.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit
from numpy.typing import NDArray

#: pandas' hash key (``pandas.core.util.hashing._default_hash_key``)
_KEY = b"0123456789123456"
_K0 = np.uint64(int.from_bytes(_KEY[:8], "little"))
_K1 = np.uint64(int.from_bytes(_KEY[8:], "little"))


@njit(inline="always")
def _rotl(x: np.uint64, b: int) -> np.uint64:
    return (x << np.uint64(b)) | (x >> np.uint64(64 - b))


@njit(inline="always")
def _round(
    v0: np.uint64, v1: np.uint64, v2: np.uint64, v3: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """One SipRound."""
    v0 += v1
    v1 = _rotl(v1, 13)
    v1 ^= v0
    v0 = _rotl(v0, 32)
    v2 += v3
    v3 = _rotl(v3, 16)
    v3 ^= v2
    v0 += v3
    v3 = _rotl(v3, 21)
    v3 ^= v0
    v2 += v1
    v1 = _rotl(v1, 17)
    v1 ^= v2
    v2 = _rotl(v2, 32)
    return v0, v1, v2, v3


@njit(cache=True, nogil=True)
def _siphash_all(
    offsets: NDArray[np.int64], data: NDArray[np.uint8], k0: np.uint64, k1: np.uint64
) -> NDArray[np.uint64]:
    """SipHash-2-4 of each ``data[offsets[i]:offsets[i+1]]``, then pandas' mixing step."""
    n = len(offsets) - 1
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        start, end = offsets[i], offsets[i + 1]
        length = end - start
        v0 = np.uint64(0x736F6D6570736575) ^ k0
        v1 = np.uint64(0x646F72616E646F6D) ^ k1
        v2 = np.uint64(0x6C7967656E657261) ^ k0
        v3 = np.uint64(0x7465646279746573) ^ k1
        p = start
        full = start + (length // 8) * 8
        while p < full:
            m = np.uint64(0)
            for j in range(8):
                m |= np.uint64(data[p + j]) << np.uint64(8 * j)
            v3 ^= m
            for _ in range(2):
                v0, v1, v2, v3 = _round(v0, v1, v2, v3)
            v0 ^= m
            p += 8
        b = np.uint64(length & 0xFF) << np.uint64(56)
        for j in range(end - full):
            b |= np.uint64(data[full + j]) << np.uint64(8 * j)
        v3 ^= b
        for _ in range(2):
            v0, v1, v2, v3 = _round(v0, v1, v2, v3)
        v0 ^= b
        v2 ^= np.uint64(0xFF)
        for _ in range(4):
            v0, v1, v2, v3 = _round(v0, v1, v2, v3)
        h = v0 ^ v1 ^ v2 ^ v3
        # pandas' redistribution of the 64-bit values (``_hash_ndarray``)
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
        out[i] = h
    return out


def hash_strings(arr: pa.Array | pa.ChunkedArray) -> NDArray[np.uint64]:
    """``pandas.util.hash_array(arr.to_numpy(object), categorize=False)`` for a string array.

    A null hashes as pandas hashes None (the text ``"None"``), as the object path would.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        raise TypeError(f"hash_strings takes strings, not {arr.type}")
    if arr.null_count:
        arr = pc.fill_null(arr, "None")
    offsets_buf, data_buf = arr.buffers()[1], arr.buffers()[2]
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(offsets_buf, dtype=width)[arr.offset : arr.offset + len(arr) + 1]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    )
    return _siphash_all(offsets.astype(np.int64), data, _K0, _K1)  # type: ignore[no-any-return]
