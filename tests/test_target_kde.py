"""Kernel density: binned FFT estimate within the stated tolerance of the direct kernel sum."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from patrolwise.errors import InputError
from patrolwise.target.grid import Grid, make_grid
from patrolwise.target.kde import choose_bandwidth, kde_direct, kde_grid
from patrolwise.target.surface import find_surface


def _points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(458000, 500, n)
    y = rng.normal(304000, 350, n)
    # police.uk-like snapping to street points
    x, y = np.round(x / 37) * 37, np.round(y / 29) * 29
    return x, y, rng.gamma(0.7, 20.0, n)


@pytest.mark.parametrize("kernel", ["quartic", "gaussian"])
@pytest.mark.parametrize("h", [90.0, 160.0, 300.0])
def test_kde_matches_direct_sum(kernel: str, h: float) -> None:
    x, y, w = _points(3000, int(h))
    g = make_grid(x, y, 50.0)
    est = kde_grid(g, x, y, w, bandwidth=h, kernel=kernel)
    cx, cy = g.centres()
    ref = kde_direct(cx, cy, x, y, w, bandwidth=h, kernel=kernel)
    peak = ref.max()
    # the tolerance stated in patrolwise.target.kde
    assert np.abs(est - ref).max() < 0.001 * peak
    m = ref >= (0.05 if kernel == "quartic" else 0.01) * peak
    assert (np.abs(est - ref)[m] / ref[m]).max() < 0.005


def test_kde_integrates_to_total_weight() -> None:
    x, y, w = _points(2000, 1)
    g = make_grid(x, y, 20.0, pad=20)
    est = kde_grid(g, x, y, w, bandwidth=120.0, kernel="quartic")
    assert est.sum() * g.cell_area == pytest.approx(w.sum(), rel=1e-3)


def test_single_point_quartic_by_hand() -> None:
    g = Grid(458000.0, 304000.0, 10.0, 21, 21)
    est = kde_grid(g, [458105.0], [304105.0], bandwidth=50.0, kernel="quartic")
    cx, cy = g.centres()
    d2 = (cx - 458105.0) ** 2 + (cy - 304105.0) ** 2
    exact = np.where(d2 < 2500, 3 / (math.pi * 2500) * (1 - d2 / 2500) ** 2, 0.0)
    assert np.abs(est - exact).max() < 0.005 * exact.max()
    assert est[np.argmax(exact)] == pytest.approx(3 / (math.pi * 2500), rel=0.005)


def test_bandwidth_rule_and_surface_notes() -> None:
    x, y, w = _points(500, 4)
    h, rule = choose_bandwidth(x, y, 25.0)
    assert 50.0 <= h <= 200.0 and "Silverman" in rule
    crimes = pd.DataFrame({"x": x, "y": y, "harm": w})
    s = find_surface(crimes, method="kde", weight="harm", cell=25.0)
    assert any(n.startswith("bandwidth") for n in s.notes)
    assert s.params["bandwidth"] == pytest.approx(h, abs=1e-3)
    assert s.table["density"].max() > 0


def test_kde_bad_input() -> None:
    g = Grid(0.0, 0.0, 10.0, 5, 5, "hex")
    with pytest.raises(InputError, match="square grid"):
        kde_grid(g, [1.0], [1.0], bandwidth=20.0)
    g = Grid(0.0, 0.0, 10.0, 5, 5)
    with pytest.raises(InputError, match="kernel"):
        kde_grid(g, [1.0], [1.0], bandwidth=20.0, kernel="epanechnikov")
    with pytest.raises(InputError, match="bandwidth"):
        kde_grid(g, [1.0], [1.0], bandwidth=0.0)
