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


def test_a_fit_whose_information_is_singular_is_not_converged_not_a_traceback() -> None:
    """A week of harm on five hot spots (the patrol-day harm model of a one-week panel): the
    fit ran coefficients off until the final X'WX was singular, and np.linalg.inv raised a bare
    LinAlgError (a traceback from 'evaluate patrol-days'). The fit now reports the response as
    not converged, with no covariance."""
    from patrolwise.evaluate.patrol_days import _usable, build_panel, design

    from .test_evaluate_patrol_days import hotspots, simulated

    crimes, asg, days = simulated(0.3, seed=1, rate=1.0, n_days=7)
    panel = build_panel(crimes, hotspots(), days[0].date(), days[-1].date(), assignment=asg)
    ph, _ = _usable(panel, "assigned", "harm")
    x, _ = design(ph, ph["assigned"].to_numpy(float))
    fit = fit_quasi_poisson(ph["harm"].to_numpy(float)[None, :], x)
    assert not fit.converged[0] and np.isnan(fit.se(1)[0])


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
