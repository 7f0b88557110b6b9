"""The synthetic city: realistic, seeded data for the demo, the tests and validation runs.

``make_city(seed)`` builds a Leicester-like city centre with seven violent hot spots, an 11-month
before period, a 47-week randomised outreach trial with a planted effect, GPS tracks and an
engagement log; ``City.write(dir)`` writes it in the formats users bring.
``simulate_hotspot_days`` draws the hot spot x day panel alone, fast, for repeated trials.
"""

from .city import City, make_city
from .crimes import (
    HotspotPanel,
    day_factors,
    local_to_utc,
    make_assignment,
    simulate_hotspot_days,
)
from .offences import ASB, HOTSPOT_MIX, OFFENCES, OTHER_MIX, SERIOUS_VIOLENCE
from .writers import POLICE_UK_COLUMNS

__all__ = [
    "ASB",
    "HOTSPOT_MIX",
    "OFFENCES",
    "OTHER_MIX",
    "POLICE_UK_COLUMNS",
    "SERIOUS_VIOLENCE",
    "City",
    "HotspotPanel",
    "day_factors",
    "local_to_utc",
    "make_assignment",
    "make_city",
    "simulate_hotspot_days",
]
