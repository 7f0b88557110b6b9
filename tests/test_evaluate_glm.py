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
