"""The track demo step on the synthetic city: dosage from imported pings finds what was planted."""

from __future__ import annotations

import types
from pathlib import Path

from patrolwise.config import get_settings
from patrolwise.demo import step_track
from patrolwise.report.html import render_report
from patrolwise.store import Store
from patrolwise.store.areas import add_areas
from patrolwise.store.visits import load_visits
from patrolwise.synth import make_city
from patrolwise.track.dosage import union_minutes


def test_demo_step(sqlite_url: str, tmp_path: Path) -> None:
    city = make_city(seed=0)
    with Store(sqlite_url) as st:
        add_areas(st, city.hotspots, kind="hotspot")
        ctx = types.SimpleNamespace(
            out=tmp_path, store=st, city=city, settings=get_settings(), results={}
        )
        sections = step_track.run(ctx)  # type: ignore[arg-type]
        stored = load_visits(st)
    visits, panel = ctx.results["visits"], ctx.results["dosage"]
    assert len(stored) == len(visits) > 100
    assert {"local_day", "area_id", "team", "officer_minutes", "patrol_minutes"} <= set(panel)
    # every planted never-together breach is found
    assert "5 found, 5 of 5 planted" in " ".join(sections[0].summary)
    # measured patrol-minutes track the true ones (the 10 m GPS buffer adds a little)
    tv = city.true_visits.assign(local_day=city.true_visits["start"].dt.date)
    true = union_minutes(tv, ["team", "area_id", "local_day"]).groupby("team")["minutes"].sum()
    got = panel.groupby("team")["patrol_minutes"].sum()
    for team in ("outreach", "police"):
        assert 0.95 * true[team] < got[team] < 1.15 * true[team]
    html = render_report("demo", sections)
    assert "Never-together breaches" in html and "Coordinator summary" in html
