"""The practice note's arithmetic, and the exact Poisson rate ratio against hand and reference values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import rates as smrates

from patrolwise.errors import InputError
from patrolwise.evaluate.before_after import bootstrap_harm_ratio, exact_rate_ratio
from patrolwise.evaluate.cost import relative_saving
from patrolwise.evaluate.estimates import Estimate, describe


def test_seed_crimes_416_to_252_is_minus_39_4_percent() -> None:
    r, lo, hi, p = exact_rate_ratio(416, 335, 252, 335)
    assert round(100 * (r - 1), 1) == -39.4
    assert lo < r < hi < 1  # the interval excludes no change
    assert p < 1e-8


def test_seed_harm_60314_to_38421_is_minus_36_3_percent() -> None:
    rng = np.random.default_rng(0)
    hb = np.full(11, 60314 / 11)
    hd = np.full(11, 38421 / 11)
    d = np.full(11, 30.0)
    r, lo, hi = bootstrap_harm_ratio(hb, d, hd, d, rng=rng, n_boot=200)
    assert round(100 * (r - 1), 1) == -36.3
    # constant months: every resample gives the same ratio
    assert lo == pytest.approx(r) and hi == pytest.approx(r)


def test_seed_cost_2_28_against_3_38_is_32_5_percent_cheaper() -> None:
    s = relative_saving(2.28, 3.38)
    assert s == pytest.approx(0.3254, abs=5e-5)
    assert round(100 * s, 1) == 32.5


def test_exact_interval_is_clopper_pearson_scaled_by_exposure() -> None:
    # 10 before in 100 days, 10 during in 50 days: rate ratio 2
    r, lo, hi, p = exact_rate_ratio(10, 100, 10, 50)
    assert r == pytest.approx(2.0)
    plo = stats.beta.ppf(0.025, 10, 11)
    phi = stats.beta.ppf(0.975, 11, 10)
    assert lo == pytest.approx(plo / (1 - plo) * 2)
    assert hi == pytest.approx(phi / (1 - phi) * 2)
    ref = smrates.test_poisson_2indep(10, 50, 10, 100, method="exact-cond")
    assert p == pytest.approx(ref.pvalue, rel=1e-6)


def test_unequal_periods_are_rates_per_day() -> None:
    # same daily rate, periods of 300 and 150 days: no change
    r, lo, hi, _ = exact_rate_ratio(300, 300, 150, 150)
    assert r == pytest.approx(1.0)
    assert lo < 1 < hi


def test_zero_before_is_refused() -> None:
    with pytest.raises(InputError, match="no crimes in the before period"):
        exact_rate_ratio(0, 100, 5, 100)


def test_wording_never_says_significant_across_no_change() -> None:
    e = Estimate("x", "crimes", "m", ratio=0.8, lo=0.6, hi=1.05, p=0.09)
    s = describe(e)
    assert "significant" not in s and "cannot show" in s
    e2 = Estimate("x", "crimes", "m", ratio=0.7, lo=0.6, hi=0.8, p=0.001)
    assert "statistically significant reduction" in describe(e2)
    assert e2.to_dict()["pct_change"] == pytest.approx(-30.0)
