"""Offence table of the synthetic city: police.uk category, Home Office offence, code and harm.

Harm is in Cambridge Crime Harm Index days, taken from the subgroup medians in
``../shared/data/harm/cbl-realcrime__cchi_weights.csv`` (a third party's derivation of the CCHI
workbook), so the synthetic harm totals behave like the real ones: a handful of violent offences
carry most of the harm, and anti-social behaviour carries none (it has no CCHI value).

Two offence mixes are kept: one for the violent hot spots (more violence, robbery and weapons, as in
Leicester's city-centre hot spots) and one for everywhere else (more shoplifting and other theft).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: police.uk categories counted as "serious violence" in the practice note's evaluation
SERIOUS_VIOLENCE: tuple[str, ...] = (
    "Violence and sexual offences",
    "Robbery",
    "Possession of weapons",
)

ASB = "Anti-social behaviour"

# category, Home Office offence description, HO code, CCHI days, weight in hot spots, elsewhere
_ROWS: list[tuple[str, str, str, float, float, float]] = [
    ("Violence and sexual offences", "Assault with injury", "8N", 365.0, 13.0, 4.5),
    (
        "Violence and sexual offences",
        "Assault with intent to cause serious harm",
        "5D",
        365.0,
        2.5,
        0.6,
    ),
    ("Violence and sexual offences", "Assault without injury", "105A", 10.0, 15.0, 9.0),
    (
        "Violence and sexual offences",
        "Assault without injury on a constable",
        "104",
        10.0,
        2.0,
        0.8,
    ),
    ("Violence and sexual offences", "Harassment", "8L", 10.0, 2.0, 3.0),
    ("Violence and sexual offences", "Malicious communications", "8R", 10.0, 0.5, 2.0),
    (
        "Violence and sexual offences",
        "Sexual assault on a female aged 13 and over",
        "17A",
        182.25,
        1.2,
        0.6,
    ),
    ("Violence and sexual offences", "Rape of a female aged 16 and over", "19C", 2555.0, 0.1, 0.1),
    ("Robbery", "Robbery of personal property", "34B", 365.0, 4.5, 0.8),
    ("Robbery", "Robbery of business property", "34A", 365.0, 0.5, 0.3),
    ("Possession of weapons", "Possession of article with blade or point", "10D", 273.75, 2.5, 0.4),
    ("Possession of weapons", "Possession of other weapons", "10C", 273.75, 0.5, 0.2),
    ("Public order", "Public fear, alarm or distress", "9", 7.5, 9.0, 5.0),
    ("Public order", "Racially or religiously aggravated public fear", "8M", 7.5, 2.0, 1.0),
    ("Drugs", "Possession of controlled drugs (cannabis)", "92E", 3.0, 4.0, 1.5),
    ("Drugs", "Possession of controlled drugs (excluding cannabis)", "92D", 3.0, 1.5, 0.5),
    ("Drugs", "Trafficking in controlled drugs", "92A", 5.0, 1.0, 0.3),
    ("Theft from the person", "Theft from the person", "39", 2.0, 6.0, 2.0),
    ("Other theft", "Other theft", "49", 2.0, 6.0, 9.0),
    ("Shoplifting", "Shoplifting", "46", 1.0, 3.0, 13.0),
    (
        "Criminal damage and arson",
        "Criminal damage to a building other than a dwelling",
        "58B",
        2.0,
        2.0,
        2.5,
    ),
    ("Criminal damage and arson", "Criminal damage to a vehicle", "58C", 2.0, 1.0, 3.0),
    ("Criminal damage and arson", "Arson not endangering life", "56B", 185.0, 0.1, 0.3),
    ("Vehicle crime", "Theft from a motor vehicle", "45", 5.0, 0.3, 3.0),
    ("Burglary", "Burglary - residential", "28E", 273.5, 0.1, 1.5),
    ("Burglary", "Burglary - business and community", "30C", 183.5, 0.3, 1.5),
    ("Bicycle theft", "Theft or unauthorised taking of a pedal cycle", "44", 2.0, 0.5, 2.0),
    ("Other crime", "Other miscellaneous offences against society", "99", 10.0, 0.2, 0.5),
    (ASB, "Anti-social behaviour", "", 0.0, 12.0, 22.0),
]

OFFENCES = pd.DataFrame(
    _ROWS, columns=["category", "offence", "ho_code", "harm", "w_hotspot", "w_other"]
)

#: outcome categories police.uk shows (drawn for non-ASB rows of the written files)
OUTCOMES = (
    "Investigation complete; no suspect identified",
    "Unable to prosecute suspect",
    "Under investigation",
    "Status update unavailable",
    "Local resolution",
    "Offender given a caution",
    "Awaiting court outcome",
    "Court result unavailable",
    "Further action is not in the public interest",
    "Formal action is not in the public interest",
)
OUTCOME_WEIGHTS = np.array([30, 28, 12, 8, 5, 4, 5, 3, 3, 2], dtype=float)


@dataclass(frozen=True)
class OffenceMix:
    """Probabilities over the rows of :data:`OFFENCES`, with the harm of each row alongside."""

    p: np.ndarray
    harm: np.ndarray

    def draw(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Row indices into OFFENCES for ``n`` crimes."""
        return rng.choice(len(self.p), size=n, p=self.p)


def _mix(col: str) -> OffenceMix:
    w = OFFENCES[col].to_numpy(dtype=float)
    return OffenceMix(p=w / w.sum(), harm=OFFENCES["harm"].to_numpy(dtype=float))


HOTSPOT_MIX = _mix("w_hotspot")
OTHER_MIX = _mix("w_other")


def mean_harm(mix: OffenceMix) -> float:
    """Expected CCHI days per crime under a mix (used to check harm totals in tests)."""
    return float((mix.p * mix.harm).sum())
