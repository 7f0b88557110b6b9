"""The batched quasi-Poisson IRLS agrees with statsmodels on the same data."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolwise.errors import InputError
from patrolwise.evaluate.glm import fit_quasi_poisson


def _data(seed: int, n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.column_stack(
        [np.ones(n), rng.integers(0, 2, n), rng.normal(size=n), rng.integers(0, 2, n)]
    )
    off = rng.normal(0, 0.3, n)
    mu = np.exp(x @ np.array([0.2, -0.4, 0.3, 0.1]) + off)
    y = rng.negative_binomial(2, 2 / (2 + mu))
    return x, y.astype(float), off


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000))
def test_agrees_with_statsmodels(seed: int) -> None:
    x, y, off = _data(seed)
    f = fit_quasi_poisson(y[None, :], x, offset=off)
    r = sm.GLM(y, x, family=sm.families.Poisson(), offset=off).fit(scale="X2")
    np.testing.assert_allclose(f.beta[0], r.params, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(f.cov[0])), r.bse, rtol=1e-6)
    assert f.scale[0] == pytest.approx(r.scale, rel=1e-6)


def test_batch_rows_equal_single_fits() -> None:
    x, y1, _ = _data(1)
    _, y2, _ = _data(2)
    both = fit_quasi_poisson(np.vstack([y1, y2]), x)
    one = fit_quasi_poisson(y2[None, :], x)
    np.testing.assert_allclose(both.beta[1], one.beta[0], rtol=1e-9)


def test_constant_column_is_a_clear_error() -> None:
    x, y, _ = _data(3)
    x[:, 1] = 1.0  # treatment identical to the intercept: every day treated
    with pytest.raises(InputError, match="constant or duplicated"):
        fit_quasi_poisson(y[None, :], x)


def test_a_coefficient_run_off_to_infinity_has_no_standard_error_on_any_machine() -> None:
    """No crime on any treated day (or on any of a weekday's days) runs that coefficient off to
    minus infinity: its rows' fitted means underflow to ~1e-13 and X'WX is singular to rounding.
    Whether LAPACK then raised (a bare LinAlgError, a traceback from 'evaluate patrol-days') or
    returned a huge inverse differed between machines, and with it whether the other
    coefficients had standard errors. Now the run-off coefficient has none, on every machine,
    and the others have those of the fit without its rows."""
    rng = np.random.default_rng(4)
    n = 120
    area = np.arange(n) % 4
    treat = (rng.random(n) < 0.5).astype(float)
    x = np.column_stack([np.ones(n), treat, area == 1, area == 2, area == 3]).astype(float)
    y = rng.poisson(np.exp(0.5 + 0.3 * (area == 2)), n).astype(float)
    y[treat == 1] = 0.0  # no crime on any treated day: the treatment runs off
    fit = fit_quasi_poisson(y[None, :], x)
    assert fit.beta[0, 1] < -20 and np.isnan(fit.se(1)[0])
    # the others are those of the untreated rows alone (the run-off rows weigh nothing), scale
    # and residual degrees of freedom included (counting the run-off rows narrowed intervals)
    rest = fit_quasi_poisson(y[None, treat == 0], np.delete(x[treat == 0], 1, axis=1))
    np.testing.assert_allclose(fit.beta[0, [0, 2, 3, 4]], rest.beta[0], rtol=1e-6)
    assert fit.df_resid[0] == rest.df_resid[0] == (treat == 0).sum() - 4
    np.testing.assert_allclose(fit.scale, rest.scale, rtol=1e-6)
    keep = [0, 2, 3, 4]
    np.testing.assert_allclose(fit.cov[0][np.ix_(keep, keep)], rest.cov[0], rtol=1e-6)
    # a nuisance coefficient run off (a weekday with no crime anywhere): the treatment keeps the
    # standard error of the fit without that weekday's rows
    wd = np.arange(n) % 6
    xw = np.column_stack([np.ones(n), treat] + [(wd == k).astype(float) for k in range(1, 6)])
    yw = rng.poisson(1.5, n).astype(float)
    yw[wd == 3] = 0.0
    fw = fit_quasi_poisson(yw[None, :], xw)
    kept = wd != 3
    rw = fit_quasi_poisson(yw[None, kept], np.delete(xw[kept], 4, axis=1))  # weekday 3
    assert np.isnan(fw.se(4)[0]) and fw.converged[0]
    np.testing.assert_allclose(fw.se(1), rw.se(1), rtol=1e-6)
    # the patrol-day model says so rather than reporting 'a 100% reduction'
    from patrolwise.evaluate.patrol_days import _usable, build_panel, design

    from .test_evaluate_patrol_days import hotspots, simulated

    crimes, asg, days = simulated(0.3, seed=5, rate=0.2, n_days=28)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    panel.loc[panel["assigned"] == 1, "crimes"] = 0
    ph, _ = _usable(panel, "assigned", "crimes")
    xp, _ = design(ph, ph["assigned"].to_numpy(float))
    f = fit_quasi_poisson(ph["crimes"].to_numpy(float)[None, :], xp)
    assert np.isnan(f.se(1)[0]) and np.isfinite(f.se(0)[0])


def test_a_week_long_panel_needs_no_trend_beside_its_weekdays() -> None:
    """Over one week each weekday falls on one date, so a trend is a sum of weekday effects: the
    design was singular, and LAPACK raised on one machine ('the model cannot be fitted') and
    returned an arbitrary split on another. The trend is left out over a week or less (the
    treatment's estimate is the same either way: the split only moved between the others)."""
    from patrolwise.evaluate.patrol_days import _usable, build_panel, design

    from .test_evaluate_patrol_days import hotspots, simulated

    crimes, asg, days = simulated(0.3, seed=1, rate=1.0, n_days=7)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    ph, _ = _usable(panel, "assigned", "harm")
    x, names = design(ph, ph["assigned"].to_numpy(float))
    assert "trend" not in names and np.linalg.matrix_rank(x) == x.shape[1]
    fit = fit_quasi_poisson(ph["harm"].to_numpy(float)[None, :], x)
    assert fit.converged[0] and np.isfinite(fit.se(1)[0])
    # eight days: the trend is back, and the design still has full rank
    crimes, asg, days = simulated(0.3, seed=1, rate=1.0, n_days=8)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    ph, _ = _usable(panel, "assigned", "harm")
    x, names = design(ph, ph["assigned"].to_numpy(float))
    assert "trend" in names and np.linalg.matrix_rank(x) == x.shape[1]


def test_a_design_singular_to_rounding_is_refused_on_every_machine() -> None:
    """A column that is a combination of others (not an exact duplicate: trend and weekday
    effects over a week) went to LAPACK, which may or may not meet an exact zero pivot; the
    design's own singular values decide now."""
    n = 35
    day = np.arange(n) % 7
    x = np.column_stack(
        [np.ones(n), (np.arange(n) % 2).astype(float), day / 6.0]
        + [(day == k).astype(float) for k in range(1, 7)]
    )
    y = np.random.default_rng(0).poisson(2.0, n).astype(float)
    with pytest.raises(InputError, match="constant or duplicated"):
        fit_quasi_poisson(y[None, :], x)


def test_a_singular_response_fails_alone_in_a_batch() -> None:
    """Power, validation and randomisation inference fit many trials in one batch; one trial
    whose design was singular (its treatment column the intercept: every day treated) made
    np.linalg.solve raise for the whole batch. With per_row that trial fails alone (not
    converged, NaN coefficients and covariance) and the others equal their single fits; a
    single fit still refuses such a design with one clear line."""
    x, y1, _ = _data(1)
    _, y2, _ = _data(2)
    _, y3, _ = _data(3)
    xb = np.stack([x, x, x]).copy()
    xb[1, :, 1] = 1.0
    fit = fit_quasi_poisson(np.vstack([y1, y2, y3]), xb, per_row=True)
    assert fit.converged.tolist() == [True, False, True]
    assert np.isnan(fit.beta[1]).all() and np.isnan(fit.cov[1]).all()
    for i, yy in ((0, y1), (2, y3)):
        one = fit_quasi_poisson(yy[None, :], x)
        np.testing.assert_allclose(fit.beta[i], one.beta[0], rtol=1e-9)
        np.testing.assert_allclose(fit.cov[i], one.cov[0], rtol=1e-9)
    with pytest.raises(InputError, match="constant or duplicated"):
        fit_quasi_poisson(np.vstack([y1, y2, y3]), xb)


def test_a_batch_with_different_run_off_coefficients_equals_its_fits_one_by_one() -> None:
    """Fits of one batch are inverted together by which coefficients ran off (no Python per
    fit): a healthy response, one with an empty weekday and one with no crime on treated days
    give, in one batch, what each gives alone."""
    rng = np.random.default_rng(9)
    n = 120
    wd = np.arange(n) % 6
    treat = (rng.random(n) < 0.5).astype(float)
    x = np.column_stack([np.ones(n), treat] + [(wd == k).astype(float) for k in range(1, 6)])
    ys = rng.poisson(1.5, (3, n)).astype(float)
    ys[1, wd == 3] = 0.0
    ys[2, treat == 1] = 0.0
    batch = fit_quasi_poisson(ys, np.broadcast_to(x, (3, *x.shape)), per_row=True)
    for r in range(3):
        one = fit_quasi_poisson(ys[r][None, :], x)
        # a run-off coefficient's value is wherever its fit stopped (the batch iterates until
        # all converge): only the others, which have standard errors, are compared
        kept = np.flatnonzero(np.isfinite(np.diagonal(one.cov[0])))
        np.testing.assert_allclose(batch.beta[r, kept], one.beta[0, kept], rtol=1e-6, atol=1e-9)
        both = np.ix_(kept, kept)
        np.testing.assert_allclose(batch.cov[r][both], one.cov[0][both], rtol=1e-6, atol=1e-12)
        assert np.isnan(np.diagonal(batch.cov[r])).sum() == len(x.T) - len(kept)
        assert batch.df_resid[r] == one.df_resid[0]
    assert (
        np.isnan(batch.se(4)[1]) and np.isnan(batch.se(1)[2]) and np.isfinite(batch.se(1)[:2]).all()
    )
