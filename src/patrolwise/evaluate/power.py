"""Power: how many weeks of randomised patrol days are needed to detect a given reduction?

By simulation, not formula, because counts at hot spots are small and overdispersed: for each
trial length we draw many trials from the observed base rates and overdispersion (negative
binomial), analyse each with the same quasi-Poisson patrol-day model the evaluation uses, and
count how often it rejects "no effect" at 5%. The answer is the shortest length reaching the
target power. A simulated power is a binomial proportion over the trials, so each carries its
Monte Carlo standard error and exact (Clopper-Pearson) 95% interval, and the statement says
whether the target lies inside the interval of either length bracketing the answer (then the
answer could be a length shorter or longer, and more trials would settle it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from ..errors import InputError
from .validate import failed_line, patrol_day_trials


def estimate_dispersion(panel: pd.DataFrame, outcome: str = "crimes") -> float:
    """NB2 overdispersion alpha by moments per hot spot (var = mu + alpha mu^2), pooled, >= 0."""
    g = panel.groupby("area_id")[outcome]
    m, v, n = g.mean(), g.var(ddof=1), g.size()
    ok = m > 0
    if not ok.any():
        raise InputError(
            "no crimes in the panel: base rates and overdispersion cannot be estimated"
        )
    a = ((v[ok] - m[ok]) / m[ok] ** 2 * n[ok]).sum() / n[ok].sum()
    return float(max(a, 0.0))


def monte_carlo(detected: int, sims: int, level: float = 0.95) -> tuple[float, float, float]:
    """(standard error, lo, hi) of a simulated power of ``detected`` of ``sims`` trials.

    Binomial over the trials: SE = sqrt(p (1 - p) / sims) with p = detected / sims, and the exact
    (Clopper-Pearson) interval, which stays honest at 0 or ``sims`` detections where the SE is 0.
    """
    k, n = int(detected), int(sims)
    p = k / n
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="exact")
    return float(np.sqrt(p * (1 - p) / n)), float(ci.low), float(ci.high)


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%"


@dataclass
class Power:
    reduction: float
    target: float
    weeks_needed: int | None
    curve: pd.DataFrame
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "power",
            "reduction": self.reduction,
            "target_power": self.target,
            "weeks_needed": self.weeks_needed,
            "curve": self.curve.to_dict(orient="records"),
            "inputs": self.inputs,
            "monte_carlo": self.monte_carlo_line(),
            "notes": [self.failures()] if self.failures() else [],
        }

    def _at(self, i: int) -> str:
        r = self.curve.iloc[i]
        return (
            f"{_pct(float(r['power']))} at {int(r['weeks'])} weeks (Monte Carlo SE "
            f"{100 * float(r['se']):.1f} points, 95% interval {_pct(float(r['power_lo']))} to "
            f"{_pct(float(r['power_hi']))})"
        )

    def monte_carlo_line(self) -> str:
        """The simulated power of the lengths bracketing the answer, with their Monte Carlo
        error, and whether the target lies inside either interval ('' without the columns)."""
        c = self.curve
        if c.empty or not {"se", "power_lo", "power_hi"} <= set(c.columns):
            return ""
        sims = int(c["sims"].iloc[-1])
        tgt = f"{100 * self.target:g}%"
        last = len(c) - 1
        if self.weeks_needed is None:
            inside = float(c["power_hi"].iloc[last]) >= self.target
            return f"simulated power {self._at(last)} over {sims} trials" + (
                f": the target {tgt} lies inside that interval, so the true power at "
                f"{int(c['weeks'].iloc[last])} weeks may reach it; more trials (--sims) "
                "would settle it"
                if inside
                else f": the target {tgt} lies above that interval"
            )
        w = int(c["weeks"].iloc[last])
        parts = [self._at(last)]
        if last > 0:
            parts.append(self._at(last - 1))

        def gap(i: int) -> str:
            d = abs(float(c["power"].iloc[i]) - self.target)
            se = float(c["se"].iloc[i])
            return f"{100 * d:.1f} points" + (f" ({d / se:.1f} SE)" if se > 0 else "")

        doubts = []
        if float(c["power_lo"].iloc[last]) < self.target:
            doubts.append(
                f"{w} weeks is {gap(last)} above the target {tgt}, inside its interval, so it "
                "may fall short"
            )
        if last > 0 and float(c["power_hi"].iloc[last - 1]) >= self.target:
            wp = int(c["weeks"].iloc[last - 1])
            doubts.append(
                f"{wp} weeks is {gap(last - 1)} below the target {tgt}, inside its interval, "
                "so it may be enough"
            )
        each = " each" if len(parts) > 1 else ""
        head = f"simulated power {' and '.join(parts)} over {sims} trials{each}"
        if doubts:
            return (
                f"{head}: within Monte Carlo error of the target: {'; '.join(doubts)}; more "
                "trials (--sims; the error falls as 1/sqrt(trials)) would settle it"
            )
        if last == 0:
            return f"{head}: the target {tgt} lies below its interval (the shortest length tried)"
        wp = int(c["weeks"].iloc[last - 1])
        return (
            f"{head}: the target {tgt} lies below the {w}-week interval and above the {wp}-week "
            "one, so the answer is clear of Monte Carlo error"
        )

    def failures(self) -> str:
        """Which trial lengths had simulated trials that could not be fitted ('' if none)."""
        if "failed" not in self.curve.columns:
            return ""
        parts = [
            f"at {w} weeks {failed_line(f, n)}"
            for w, f, n in zip(
                self.curve["weeks"].astype(int),
                self.curve["failed"].astype(int),
                self.curve["sims"].astype(int),
                strict=True,
            )
            if f
        ]
        if not parts:
            return ""
        return (
            "; ".join(parts)
            + ": each counts as not detecting the reduction (a real trial like it gives no estimate)"
        )

    def statement(self) -> str:
        if self.weeks_needed is None:
            top = int(self.curve["weeks"].max())
            line = (
                f"a {100 * self.reduction:.0f}% reduction is not detected with "
                f"{100 * self.target:.0f}% power within {top} weeks at these crime levels"
            )
        else:
            line = (
                f"about {self.weeks_needed} weeks of randomised patrol days give "
                f"{100 * self.target:.0f}% power to detect a {100 * self.reduction:.0f}% reduction"
            )
        mc = self.monte_carlo_line()
        if mc:
            line = f"{line}; {mc}"
        fail = self.failures()
        return f"{line} ({fail})" if fail else line


def weeks_needed(
    base_rates: Sequence[float],
    *,
    reduction: float = 0.30,
    dispersion: float = 0.5,
    target: float = 0.80,
    weeks: Sequence[int] = (4, 8, 12, 16, 20, 26, 32, 39, 47, 52, 65, 78, 104),
    sims: int = 200,
    seed: int = 0,
) -> Power:
    """Power at each trial length (weeks, half the hot spot-days patrolled) and the weeks needed."""
    rates = np.asarray(base_rates, float)
    if rates.size == 0 or not np.all(rates > 0):
        raise InputError("base rates must be positive crimes per hot spot-day, one per hot spot")
    if not 0 < reduction < 1:
        raise InputError(f"reduction must be between 0 and 1 (e.g. 0.3 for 30%), got {reduction}")
    if int(sims) < 1:
        raise InputError(f"--sims must be at least 1 simulated trial per length, got {sims}")
    if not len(weeks) or min(int(w) for w in weeks) < 1:
        raise InputError(f"trial lengths must be whole weeks >= 1, got {list(weeks)}")
    if not (dispersion >= 0 and np.isfinite(dispersion)):
        raise InputError(f"overdispersion must be a number >= 0, got {dispersion}")
    rng = np.random.default_rng(seed)
    rows = []
    need = None
    for w in sorted(weeks):
        days = pd.date_range("2023-01-02", periods=7 * int(w), freq="D")
        r = patrol_day_trials(
            rng,
            sims,
            reduction,
            base_rates=rates,
            days=days,
            dispersion=dispersion,
            chunk=max(1, min(sims, 20_000 // len(days) + 1)),
        )
        # a trial that cannot be fitted detects nothing: it stays in the denominator as a miss
        # (excluding it would credit the design with trials it could not analyse), and is counted
        failed = r.failed
        detected = ~failed & (r.p < 0.05) & (r.ratio < 1)
        pw = float(np.sum(detected) / sims)
        se, lo, hi = monte_carlo(int(np.sum(detected)), sims)
        n_fit = int(sims - failed.sum())
        rows.append(
            {
                "weeks": int(w),
                "power": pw,
                "se": se,
                "power_lo": lo,
                "power_hi": hi,
                "detected": int(np.sum(detected)),
                "sims": sims,
                "failed": int(failed.sum()),
                "power_fitted": float(np.sum(detected) / n_fit) if n_fit else None,
            }
        )
        if pw >= target and need is None:
            need = int(w)
            break
    return Power(
        reduction=reduction,
        target=target,
        weeks_needed=need,
        curve=pd.DataFrame(rows),
        inputs={"base_rates": [float(v) for v in rates], "dispersion": dispersion, "sims": sims},
    )
