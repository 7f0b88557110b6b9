"""The plan/engage demo step on the synthetic city: plans, randomised days, engagement summary."""

from __future__ import annotations

import types
from pathlib import Path

import icalendar
import pandas as pd

from patrolwise.config import get_settings
from patrolwise.demo import step_plan
from patrolwise.report.html import render_report
from patrolwise.store import Store
from patrolwise.store.areas import add_areas
from patrolwise.synth import make_city


def test_demo_step(sqlite_url: str, tmp_path: Path) -> None:
    city = make_city(seed=0)
    with Store(sqlite_url) as st:
        add_areas(st, city.hotspots, kind="hotspot")
        ctx = types.SimpleNamespace(
            out=tmp_path, store=st, city=city, settings=get_settings(), results={}
        )
        sections = step_plan.run(ctx)  # type: ignore[arg-type]
    titles = [s.title for s in sections]
    assert titles == ["Randomised patrol days", "Patrol plans for both teams", "Engagement summary"]
    # the stored assignment is the trial's, hot spot-day for hot spot-day
    a = ctx.results["assignment"]
    assert len(a) == len(city.assignment)
    assert a["patrol"].sum() == city.assignment["patrol"].sum()
    assert sections[1].data["conflicts"] == 0
    # exports exist and parse
    cal = icalendar.Calendar.from_ical((tmp_path / "plan-police.ics").read_bytes())
    assert len(cal.walk("VEVENT")) == len(pd.read_csv(tmp_path / "plan-police.csv"))
    assert len(pd.read_csv(tmp_path / "assignment.csv")) == len(city.assignment)
    assert list(tmp_path.glob("briefing-outreach-*.pdf"))
    # the engagement summary is counts only: no pseudonyms, small counts suppressed
    html = render_report("demo", sections)
    assert "p_" not in sections[2].html and "P00" not in sections[2].html
    assert sections[2].data["engagements"] == len(city.engagements)
    path = Path(sqlite_url.removeprefix("sqlite:///"))
    blob = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert (city.engagements["person_ref"] == "P0001").any()
    assert b"P0001" not in blob  # the synthetic "names" never reach the database
    assert "Engagement summary" in html
