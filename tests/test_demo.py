"""The demo end to end, as `make demo` runs it, on a short tracked period."""

from __future__ import annotations

import json
from pathlib import Path

from patrolwise.demo import run_demo


def test_demo_runs_every_stage_and_writes_the_report(tmp_path: Path) -> None:
    lines: list[str] = []
    report = run_demo(tmp_path / "demo", seed=0, track_days=7, say=lines.append)
    html = report.read_text(encoding="utf-8")
    for title in (
        "Data loaded",
        "Target: micro hot spots",
        "Track: patrol dosage",
        "Randomised patrol days",
        "Engagement summary",
        "Before and during",
        "Patrol days against no-patrol days",
        "Displacement and diffusion",
        "Cost",
    ):
        assert f"<h2>{title}</h2>" in html, title
    assert "http://" not in html.replace("http://www.w3.org", "")  # self-contained: no fetches
    # a value that does not apply (randomisation p of a model without one, late minutes of a
    # missed visit) is an empty cell, not "NaN"
    assert "<td>NaN</td>" not in html and "<td>None</td>" not in html
    text = "\n".join(lines)
    assert "7/7 planted hot spots recovered" in text
    assert "planted effect -30.0% lies within the 95% interval" in text
    assert (tmp_path / "demo" / "patrolwise.db").exists()
    # the practice note's rates: outreach £2.28 a minute against police £3.38, 32.5% cheaper
    cost = json.loads((tmp_path / "demo" / "evaluation" / "cost.json").read_text())
    (line,) = cost["statements"]
    assert line.endswith("outreach at £2.28 a minute is 32.5% cheaper than police at £3.38"), line
