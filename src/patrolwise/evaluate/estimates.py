"""One shape for every effect estimate, and the words that go with it.

Every number the evaluation reports travels with its interval, its method and the counts behind
it, so the JSON can be audited and the report can never print a bare percentage. The wording is
generated from the interval: an interval that includes "no change" is never called significant.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Estimate:
    """A ratio-scale effect (rate ratio, IRR, DiD ratio) with its 95% interval.

    ``ratio`` < 1 is a reduction. ``pct_change`` is ``100 * (ratio - 1)``.
    """

    name: str
    outcome: str  # crimes | harm
    method: str
    ratio: float
    lo: float
    hi: float
    p: float | None = None
    level: float = 0.95
    counts: dict[str, Any] = field(default_factory=dict)
    period: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def pct_change(self) -> float:
        return 100.0 * (self.ratio - 1.0)

    @property
    def pct_lo(self) -> float:
        return 100.0 * (self.lo - 1.0)

    @property
    def pct_hi(self) -> float:
        return 100.0 * (self.hi - 1.0)

    @property
    def excludes_no_change(self) -> bool:
        return bool(self.hi < 1.0 or self.lo > 1.0)

    def covers(self, true_ratio: float) -> bool:
        return bool(self.lo <= true_ratio <= self.hi)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            pct_change=_r(self.pct_change),
            pct_ci=[_r(self.pct_lo), _r(self.pct_hi)],
            excludes_no_change=self.excludes_no_change,
            statement=describe(self),
        )
        return _clean(d)


def _r(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, 2)


def _clean(obj: Any) -> Any:
    """JSON-safe: NaN and infinities become null (JSON has neither)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item") and callable(obj.item):
        return _clean(obj.item())
    return obj


def fmt_pct(v: float) -> str:
    if not math.isfinite(v):
        return "unbounded"
    return f"{v:+.1f}%"


def describe(e: Estimate) -> str:
    """One sentence whose strength follows the interval (never 'significant' across no change)."""
    ci = f"95% interval {fmt_pct(e.pct_lo)} to {fmt_pct(e.pct_hi)}"
    if e.outcome == "crimes":
        size = f"{abs(e.pct_change):.1f}% {'fewer' if e.ratio < 1 else 'more'} crimes"
    else:
        size = f"{abs(e.pct_change):.1f}% {'less' if e.ratio < 1 else 'more'} harm"
    p = "" if e.p is None else f", p = {e.p:.3g}"
    if e.excludes_no_change:
        return f"{e.name}: {size} ({ci}{p}); the interval excludes no change: a statistically significant {'reduction' if e.hi < 1 else 'increase'} at the 5% level."
    return f"{e.name}: {size} ({ci}{p}); the interval includes no change, so these data cannot show an effect either way."
