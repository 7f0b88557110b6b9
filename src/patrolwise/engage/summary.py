"""Engagement summaries in counts only, with small counts suppressed.

The provider must show its value without exposing people: a "2" in a cell for one hot spot and
one week can identify someone to a local reader, so counts from 1 to threshold-1 are shown as
"<5" (threshold 5 by default), the usual rule for official statistics on vulnerable people.

Hiding one cell is not enough: the rows of every table partition the same engagements, so a
column total is known (from another table, or a published grand total) and total minus the
visible cells gives the hidden count back. The rule, per column of each table:

1. primary: counts 1..threshold-1 are shown as ``<threshold``;
2. secondary: if exactly one cell in the column is primarily suppressed, the smallest other
   non-zero count in that column is hidden too, shown as ``x`` (hidden to protect another cell),
   so the total gives only the sum of two unknowns. Zeros stay visible: if a column has one
   small cell and otherwise only zeros, its total is itself below the threshold and every
   table that could reveal it is suppressed by step 1.

Columns, not rows, because each table's rows are disjoint groups of one population while the
columns of a row are different measures (engagements, people, referrals) that do not sum.

A row's label can disclose as much as its count: referral agencies are typed freely, so an
agency named in fewer than threshold referrals is pooled into one ``other agencies`` row.
Below-threshold summaries (``threshold`` < 5, or raw counts) are for outreach roles only; the
store enforces that.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_THRESHOLD = 5
#: shown for a cell hidden only so that a small count elsewhere in its column cannot be derived
SECONDARY = "x"
#: the row of ``by_agency`` that pools agencies with fewer referrals than the threshold
OTHER_AGENCIES = "other agencies"


def suppress(counts: pd.DataFrame | pd.Series, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Counts as strings: 1..threshold-1 as '<threshold', plus secondary 'x' (module docstring)."""
    df = counts.to_frame() if isinstance(counts, pd.Series) else counts.copy()
    num = df.select_dtypes("number").columns
    for c in num:
        v = df[c].fillna(0).to_numpy(dtype=np.int64)
        primary = (v > 0) & (v < threshold)
        secondary = np.zeros(len(v), dtype=bool)
        if primary.sum() == 1:
            cand = np.flatnonzero(~primary & (v > 0))
            if len(cand):
                secondary[cand[np.argmin(v[cand])]] = True
        shown = pd.Series(v, index=df.index).astype(str)
        shown[primary] = f"<{threshold}"
        shown[secondary] = SECONDARY
        df[c] = shown
    return df


def summarise(
    engagements: pd.DataFrame,
    referrals: pd.DataFrame,
    *,
    area_names: dict[int, str] | None = None,
    threshold: int | None = DEFAULT_THRESHOLD,
    tz: str = "Europe/London",
) -> dict[str, pd.DataFrame]:
    """Tables by hot spot, ISO week, need and agency, plus repeat contacts per pseudonym.

    Weeks run Monday to Sunday in local time (``tz``, settings.timezone): ``at`` is naive UTC,
    so bucketing it directly would put a contact at 00:30 on a summer Monday (23:30 UTC Sunday)
    in the week before.

    ``engagements``: id, area_id, at, person, needs (list), safeguarding.
    ``referrals``: engagement_id, agency, type, accepted. ``threshold=None`` returns raw counts
    (for people cleared to see them); otherwise small counts are suppressed.
    """
    e = engagements.copy()
    names = area_names or {}
    e["hot_spot"] = [
        names.get(int(a), f"area {int(a)}") if pd.notna(a) else "other location"
        for a in e["area_id"]
    ]
    local = pd.to_datetime(e["at"]).dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    e["week"] = local.dt.to_period("W-SUN").dt.start_time.dt.strftime("%Y-%m-%d")
    ref = referrals.merge(e[["id", "hot_spot"]], left_on="engagement_id", right_on="id", how="left")
    by_hs = (
        e.groupby("hot_spot")
        .agg(
            engagements=("id", "size"),
            people=("person", "nunique"),
            safeguarding=("safeguarding", "sum"),
        )
        .join(ref.groupby("hot_spot").size().rename("referrals"))
        .fillna(0)
        .astype(int)
        .reset_index()
    )
    by_week = (
        e.groupby("week")
        .agg(engagements=("id", "size"), people=("person", "nunique"))
        .astype(int)
        .reset_index()
    )
    needs = e[["id", "needs"]].explode("needs").dropna()
    by_need = (
        needs.groupby("needs")
        .size()
        .rename("engagements")
        .reset_index()
        .rename(columns={"needs": "need"})
    )
    if len(ref):
        # one agency however it was typed ('Shelter', 'shelter ', 'SHELTER'): counted, and pooled
        # or not, together, and shown as it was written most often (split, each spelling could
        # fall under the threshold and vanish into 'other agencies', or show a small count)
        key = ref["agency"].str.strip().str.casefold()
        written = ref["agency"].str.strip()
        shown = (
            pd.DataFrame({"k": key, "w": written})
            .groupby(["k", "w"])
            .size()
            .reset_index(name="n")
            .sort_values(["n", "w"], ascending=[False, True], kind="stable")
            .drop_duplicates("k")
            .set_index("k")["w"]
        )
        ref = ref.assign(agency=key.map(shown))
        if threshold is not None:
            # an agency is typed freely and kept in clear, so a rare one may be a person ("Kwame's
            # mum", "Dr Patel"): its label would disclose what its suppressed count hides
            n = ref.groupby("agency")["engagement_id"].transform("size")
            ref = ref.assign(agency=ref["agency"].where(n >= threshold, OTHER_AGENCIES))
        acc = ref["accepted"].astype("boolean")
        by_agency = (
            ref.assign(accepted_n=acc.fillna(False).astype(int))
            .groupby("agency")
            .agg(referrals=("engagement_id", "size"), accepted=("accepted_n", "sum"))
            .astype(int)
            .reset_index()
        )
    else:
        by_agency = pd.DataFrame(columns=["agency", "referrals", "accepted"])
    per_person = e.dropna(subset=["person"]).groupby("person").size()
    bins = pd.cut(per_person, [0, 1, 2, 4, 10**9], labels=["1", "2", "3-4", "5+"])
    repeat = (
        bins.value_counts()
        .reindex(["1", "2", "3-4", "5+"], fill_value=0)
        .rename("people")
        .rename_axis("contacts")
        .reset_index()
    )
    out = {
        "by_hotspot": by_hs,
        "by_week": by_week,
        "by_need": by_need,
        "by_agency": by_agency,
        "repeat_contacts": repeat,
    }
    if threshold is not None:
        out = {k: suppress(v, threshold) for k, v in out.items()}
    return out
