"""Never-together breaches: police and outreach in the same hot spot at the same time.

The two services must be seen as separate: a breach is any time when both teams were present in
one hot spot (or in two hot spots closer than ``distance_m``: strictly, as the plan's gap between
the teams, so hot spots exactly that far apart do not breach). Each team's presence is first
merged over its devices (two officers together make one presence), so one overlap is one breach
however many staff were there; the breach carries the overlap in minutes and who was there.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely

from ..errors import InputError
from .dosage import MIN_MS, union_minutes

BREACH_COLUMNS = [
    "local_day",
    "area_id",
    "other_area_id",
    "start",
    "end",
    "overlap_minutes",
    "police_devices",
    "outreach_devices",
]


def check_distance(distance_m: float) -> float:
    """The breach distance as a float, refusing NaN, infinity and negatives: NaN compares False
    with every distance, so it would switch the rule off silently, and infinity makes every pair
    of hot spots one place."""
    d = float(distance_m)
    if not math.isfinite(d) or d < 0:
        raise InputError(f"--distance must be a number of metres, 0 or more; got {distance_m}")
    return d


def near_pairs(area_ids: np.ndarray, geoms: np.ndarray, distance_m: float) -> pd.DataFrame:
    """Pairs of hot spots (a, b) that count as one place: a == b, or closer than ``distance_m``.

    Strictly closer: shapely's ``dwithin`` also takes pairs exactly ``distance_m`` apart, which
    the option's "closer than" (and the plan's gap rule) leave out, so those are dropped.
    """
    distance_m = check_distance(distance_m)
    ids = np.asarray(area_ids, dtype=np.int64)
    pairs = [(int(a), int(a)) for a in ids]
    if distance_m > 0 and len(ids) > 1:
        tree = shapely.STRtree(geoms)
        i, j = tree.query(geoms, predicate="dwithin", distance=distance_m)
        other = i != j
        i, j = i[other], j[other]
        close = shapely.distance(geoms[i], geoms[j]) < distance_m
        pairs += [(int(ids[a]), int(ids[b])) for a, b in zip(i[close], j[close], strict=True)]
    return pd.DataFrame(pairs, columns=["area_id", "other_area_id"]).drop_duplicates()


def breaches(
    visits: pd.DataFrame,
    *,
    areas: pd.DataFrame | None = None,
    distance_m: float = 0.0,
    police: str = "police",
    outreach: str = "outreach",
) -> pd.DataFrame:
    """One row per overlap of police and outreach presence, per local day.

    ``area_id`` is where the police were, ``other_area_id`` where outreach were (the same hot spot
    unless ``distance_m`` > 0 and ``areas`` [area_id, geometry] are given).
    """
    distance_m = check_distance(distance_m)
    if visits.empty:
        return pd.DataFrame(columns=BREACH_COLUMNS)
    keys = ["local_day", "area_id", "team"]
    blocks = union_minutes(visits, keys)
    pol = blocks[blocks["team"] == police].drop(columns=["team", "minutes"])
    out = blocks[blocks["team"] == outreach].drop(columns=["team", "minutes"])
    if areas is not None and distance_m > 0:
        pairs = near_pairs(
            areas["area_id"].to_numpy(), np.asarray(areas.geometry.values), distance_m
        )
    else:
        ids = np.union1d(pol["area_id"].unique(), out["area_id"].unique())
        pairs = pd.DataFrame({"area_id": ids, "other_area_id": ids})
    pol = pol.merge(pairs, on="area_id")
    out = out.rename(columns={"area_id": "other_area_id"})
    m = pol.merge(out, on=["local_day", "other_area_id"], suffixes=("_p", "_o"))
    s = np.maximum(m["start_p"].to_numpy(), m["start_o"].to_numpy())
    e = np.minimum(m["end_p"].to_numpy(), m["end_o"].to_numpy())
    keep = e > s
    m = m[keep].reset_index(drop=True)
    res = pd.DataFrame(
        {
            "local_day": m["local_day"],
            "area_id": m["area_id"],
            "other_area_id": m["other_area_id"],
            "start": s[keep],
            "end": e[keep],
        }
    )
    res["overlap_minutes"] = (
        res["end"].to_numpy().astype("datetime64[ms]").astype(np.int64)
        - res["start"].to_numpy().astype("datetime64[ms]").astype(np.int64)
    ) / MIN_MS
    res["police_devices"] = _who(res, visits, police, "area_id")
    res["outreach_devices"] = _who(res, visits, outreach, "other_area_id")
    return res[BREACH_COLUMNS].sort_values(["start", "area_id"]).reset_index(drop=True)


def _who(res: pd.DataFrame, visits: pd.DataFrame, team: str, area_col: str) -> list[str]:
    """Devices of ``team`` present during each breach, comma-separated."""
    if res.empty:
        return []
    r = res[["local_day", area_col, "start", "end"]].copy()
    r["_b"] = np.arange(len(r))
    v = visits[visits["team"] == team][["local_day", "area_id", "device_id", "start", "end"]]
    m = r.merge(v.rename(columns={"area_id": area_col}), on=["local_day", area_col])
    m = m[(m["start_y"] < m["end_x"]) & (m["end_y"] > m["start_x"])]
    names = m.groupby("_b")["device_id"].agg(lambda s: ",".join(sorted(set(map(str, s)))))
    return [names.get(i, "") for i in range(len(r))]
