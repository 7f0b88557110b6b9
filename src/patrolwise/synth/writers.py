"""Write the synthetic city in the formats real users bring, so the demo goes through real imports.

- ``police-uk/YYYY-MM/YYYY-MM-synthshire-street.csv``: police.uk street-level files, byte-shaped like
  the real downloads (12 columns, CRLF, month precision, blank Crime ID and outcome on ASB rows,
  coordinates of the anonymised street point, "On or near ..." locations).
- ``incidents.csv``: the force's own extract of the same crimes (anti-social behaviour is logged as
  incidents, not crimes, so it is absent), with the local wall-clock time to the minute, Home
  Office offence and code, and easting/northing. A time in the repeated October hour is ambiguous
  in local time, exactly as in real extracts.
- ``tracks/<device>-<YYYY-MM-DD>.gpx``: GPX 1.1, one file per outreach tracker per local day, times
  in UTC with ``Z``, a new segment after a gap of over 5 minutes, ``hdop`` = accuracy / 5 m.
- ``tracks/police-radio.csv``: the police radios' positions (callsign,time,easting,northing,
  accuracy). Each ping is written once: outreach pings in GPX, police pings in this CSV.
- ``hotspots.geojson`` (WGS84; area_id, name), ``engagements.csv`` (times ISO 8601 with the local
  UTC offset; needs and referrals ";"-separated) and ``plan.csv`` (times ISO 8601 UTC).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from ..geo import transform_geometry
from ..io.police_uk import HEADER as POLICE_UK_HEADER
from .offences import OUTCOME_WEIGHTS, OUTCOMES

if TYPE_CHECKING:
    from .city import City

#: the 12 columns of a police.uk street-level file, exactly as the reader expects them
POLICE_UK_COLUMNS = list(POLICE_UK_HEADER)
FORCE_SLUG = "synthshire"
GPX_GAP_SECONDS = 300


def _utc_z(t: pd.Series) -> pd.Series:
    return pd.to_datetime(t).dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def write_police_uk(city: City, out: Path) -> list[Path]:
    """One police.uk street CSV per month, rows grouped by LSOA as in the real files."""
    rng = np.random.default_rng([city.seed, 7])
    c = city.crimes
    is_asb = c["crime_id"].isna().to_numpy()
    outcome = np.array(OUTCOMES, dtype=object)[
        rng.choice(len(OUTCOMES), size=len(c), p=OUTCOME_WEIGHTS / OUTCOME_WEIGHTS.sum())
    ]
    outcome[is_asb] = ""
    df = pd.DataFrame(
        {
            "Crime ID": c["crime_id"].fillna("").to_numpy(dtype=object),
            "Month": c["month"].to_numpy(dtype=object),
            "Reported by": city.force,
            "Falls within": city.force,
            "Longitude": c["lon"].map("{:.6f}".format).to_numpy(dtype=object),
            "Latitude": c["lat"].map("{:.6f}".format).to_numpy(dtype=object),
            "Location": c["location"].to_numpy(dtype=object),
            "LSOA code": c["lsoa_code"].to_numpy(dtype=object),
            "LSOA name": c["lsoa_name"].to_numpy(dtype=object),
            "Crime type": c["category"].to_numpy(dtype=object),
            "Last outcome category": outcome,
            "Context": "",
        }
    )
    df = df.sort_values(["Month", "LSOA name"], kind="stable")
    paths = []
    for month, g in df.groupby("Month", sort=True):
        path = out / "police-uk" / str(month) / f"{month}-{FORCE_SLUG}-street.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        g.to_csv(path, index=False, lineterminator="\r\n", columns=POLICE_UK_COLUMNS)
        paths.append(path)
    return paths


def write_incidents(city: City, path: Path) -> Path:
    c = city.crimes[city.crimes["incident_id"].notna()]
    local = c["occurred_at"].dt.tz_localize("UTC").dt.tz_convert(city.timezone)
    pd.DataFrame(
        {
            "incident_id": c["incident_id"].to_numpy(dtype=object),
            "occurred": local.dt.strftime("%Y-%m-%d %H:%M").to_numpy(dtype=object),
            "offence": c["offence"].to_numpy(dtype=object),
            "ho_code": c["ho_code"].to_numpy(dtype=object),
            # the crime group a force's extract carries (here the police.uk category)
            "crime_group": c["category"].to_numpy(dtype=object),
            "easting": c["x"].round().astype(int).to_numpy(),
            "northing": c["y"].round().astype(int).to_numpy(),
        }
    ).to_csv(path, index=False)
    return path


_GPX_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gpx version="1.1" creator="patrolwise synthetic city" '
    'xmlns="http://www.topografix.com/GPX/1/1" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.topografix.com/GPX/1/1 '
    'http://www.topografix.com/GPX/1/1/gpx.xsd">\n'
)


def write_gpx(city: City, out: Path) -> list[Path]:
    """GPX 1.1 per outreach tracker and local day."""
    p = city.pings[city.pings["team"] == "outreach"]
    if p.empty:
        return []
    day = (
        p["t"].dt.tz_localize("UTC").dt.tz_convert(city.timezone).dt.strftime("%Y-%m-%d")
    ).to_numpy(dtype=object)
    tz = _utc_z(p["t"]).to_numpy(dtype=object)
    pts = (
        '<trkpt lat="'
        + p["lat"].map("{:.7f}".format).to_numpy(dtype=object)
        + '" lon="'
        + p["lon"].map("{:.7f}".format).to_numpy(dtype=object)
        + '"><time>'
        + tz
        + "</time><hdop>"
        + (p["accuracy"] / 5.0).map("{:.1f}".format).to_numpy(dtype=object)
        + "</hdop></trkpt>"
    )
    secs = p["t"].to_numpy().astype("datetime64[s]").astype(np.int64)
    dev = p["device_id"].to_numpy(dtype=object)
    key = dev + "|" + day
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(key)]
    paths = []
    for a, b in zip(starts, ends, strict=True):
        gaps = np.flatnonzero(np.diff(secs[a:b]) > GPX_GAP_SECONDS) + 1
        cuts = np.r_[0, gaps, b - a]
        segs = [
            "<trkseg>\n" + "\n".join(pts[a + i : a + j]) + "\n</trkseg>\n"
            for i, j in zip(cuts[:-1], cuts[1:], strict=True)
        ]
        name = f"{dev[a]} {day[a]}"
        text = (
            _GPX_HEAD
            + f"<metadata><name>{name}</name><time>{tz[a]}</time></metadata>\n"
            + f"<trk><name>{name}</name><type>foot</type>\n"
            + "".join(segs)
            + "</trk>\n</gpx>\n"
        )
        path = out / "tracks" / f"{dev[a]}-{day[a]}.gpx"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def write_police_radio(city: City, path: Path) -> Path:
    p = city.pings[city.pings["team"] == "police"]
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(
        {
            "callsign": p["device_id"].to_numpy(dtype=object),
            "time": _utc_z(p["t"]).to_numpy(dtype=object),
            "easting": p["x"].map("{:.1f}".format).to_numpy(dtype=object),
            "northing": p["y"].map("{:.1f}".format).to_numpy(dtype=object),
            "accuracy": p["accuracy"].map("{:.1f}".format).to_numpy(dtype=object),
        }
    ).to_csv(path, index=False)
    return path


def write_hotspots(city: City, path: Path) -> Path:
    hs = city.hotspots
    feats = []
    for a, name, g in zip(hs["area_id"], hs["name"], hs.geometry, strict=True):
        w = shapely.set_precision(transform_geometry(g, "EPSG:27700", "EPSG:4326"), 1e-7)
        feats.append(
            {
                "type": "Feature",
                "properties": {"area_id": int(a), "name": str(name)},
                "geometry": shapely.geometry.mapping(w),
            }
        )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}), encoding="utf-8")
    return path


def write_engagements(city: City, path: Path) -> Path:
    e = city.engagements
    local = e["at"].dt.tz_localize("UTC").dt.tz_convert(city.timezone)
    iso = local.map(lambda t: t.isoformat())
    e.assign(at=iso.to_numpy(dtype=object)).to_csv(path, index=False)
    return path


def write_plan(city: City, path: Path) -> Path:
    p = city.plan
    p.assign(start=_utc_z(p["start"]), end=_utc_z(p["end"])).to_csv(path, index=False)
    return path


def write_city(city: City, out: Path) -> dict[str, Path]:
    """Write every file; returns their paths (directories for the multi-file formats)."""
    out.mkdir(parents=True, exist_ok=True)
    write_police_uk(city, out)
    write_gpx(city, out)
    return {
        "police_uk": out / "police-uk",
        "incidents": write_incidents(city, out / "incidents.csv"),
        "tracks": out / "tracks",
        "police_radio": write_police_radio(city, out / "tracks" / "police-radio.csv"),
        "hotspots": write_hotspots(city, out / "hotspots.geojson"),
        "engagements": write_engagements(city, out / "engagements.csv"),
        "plan": write_plan(city, out / "plan.csv"),
    }
