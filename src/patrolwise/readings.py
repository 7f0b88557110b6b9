"""Plausible GPS readings: the one set of limits every way pings come in is checked against.

Live ingest (:mod:`patrolwise.web.ingest`) refuses a position outside them; a track file
(:func:`patrolwise.io.tracks.finish_points`) rejects the row, naming its row, field and reason.
Both import the limits from here, so a reading one path refuses the other cannot store.

The checks are vectorised (whole columns at once); a reading that is not given (NaN: most GPX
has no speed) is not checked.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .geo import projected_extent


class Reading(NamedTuple):
    """The range a reading must fall in (edges included), in the unit it is stored in."""

    lo: float
    hi: float
    unit: str
    what: str


#: The one table of plausible readings, in stored units. A reading outside its range is a wrong
#: unit or a broken sensor: every ingest endpoint alike refuses it (400; 422 naming the item and
#: field in a batch, whose schema takes its bounds from here) and a track file's row is rejected
#: for it: cleaning could not rescue a position whose other readings are garbage. Negative
#: speed, heading, accuracy and battery never get here: the decoders and the file readers read
#: them as unknown (-1). The ceilings:
#:
#: - speed 280 m/s (about 1,000 km/h or 545 knots): above any road vehicle, a police
#:   helicopter (~300 km/h) and an airliner's cruise (~900 km/h), so no patrol's fix; export
#:   rules (COCOM) let a civil receiver stop reporting above 1,000 knots anyway.
#: - accuracy 100 km: a phone's coarsest fix (a cell tower's, in the country) is a few km;
#:   100 km leaves every real estimate to cleaning's threshold (50 m by default) and refuses
#:   only figures that mean nothing, such as 1e9 m (25 times round the Earth).
#: - altitude -500..20,000 m: the lowest dry land is the Dead Sea shore (-430 m, and an
#:   ellipsoidal height differs from sea level by at most ~110 m); airliners fly below 13 km
#:   and civil receivers may stop reporting above 18 km (COCOM). UK patrols are at -5..1,345 m.
READINGS: dict[str, Reading] = {
    "battery": Reading(0.0, 100.0, "%", "0..100 %"),
    "heading": Reading(0.0, 360.0, "degrees", "0..360 degrees"),
    "accuracy": Reading(0.0, 100_000.0, "m", "0..100,000 m (100 km)"),
    "speed": Reading(0.0, 280.0, "m/s", "0..280 m/s (about 1,000 km/h)"),
    "altitude": Reading(-500.0, 20_000.0, "m", "-500..20,000 m"),
}

#: an easting and a northing both within this are degrees given as metres: a latitude and
#: longitude in the easting/northing fields (in the British National Grid they fall in the sea
#: off the Scillies, so the grid's area of use does not catch them)
DEGREES = 180.0


def outside_reading(key: str, values: ArrayLike) -> NDArray[np.bool_]:
    """Where ``values`` (of reading ``key`` of :data:`READINGS`, in its stored unit) fall outside
    its range; NaN (not given) never does."""
    r = READINGS[key]
    v = np.asarray(values, dtype=float)
    return np.asarray((v < r.lo) | (v > r.hi), dtype=bool)


def degrees_not_metres(easting: ArrayLike, northing: ArrayLike) -> NDArray[np.bool_]:
    """Where an easting and northing are both within ±180 (:data:`DEGREES`): degrees, not metres."""
    x = np.abs(np.asarray(easting, dtype=float))
    y = np.abs(np.asarray(northing, dtype=float))
    return np.asarray((x <= DEGREES) & (y <= DEGREES), dtype=bool)


def outside_grid(
    easting: ArrayLike, northing: ArrayLike, crs: str
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], tuple[float, float, float, float] | None]:
    """(easting outside, northing outside, the extent) for the area of use of ``crs``
    (:func:`patrolwise.geo.projected_extent`; for the British National Grid easting
    -104,729..688,806, northing -16,628..1,256,616 m).

    A coordinate outside it is no place the grid describes: another grid's, or a digit too many
    or too few. Nothing is outside when pyproj knows no area of use (the extent is then None);
    NaN never is.
    """
    x = np.asarray(easting, dtype=float)
    y = np.asarray(northing, dtype=float)
    extent = projected_extent(crs)
    if extent is None:
        none = np.zeros(x.shape, dtype=bool)
        return none, none.copy(), None
    x0, y0, x1, y1 = extent
    return (
        np.asarray((x < x0) | (x > x1), dtype=bool),
        np.asarray((y < y0) | (y > y1), dtype=bool),
        extent,
    )
