"""Do the same places stay hot? Overlap of top units and rank correlation across two periods.

Both periods must be measured on the same units (the same grid: pass the first period's
``Surface.grid`` to ``find_surface`` for the second, or the same user units).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike
from scipy.stats import spearmanr

from ..errors import InputError


def stability(
    previous: ArrayLike, current: ArrayLike, *, top: int | None = None, top_pct: float = 5.0
) -> dict[str, float]:
    """How many of this period's top units were top last period, and Spearman's rank
    correlation of the unit values across the two periods.

    Top units: the ``top`` highest (or the top ``top_pct`` % of units with any crime in either
    period); ties at the cut are broken by unit order. The correlation is over the units with
    any crime in either period (counting the empty units of a large grid would inflate it).
    """
    a = np.asarray(previous, dtype=float).ravel()
    b = np.asarray(current, dtype=float).ravel()
    if a.shape != b.shape:
        raise InputError(
            f"the two periods have {a.size} and {b.size} units: use the same grid or units"
        )
    active = (a > 0) | (b > 0)
    n_active = int(active.sum())
    if n_active < 3:
        raise InputError("fewer than 3 units have crime in either period: nothing to compare")
    k = top if top is not None else max(1, math.ceil(top_pct / 100 * n_active))
    if k < 1:
        raise InputError("top must be at least 1")
    top_a = set(np.argsort(-a, kind="stable")[:k].tolist())
    top_b = np.argsort(-b, kind="stable")[:k]
    kept = sum(1 for u in top_b.tolist() if u in top_a)
    res = spearmanr(a[active], b[active])
    return {
        "units_compared": float(n_active),
        "top": float(k),
        "still_top": float(kept),
        "share_still_top": kept / k,
        "spearman_rho": float(res.statistic),
        "spearman_p": float(res.pvalue),
    }
