"""Engagement summaries in counts only, with small counts suppressed.

The provider must show its value without exposing people: a "2" in a cell for one hot spot and
one week can identify someone to a local reader, so counts from 1 to threshold-1 are shown as
"<5" (threshold 5 by default), the usual rule for official statistics on vulnerable people.
"""

from __future__ import annotations

import pandas as pd

DEFAULT_THRESHOLD = 5


def suppress(counts: pd.DataFrame | pd.Series, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Counts as strings, with 1..threshold-1 replaced by '<threshold' (zeros stay 0)."""
    df = counts.to_frame() if isinstance(counts, pd.Series) else counts.copy()
    num = df.select_dtypes("number").columns
    for c in num:
        v = df[c]
        df[c] = v.astype("Int64").astype(str).where(~((v > 0) & (v < threshold)), f"<{threshold}")
    return df


def summarise(
    engagements: pd.DataFrame,
    referrals: pd.DataFrame,
    *,
    area_names: dict[int, str] | None = None,
    threshold: int | None = DEFAULT_THRESHOLD,
) -> dict[str, pd.DataFrame]:
    """Tables by hot spot, ISO week, need and agency, plus repeat contacts per pseudonym.

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
    e["week"] = pd.to_datetime(e["at"]).dt.to_period("W-SUN").dt.start_time.dt.strftime("%Y-%m-%d")
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
