"""Target: find harm-weighted micro hot spots and understand them, on a crimes table alone.

A pure library (no database): give it a DataFrame with projected ``x, y`` (metres), ``harm``,
``category``, ``offence``, ``occurred_at`` (naive UTC, NaT when only the month is known) and
``month``, as ``patrolwise.store.crimes.load_crimes`` returns or as you build yourself::

    from patrolwise.target import select_crimes, find_surface, select_hotspots
    crimes = select_crimes(crimes, start=date(2022, 3, 1), end=date(2023, 1, 31))
    surface = find_surface(crimes, method="gistar", weight="harm")   # every unit, z, p, class
    hotspots = select_hotspots(surface, top=7)                      # merged, named polygons
"""

from .accuracy import forecast_accuracy
from .concentration import concentration_curve, concentration_table, places_for_share
from .filters import select_crimes
from .gistar import adjust_p, classify, gistar_grid_z, gistar_z, permutation_p
from .grid import Grid, bin_points, choose_cell, make_grid
from .kde import choose_bandwidth, kde_direct, kde_grid
from .peaks import peak_grid, peak_hours, peak_summary
from .select import select_hotspots
from .stability import stability
from .surface import Surface, find_surface
from .units import neighbour_weights, read_units

__all__ = [
    "Grid",
    "Surface",
    "adjust_p",
    "bin_points",
    "choose_bandwidth",
    "choose_cell",
    "classify",
    "concentration_curve",
    "concentration_table",
    "find_surface",
    "forecast_accuracy",
    "gistar_grid_z",
    "gistar_z",
    "kde_direct",
    "kde_grid",
    "make_grid",
    "neighbour_weights",
    "peak_grid",
    "peak_hours",
    "peak_summary",
    "permutation_p",
    "places_for_share",
    "read_units",
    "select_crimes",
    "select_hotspots",
    "stability",
]
