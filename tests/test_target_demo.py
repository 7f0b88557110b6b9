"""The demo step runs on the synthetic city and a real (empty-of-crimes) store."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from patrolwise.config import get_settings
from patrolwise.demo.step_target import run
from patrolwise.store import Store
from patrolwise.synth import make_city


def test_demo_step_target(sqlite_url: str, tmp_path: Path) -> None:
    city = make_city(seed=0)
    ctx = SimpleNamespace(
        out=tmp_path, store=Store(sqlite_url), city=city, settings=get_settings(), results={}
    )
    sections = run(ctx)  # type: ignore[arg-type]
    assert len(sections) == 1
    sec = sections[0]
    assert "<img" in sec.html and "Concentration" in sec.html and "Peak hours" in sec.html
    assert ctx.results["target"]["recovered"] >= 6
    assert any("planted hot spots recovered" in s for s in sec.summary)
    acc = ctx.results["target"]["accuracy"]
    assert 0 < acc["hit_rate"] < 1 and acc["pai"] > 1
