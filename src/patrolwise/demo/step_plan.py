"""Demo step: plans for both teams, the randomised patrol days, and the engagement summary.

Stores the trial's randomised assignment (``ctx.results['assignment']``, for the evaluator) and
the synthetic teams' working plan (so dosage can be compared with it), then shows the planner on
the week after the trial: randomised days, an outreach plan, a police plan kept apart from it,
the exports and one briefing sheet. Engagements are logged through the same path as the CLI
(pseudonyms, consent rules, encrypted notes) and reported as suppressed counts only.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any

import pandas as pd

from ..engage.log import EngagementInput, ReferralInput
from ..plan.briefing import build_briefing
from ..plan.export_csv import write_assignment_csv, write_plan_csv
from ..plan.export_ical import plan_to_ical
from ..plan.randomise import balance_by_weekday, randomise_days
from ..plan.schedule import PlanRequest, make_plan
from ..plan.separation import conflicts
from ..report.html import Section, esc, fig_to_img, table_html
from ..store.areas import load_areas
from ..store.crimes import load_crimes
from ..store.engagements import engagement_summary, log_engagements
from ..store.plans import (
    load_assignment,
    load_delivered,
    load_plan_visits,
    save_assignment,
    save_plan,
)
from ..timeutil import to_local

if TYPE_CHECKING:
    from .context import DemoContext

GAP_MINUTES = 30.0


def _area_map(city_hotspots: pd.DataFrame, stored: pd.DataFrame) -> dict[int, int]:
    """City area ids to stored area ids, matched by hot spot name."""
    by_name = dict(zip(stored["name"], stored["area_id"], strict=True))
    return {
        int(a): int(by_name[n])
        for a, n in zip(city_hotspots["area_id"], city_hotspots["name"], strict=True)
        if n in by_name
    }


def _store_trial(ctx: DemoContext, amap: dict[int, int]) -> tuple[pd.DataFrame, int, int]:
    """The trial's assignment and the teams' working plan, stored; returns (assignment, plan ids)."""
    city, store = ctx.city, ctx.store
    a = city.assignment.copy()
    a["area_id"] = a["area_id"].map(amap)
    a = a.dropna(subset=["area_id"]).assign(
        seed=int(city.seed),
        p=float(getattr(city, "extra", {}).get("p_patrol", 0.5)),
        unit="hotspot-day",
    )
    save_assignment(store, a)
    stored = load_assignment(store, int(city.seed))
    ids = []
    for team in ("outreach", "police"):
        p = city.plan[city.plan["team"] == team].copy()
        p["area_id"] = p["area_id"].map(amap)
        p = p.dropna(subset=["area_id"]).sort_values("start")
        p["order"] = p.groupby("date").cumcount() + 1
        params = {"source": "synthetic city working plan", "city_seed": int(city.seed)}
        ids.append(save_plan(store, team, int(city.seed), params, p))
    return stored, ids[0], ids[1]


def _day_chart(out_v: pd.DataFrame, pol_v: pd.DataFrame, names: dict[int, str], tz: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2))
    ids = sorted(names)
    for v, colour, dy, label in (
        (out_v, "#1d4e89", -0.18, "outreach"),
        (pol_v, "#b2182b", 0.18, "police"),
    ):
        s = to_local(v["start"], tz)
        e = to_local(v["end"], tz)
        hours = s.dt.hour + s.dt.minute / 60
        width = (e - s).dt.total_seconds() / 3600
        ys = [ids.index(int(a)) + dy for a in v["area_id"]]
        ax.barh(ys, width, left=hours, height=0.32, color=colour, label=label)
    ax.set_yticks(range(len(ids)), [names[i] for i in ids], fontsize=8)
    ax.set_xlim(14, 20)
    ax.set_xlabel("local time")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_title("One day of the plan: the two teams are never at a hot spot together", fontsize=9)
    return fig_to_img(fig, "timeline of one planned day")


def _engagement_inputs(eng: pd.DataFrame, amap: dict[int, int]) -> list[EngagementInput]:
    """Synthetic contacts as the worker would enter them (no name typed without consent)."""
    items = []
    for r in eng.to_dict("records"):
        consent = bool(r.get("consent", False))
        ref = r.get("person_ref")
        needs = [n for n in str(r.get("needs") or "").split(";") if n]
        refs = [ReferralInput(agency=x) for x in str(r.get("referrals") or "").split(";") if x]
        items.append(
            EngagementInput(
                at=pd.Timestamp(r["at"]).to_pydatetime(),
                staff=str(r.get("staff") or "outreach worker"),
                area_id=amap.get(int(r["area_id"])),
                location=None if int(r["area_id"]) in amap or not consent else "elsewhere",
                consent=consent,
                reference=str(ref) if consent and isinstance(ref, str) else None,
                age_band=r.get("age_band"),
                gender=r.get("gender") if consent else None,
                needs=needs,
                referrals=refs,
                safeguarding=bool(r.get("safeguarding", False)),
                team="outreach",
            )
        )
    return items


def run(ctx: DemoContext) -> list[Section]:
    store, city, out = ctx.store, ctx.city, ctx.out
    tz = ctx.settings.timezone
    out.mkdir(parents=True, exist_ok=True)
    hs = load_areas(store, "hotspot")
    names = dict(zip(hs["area_id"].astype(int), hs["name"].astype(str), strict=True))
    amap = _area_map(city.hotspots, hs)
    assignment, trial_out, trial_pol = _store_trial(ctx, amap)
    ctx.results["assignment"] = assignment
    ctx.results["plan_ids"] = {"outreach": trial_out, "police": trial_pol}
    write_assignment_csv(assignment, out / "assignment.csv")

    # --- the randomised days of the trial ---------------------------------------------------
    bal = balance_by_weekday(assignment)
    share = float(assignment["patrol"].mean())
    grid = assignment.pivot_table(index="area_id", columns="date", values="patrol", aggfunc="first")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 2.2))
    ax.imshow(grid.to_numpy(float), aspect="auto", cmap="Blues", interpolation="nearest")
    ax.set_yticks(range(len(grid)), [names.get(int(i), str(i)) for i in grid.index], fontsize=7)
    ax.set_xlabel(f"day of the trial ({assignment['date'].min()} to {assignment['date'].max()})")
    ax.set_title("Randomised outreach patrol days (dark = patrol)", fontsize=9)
    rand_img = fig_to_img(fig, "randomised patrol days")

    # --- the planner on the week after the trial --------------------------------------------
    start = pd.Timestamp(city.during[1]).date() + dt.timedelta(days=1)
    end = start + dt.timedelta(days=6)
    p_next = 0.5
    nxt = randomise_days(hs["area_id"], start, end, p_next, seed=int(city.seed) + 100)
    again = randomise_days(hs["area_id"], start, end, p_next, seed=int(city.seed) + 100)
    reproducible = bool(nxt["patrol"].equals(again["patrol"]))
    out_req = PlanRequest("outreach", start, end, seed=int(city.seed), tz=tz)
    out_res = make_plan(hs, out_req, patrol_days=nxt)
    pol_res = make_plan(
        hs,
        PlanRequest(
            "police",
            start,
            end,
            order="random",
            seed=int(city.seed) + 1,
            separation_minutes=GAP_MINUTES,
            tz=tz,
        ),
        avoid=out_res.visits,
    )
    pid_o = save_plan(store, "outreach", out_res.seed, out_res.params, out_res.visits)
    pid_p = save_plan(
        store, "police", pol_res.seed, {**pol_res.params, "after_plan": pid_o}, pol_res.visits
    )
    clash = conflicts(load_plan_visits(store, pid_p), load_plan_visits(store, pid_o), GAP_MINUTES)
    write_plan_csv(out_res.visits, out / "plan-outreach.csv", tz)
    write_plan_csv(pol_res.visits, out / "plan-police.csv", tz)
    (out / "plan-outreach.ics").write_bytes(plan_to_ical(out_res.visits, plan_id=pid_o, tz=tz))
    (out / "plan-police.ics").write_bytes(plan_to_ical(pol_res.visits, plan_id=pid_p, tz=tz))

    first = start
    o1 = out_res.visits[out_res.visits["date"] == first]
    p1 = pol_res.visits[pol_res.visits["date"] == first]
    chart = _day_chart(o1, p1, names, tz)
    day_tbl = pd.concat([o1, p1]).sort_values("start")
    day_tbl = pd.DataFrame(
        {
            "team": day_tbl["team"],
            "hot spot": day_tbl["name"],
            "from": to_local(day_tbl["start"], tz).dt.strftime("%H:%M").to_numpy(),
            "to": to_local(day_tbl["end"], tz).dt.strftime("%H:%M").to_numpy(),
        }
    )

    # --- a briefing for the second tracked day of the trial -----------------------------------
    tracked = list(getattr(city, "tracked_days", ())) or [pd.Timestamp(city.during[0]).date()]
    bday = tracked[1] if len(tracked) > 1 else tracked[0]
    trial_v = load_plan_visits(store, trial_out, start=bday - dt.timedelta(days=1), end=bday)
    brief_html = "<p class=note>no outreach visits planned on the briefing day</p>"
    if (trial_v["date"] == bday).any():
        y = bday - dt.timedelta(days=1)
        delivered = load_delivered(store, y)
        crimes = load_crimes(store, start=bday - dt.timedelta(days=28), end=bday)
        brief = build_briefing(
            bday,
            "outreach",
            trial_v[trial_v["date"] == bday],
            hs,
            crimes,
            yesterday_planned=trial_v[trial_v["date"] == y],
            yesterday_delivered=delivered,
            tz=tz,
        )
        (out / f"briefing-outreach-{bday}.html").write_text(brief.html, encoding="utf-8")
        (out / f"briefing-outreach-{bday}.pdf").write_bytes(brief.pdf)
        yl = (
            "no GPS data"
            if brief.yesterday is None
            else f"{brief.yesterday['delivered'].sum():.0f} of {brief.yesterday['planned'].sum():.0f} "
            f"planned minutes delivered, {(brief.yesterday['breach'] != '').sum()} breach(es)"
        )
        brief_html = (
            f"<p>Briefing sheet for {bday:%A %d %B %Y}: <code>briefing-outreach-{bday}.html</code> and "
            f"<code>.pdf</code>: {len(brief.route)} visits, {len(brief.incidents)} incidents in "
            f"the last 28 days at these hot spots; yesterday: {esc(yl)}.</p>"
        )

    # --- engagements ------------------------------------------------------------------------------
    eng = getattr(city, "engagements", None)
    n_logged = 0
    summary: dict[str, Any] = {}
    if eng is not None and len(eng):
        # a deployment sets PATROLWISE_SECRET_KEY; the demo works without one, on a throwaway key
        key = ctx.settings.secret_key or secrets.token_urlsafe(32)
        ids = log_engagements(
            store,
            _engagement_inputs(eng, amap),
            who="demo import",
            role="outreach_manager",
            key=key,
        )
        n_logged = len(ids)
        summary = engagement_summary(store, who="demo analyst", role="analyst")

    w0, w1 = (f"{t:%H:%M}" for t in out_req.window)
    pol_visit = pol_res.visits
    pol_minutes = (
        float(((pol_visit["end"] - pol_visit["start"]).dt.total_seconds() / 60).median())
        if len(pol_visit)
        else float("nan")
    )
    plan_html = (
        f"<p>Week after the trial ({start} to {end}): hot spot-days drawn by lot with "
        f"p = {p_next:g}, "
        f"blocked by weekday (seed {int(city.seed) + 100}; the same seed gives the same days: "
        f"{'yes' if reproducible else 'NO'}). The outreach plan (id {pid_o}) visits each drawn hot "
        f"spot for {out_req.resolved_visit_minutes():g} minutes between {w0} and {w1} in the "
        f"shortest walking order; the police plan (id {pid_p}, {pol_minutes:g}-minute Koper "
        f"visits in random order) was made after it and keeps "
        f"{GAP_MINUTES:g} minutes away from outreach at every hot spot: "
        f"<b>{len(clash)} conflicts</b>.</p>"
        + chart
        + table_html(day_tbl)
        + table_html(
            out_res.daily.assign(date=out_res.daily["date"].astype(str))[
                ["date", "hotspots", "visit_minutes", "walk_minutes", "slack_minutes"]
            ]
        )
        + "<p class=note>Exports: plan-outreach.csv / .ics, plan-police.csv / .ics "
        "(Europe/London with VTIMEZONE), assignment.csv for the evaluator.</p>" + brief_html
    )
    rand_html = (
        f"<p>{len(assignment)} hot spot-days in the trial, {int(assignment['patrol'].sum())} "
        f"patrol days ({share:.0%}), blocked by weekday:</p>" + table_html(bal) + rand_img
    )
    sections = [
        Section(
            "Randomised patrol days",
            rand_html,
            summary=[
                f"plan: trial assignment stored, {int(assignment['patrol'].sum())} of "
                f"{len(assignment)} hot spot-days patrolled ({share:.0%})"
            ],
            data={"balance": bal},
        ),
        Section(
            "Patrol plans for both teams",
            plan_html,
            summary=[
                f"plan: outreach {len(out_res.visits)} visits, police {len(pol_res.visits)} visits "
                f"in {start}..{end}; {len(clash)} never-together conflicts"
            ],
            data={"conflicts": len(clash), "outreach_plan": pid_o, "police_plan": pid_p},
        ),
    ]
    if summary:
        parts = [
            f"<p>{n_logged} engagements logged under keyed pseudonyms (no names stored, notes "
            "encrypted); counts only, counts under 5 shown as &lt;5.</p>"
        ]
        titles = {
            "by_hotspot": "By hot spot",
            "by_need": "By need",
            "by_agency": "Referrals by agency",
            "repeat_contacts": "Repeat contacts (people by number of contacts)",
        }
        for k, title in titles.items():
            parts.append(f"<h3>{title}</h3>" + table_html(summary[k]))
        weeks = summary["by_week"]
        parts.append(
            f"<p class=note>{len(weeks)} weeks with contacts; weekly table in the CLI "
            "(<code>patrolwise engage summary</code>).</p>"
        )
        people = summary["repeat_contacts"]
        sections.append(
            Section(
                "Engagement summary",
                "".join(parts),
                summary=[
                    f"engage: {n_logged} engagements logged, "
                    f"people by contacts {dict(zip(people['contacts'], people['people'], strict=True))}"
                ],
                data={"engagements": n_logged},
            )
        )
    return sections
