"""How concentrated crime and harm are: the share in the top 1, 2, 5, 10 % of places.

What it computes: places (units) are ranked by crime count for the crime share and,
separately, by harm for the harm share; the top p % is ``ceil(p / 100 * places)`` places.
``places="all"`` counts every unit of the study area, including those with no crime (the
convention of Weisburd's "law of crime concentration"); ``places="with_crime"`` only those with at
least one crime (the other convention in the literature, which gives smaller shares).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..errors import InputError

DEFAULT_SHARES = (1.0, 2.0, 5.0, 10.0)


def _prep(counts: ArrayLike, harm: ArrayLike | None, places: str) -> tuple[np.ndarray, np.ndarray]:
    c = np.asarray(counts, dtype=float).ravel()
    h = np.zeros_like(c) if harm is None else np.asarray(harm, dtype=float).ravel()
    if c.shape != h.shape:
        raise InputError("counts and harm must have one value per place")
    if places not in ("all", "with_crime"):
        raise InputError(f"places must be 'all' or 'with_crime', not {places!r}")
    if places == "with_crime":
        keep = c > 0
        c, h = c[keep], h[keep]
    if c.size == 0 or c.sum() <= 0:
        raise InputError("no crimes in any place: nothing to measure")
    return c, h


def concentration_table(
    counts: ArrayLike,
    harm: ArrayLike | None = None,
    *,
    shares: Sequence[float] = DEFAULT_SHARES,
    places: str = "all",
) -> pd.DataFrame:
    """One row per top share: ``top_pct, places, crimes, crime_share, harm, harm_share``."""
    c, h = _prep(counts, harm, places)
    n = c.size
    cs = np.cumsum(np.sort(c)[::-1])
    hs = np.cumsum(np.sort(h)[::-1])
    rows = []
    for p in shares:
        if not 0 < p <= 100:
            raise InputError(f"share {p} is not a percentage between 0 and 100")
        k = max(1, math.ceil(p / 100 * n - 1e-9))
        rows.append(
            {
                "top_pct": float(p),
                "places": k,
                "crimes": float(cs[k - 1]),
                "crime_share": float(cs[k - 1] / cs[-1]),
                "harm": float(hs[k - 1]),
                "harm_share": float(hs[k - 1] / hs[-1]) if hs[-1] > 0 else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def concentration_curve(
    counts: ArrayLike, harm: ArrayLike | None = None, *, places: str = "all"
) -> pd.DataFrame:
    """Cumulative share of crime and of harm against the share of places (each sorted on its own
    measure, highest first), starting at (0, 0): a Lorenz-style curve for plotting."""
    c, h = _prep(counts, harm, places)
    n = c.size
    cs = np.concatenate([[0.0], np.cumsum(np.sort(c)[::-1])])
    hs = np.concatenate([[0.0], np.cumsum(np.sort(h)[::-1])])
    return pd.DataFrame(
        {
            "place_share": np.arange(n + 1) / n,
            "crime_share": cs / cs[-1],
            "harm_share": hs / hs[-1] if hs[-1] > 0 else np.full(n + 1, np.nan),
        }
    )


def places_for_share(counts: ArrayLike, share: float = 0.5, *, places: str = "all") -> int:
    """How many places (fewest first by count) hold ``share`` of all crimes."""
    c, _ = _prep(counts, None, places)
    cs = np.cumsum(np.sort(c)[::-1])
    return int(np.searchsorted(cs, share * cs[-1] - 1e-9) + 1)
