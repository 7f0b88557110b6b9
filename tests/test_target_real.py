"""Real police.uk data (Leicestershire, Aug-Oct 2022): Gi* against esda, and violence hot spots
in Leicester city centre."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patrolwise.geo import to_projected
from patrolwise.target.gistar import gistar_grid_z
from patrolwise.target.select import select_hotspots
from patrolwise.target.surface import find_surface

esda = pytest.importorskip("esda")
libpysal = pytest.importorskip("libpysal")

#: the Clock Tower, Leicester (centre of the city centre)
CLOCK_TOWER = to_projected([-1.1336], [52.6365])


@pytest.fixture(scope="module")
def violence(shared_data: Path) -> pd.DataFrame:
    frames = [
        pd.read_csv(shared_data / "police-uk" / f"2022-{m}-leicestershire-street.csv")
        for m in ("08", "09", "10")
    ]
    df = pd.concat(frames, ignore_index=True)
    df = df[(df["Crime type"] == "Violence and sexual offences") & df["Longitude"].notna()]
    x, y = to_projected(df["Longitude"], df["Latitude"])
    return pd.DataFrame(
        {"x": x, "y": y, "category": df["Crime type"].to_numpy(), "location": df["Location"]}
    )


def test_real_gistar_matches_esda(violence: pd.DataFrame) -> None:
    s = find_surface(violence, method="count", weight="count", cell=700.0)
    g = s.grid
    assert g is not None and g.n > 4_000  # the whole force area
    y = s.table["count"].to_numpy(float)
    w = libpysal.weights.lat2W(g.nrows, g.ncols, rook=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(y, w, transform="B", star=True, permutations=0).Zs
    assert np.abs(gistar_grid_z(g, y) - ref).max() < 1e-9


def test_real_violence_hot_spots_in_city_centre(violence: pd.DataFrame) -> None:
    s = find_surface(violence, method="gistar", weight="count", cell=100.0)
    hs = select_hotspots(s, 5)
    assert len(hs) == 5
    cent = hs.geometry.centroid
    d = np.hypot(cent.x - CLOCK_TOWER[0][0], cent.y - CLOCK_TOWER[1][0])
    assert d.iloc[0] < 1000  # the top hot spot is within 1 km of the Clock Tower
    assert (d < 2000).sum() >= 4
    assert (hs["width_m"] <= 150 + 1e-6).all()
