"""Engagements of the synthetic outreach team: who they spoke to, their needs and referrals.

A fixed pool of pseudonymous people (``person_ref`` placeholders such as "P0012", which the
engage stage replaces with keyed hashes) is met with Zipf-like frequencies, so a few people are
contacted again and again, as in a real outreach case log, while most are met once or twice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

AGE_BANDS = ("under 18", "18-24", "25-34", "35-44", "45-54", "55+")
AGE_P = np.array([0.18, 0.27, 0.22, 0.16, 0.11, 0.06])
GENDERS = ("male", "female", "not stated")
GENDER_P = np.array([0.62, 0.34, 0.04])
NEEDS = (
    "housing",
    "substance use",
    "alcohol",
    "mental health",
    "food",
    "debt",
    "immigration",
    "domestic abuse",
    "exploitation",
    "employment",
)
NEED_P = np.array([0.35, 0.25, 0.2, 0.22, 0.15, 0.08, 0.05, 0.05, 0.06, 0.08])
#: agency a need is referred to
REFERRAL_FOR = {
    "housing": "Housing Options",
    "substance use": "Turning Point drug and alcohol service",
    "alcohol": "Turning Point drug and alcohol service",
    "mental health": "Mental health crisis team",
    "food": "Food bank",
    "debt": "Citizens Advice",
    "immigration": "Refugee and migrant support",
    "domestic abuse": "Domestic abuse service",
    "exploitation": "Children's social care",
    "employment": "Jobcentre Plus",
}
COLUMNS = [
    "engagement_id",
    "team",
    "area_id",
    "at",
    "person_ref",
    "age_band",
    "gender",
    "needs",
    "referrals",
    "safeguarding",
    "staff",
    "consent",
]


def make_engagements(
    rng: np.random.Generator,
    plan: pd.DataFrame,
    true_visits: pd.DataFrame,
    per_visit: float = 1.1,
    n_people: int = 350,
) -> pd.DataFrame:
    """A few engagements per outreach visit (Poisson, mean ``per_visit``), timed inside the visit:
    the tracked presence where GPS exists, else the planned slot. ``needs`` and ``referrals`` are
    ";"-separated; 15% of people decline to give details (no person_ref, no consent)."""
    visits = plan[plan["team"] == "outreach"][["area_id", "date", "start", "end"]].copy()
    tv = true_visits[true_visits["team"] == "outreach"][["area_id", "date", "start", "end"]]
    visits = visits.merge(tv, on=["area_id", "date"], how="left", suffixes=("", "_true"))
    start = visits["start_true"].fillna(visits["start"]).to_numpy(dtype="datetime64[ns]")
    end = visits["end_true"].fillna(visits["end"]).to_numpy(dtype="datetime64[ns]")
    k = rng.poisson(per_visit, len(visits))
    vi = np.repeat(np.arange(len(visits)), k)
    n = vi.size
    span = (end[vi] - start[vi]).astype("timedelta64[s]").astype(np.int64)
    at = start[vi] + (rng.random(n) * span).astype("timedelta64[s]")
    # people: fixed traits, met with Zipf-like frequency
    pop_w = 1.0 / (np.arange(n_people) + 10.0)
    person = rng.choice(n_people, size=n, p=pop_w / pop_w.sum())
    p_age = rng.choice(len(AGE_BANDS), size=n_people, p=AGE_P)
    p_gender = rng.choice(len(GENDERS), size=n_people, p=GENDER_P)
    p_needs = rng.random((n_people, len(NEEDS))) < NEED_P
    declined = rng.random(n) < 0.15
    # each contact raises a subset of the person's needs (at least one when they have any)
    raised = p_needs[person] & (rng.random((n, len(NEEDS))) < 0.7)
    referred = raised & (rng.random((n, len(NEEDS))) < 0.4)
    names = np.array(NEEDS, dtype=object)
    agencies = np.array([REFERRAL_FOR[x] for x in NEEDS], dtype=object)
    needs_s = [";".join(names[r]) for r in raised]
    refs_s = [";".join(dict.fromkeys(agencies[r])) for r in referred]
    under18 = p_age[person] == 0
    safeguarding = (under18 & (rng.random(n) < 0.3)) | (
        raised[:, [NEEDS.index("domestic abuse"), NEEDS.index("exploitation")]].any(axis=1)
    )
    ref = np.array([f"P{i:04d}" for i in person], dtype=object)
    ref[declined] = None
    order = np.argsort(at, kind="stable")
    df = pd.DataFrame(
        {
            "engagement_id": np.arange(1, n + 1),
            "team": "outreach",
            "area_id": visits["area_id"].to_numpy()[vi][order],
            "at": pd.to_datetime(at[order]).floor("s"),
            "person_ref": ref[order],
            "age_band": np.array(AGE_BANDS, dtype=object)[p_age[person]][order],
            "gender": np.array(GENDERS, dtype=object)[p_gender[person]][order],
            "needs": np.array(needs_s, dtype=object)[order] if n else [],
            "referrals": np.array(refs_s, dtype=object)[order] if n else [],
            "safeguarding": safeguarding[order],
            "staff": rng.choice(["Worker A", "Worker B", "Worker C"], size=n)[order],
            "consent": ~declined[order],
        }
    )
    return df[COLUMNS]
