"""The evaluate demo step on the synthetic city: the planted effect comes back within its interval."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from patrolwise.config import get_settings
from patrolwise.demo.step_evaluate import planted_covered, run
from patrolwise.store import Store
from patrolwise.store.areas import add_areas
from patrolwise.store.crime_import import import_crimes
from patrolwise.synth import make_city


@dataclass
class Ctx:
    """The fields of patrolwise.demo.context.DemoContext this step reads."""

    out: Path
    store: Store
    city: Any
    settings: Any
    results: dict[str, Any] = field(default_factory=dict)


@pytest.fixture(scope="module")
def city():  # type: ignore[no-untyped-def]
    return make_city(seed=0)


def test_demo_step_states_the_planted_effect_within_its_interval(
    city, sqlite_url: str, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    files = city.write(tmp_path / "city")
    with Store(sqlite_url) as st:
        import_crimes(st, [files["incidents"]])
        add_areas(st, city.hotspots[["name", "geometry"]], kind="hotspot")
        ctx = Ctx(out=tmp_path / "out", store=st, city=city, settings=get_settings())
        sections = run(ctx)
    assert planted_covered(sections), [s.summary for s in sections]
    assert ctx.results["evaluation"]["covered"] is True
    for name in ("before_after", "patrol_days", "power", "cost"):
        assert (tmp_path / "out" / "evaluation" / f"{name}.json").exists()
    pd_sec = next(s for s in sections if s.title.startswith("Patrol days"))
    assert "planted effect -30.0% lies within" in " ".join(pd_sec.summary)
