"""Costs: units, effective dates, saving, cost per crime prevented; the rates store on both back ends."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from patrolwise.errors import InputError
from patrolwise.evaluate.cost import (
    Rate,
    cost_per_prevented,
    cost_table,
    per_minute,
    team_summary,
    visit_costs,
)
from patrolwise.evaluate.estimates import Estimate
from patrolwise.store import Store
from patrolwise.store.rates import add_rate, load_rates, load_results, save_result

D = dt.date


def visits() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "team": ["outreach", "outreach", "police", "outreach"],
            "area_id": [1, 2, 1, 1],
            "local_day": [D(2023, 3, 30), D(2023, 3, 31), D(2023, 4, 2), D(2023, 4, 2)],
            "minutes": [40.0, 20.0, 30.0, 40.0],
        }
    )


def rates() -> list[Rate]:
    return [
        Rate("outreach", "minute", 2.28, D(2023, 1, 1), effective_to=D(2023, 3, 31)),
        Rate("outreach", "hour", 150.0, D(2023, 4, 1), overhead=0.2),  # £3.00/min after April
        Rate("police", "shift", 1622.4, D(2023, 1, 1), shift_minutes=480),  # £3.38/min
    ]


def test_units_to_pounds_per_minute() -> None:
    assert per_minute("minute", 2.28) == pytest.approx(2.28)
    assert per_minute("hour", 120.0, overhead=0.1) == pytest.approx(2.2)
    assert per_minute("shift", 1622.4, 480) == pytest.approx(3.38)
    with pytest.raises(InputError, match="shift length"):
        Rate("police", "shift", 100.0, D(2023, 1, 1))


def test_effective_dates_cost_each_visit_at_its_rate() -> None:
    c = visit_costs(visits(), rates())
    assert list(c["cost"]) == pytest.approx([40 * 2.28, 20 * 2.28, 30 * 3.38, 40 * 3.0])
    t = cost_table(visits(), rates())
    row = t[(t["team"] == "outreach") & (t["area_id"] == 1) & (t["month"] == "2023-04")].iloc[0]
    assert row["cost"] == pytest.approx(120.0) and row["per_minute"] == pytest.approx(3.0)
    s = team_summary(visits(), rates()).set_index("team")
    assert s.loc["outreach", "minutes"] == 100 and s.loc["police", "per_minute"] == pytest.approx(
        3.38
    )


def test_visit_without_a_rate_is_named() -> None:
    v = visits()
    v.loc[0, "local_day"] = D(2022, 12, 31)
    with pytest.raises(InputError, match=r"team 'outreach' on 2022-12-31"):
        visit_costs(v, rates())


def test_cost_per_crime_prevented_carries_the_interval() -> None:
    # 100 crimes on patrol days at IRR 0.8 (0.64-1.0 excl.): prevented = 100 (1/0.8 - 1) = 25
    e = Estimate("patrol", "crimes", "m", ratio=0.8, lo=0.64, hi=0.95)
    c = cost_per_prevented(10_000.0, 100.0, e)
    assert c["prevented"] == pytest.approx(25.0)
    assert c["prevented_ci"] == pytest.approx([100 * (1 / 0.95 - 1), 100 * (1 / 0.64 - 1)])
    assert c["cost_per_prevented"] == pytest.approx(400.0)
    assert c["bounded"] is True
    wide = cost_per_prevented(
        10_000.0, 100.0, Estimate("p", "crimes", "m", ratio=0.9, lo=0.7, hi=1.1)
    )
    assert wide["bounded"] is False and wide["cost_per_prevented_ci"][1] is None
    assert "no upper bound" in wide["note"]


def test_rates_store(store_url: str) -> None:
    with Store(store_url) as st:
        add_rate(st, "outreach", 2.28, effective_from=D(2023, 1, 1))
        add_rate(st, "outreach", 2.5, effective_from=D(2024, 1, 1))  # closes the open 2023 rate
        add_rate(
            st, "police", 1622.4, unit="shift", shift_minutes=480, effective_from=D(2023, 1, 1)
        )
        with pytest.raises(InputError, match="overlapping"):
            add_rate(st, "police", 3.0, effective_from=D(2022, 6, 1), effective_to=D(2023, 6, 1))
        r = load_rates(st)
        out = r[r["team"] == "outreach"].reset_index(drop=True)
        assert out.loc[0, "effective_to"] == pd.Timestamp(2023, 12, 31)
        assert r[r["team"] == "police"]["per_minute"].iloc[0] == pytest.approx(3.38)
        c = visit_costs(
            visits().assign(local_day=[D(2023, 5, 1), D(2024, 2, 1), D(2023, 5, 1), D(2023, 5, 1)]),
            r,
        )
        assert list(c["cost"]) == pytest.approx([40 * 2.28, 20 * 2.5, 30 * 3.38, 40 * 2.28])
        rid = save_result(st, "cost", {"x": 1.5, "items": [1, 2]}, {"p": "q"})
        got = load_results(st, "cost")
        assert got[0]["id"] == rid and got[0]["result"] == {"x": 1.5, "items": [1, 2]}


def test_negative_or_missing_minutes_are_refused_not_costed() -> None:
    """A visit with NaN minutes was silently skipped and one with -20 minutes took £45.60 off the
    bill: outreach came to 20 minutes at '£3.72 a minute'. Minutes must be finite and >= 0."""
    for bad in (float("nan"), -20.0, float("inf")):
        v = visits()
        v.loc[1, "minutes"] = bad
        with pytest.raises(InputError, match=r"row 2 .*minutes"):
            team_summary(v, rates())
    zero = visits()
    zero.loc[1, "minutes"] = 0.0  # a zero-minute visit is fine: it costs nothing
    assert team_summary(zero, rates()).set_index("team").loc["outreach", "cost"] == pytest.approx(
        40 * 2.28 + 40 * 3.0
    )


def test_saving_statement_never_says_nan() -> None:
    """A team whose visits have no minutes has no cost per minute: the cost command printed
    'outreach at £2.57 a minute is nan% dearer than police at £nan'."""
    from patrolwise.evaluate.cost import saving_statement

    s = team_summary(visits(), rates())
    line = saving_statement(s, "outreach", "police")
    assert line is not None and "cheaper" in line and "nan" not in line
    v = visits()
    v.loc[2, "minutes"] = 0.0  # police: one visit of no minutes
    line = saving_statement(team_summary(v, rates()), "outreach", "police")
    assert line is not None and "nan" not in line.lower()
    assert "police has no GPS-verified minutes" in line
    assert saving_statement(s, "outreach", "nobody") is None


def test_cost_per_crime_prevented_sets_costs_against_the_same_days() -> None:
    """'evaluate cost --effects' set the cost of every stored visit (in the demo 28 GPS-tracked
    days) against the crimes on patrol days of the whole trial (329 days): £143 per crime
    prevented where the demo report, matching the days, says £2,346. The visits inside the
    estimate's period are costed and the crimes on patrol days summed over the days they span."""
    from patrolwise.evaluate.cost import per_prevented_from_effects

    by_day = {f"2023-03-{d:02d}": 2.0 for d in range(1, 31)}  # 60 crimes over the trial
    effects = {
        "estimates": [
            {
                "name": "Patrol days vs no-patrol days, as assigned (intention to treat)",
                "outcome": "crimes",
                "method": "m",
                "ratio": 0.8,
                "lo": 0.64,
                "hi": 0.95,
                "p": 0.01,
                "period": {"start": "2023-03-01", "end": "2023-03-30"},
                "extra": {"on_patrol_days_by_day": by_day, "hotspots": [1]},
            },
            {"name": "Patrol days, as assigned (intention to treat): negative binomial"},
        ]
    }
    v = pd.DataFrame(
        {
            "team": ["outreach", "outreach", "outreach", "police"],
            "area_id": [1, 1, 1, 1],
            "local_day": [D(2023, 2, 20), D(2023, 3, 5), D(2023, 3, 14), D(2023, 3, 6)],
            "minutes": [40.0, 40.0, 40.0, 30.0],
        }
    )
    (res,) = per_prevented_from_effects(effects, v, rates(), "outreach")
    # February's visit is outside the trial; 5-14 March: 10 days, 20 crimes on patrol days
    assert res["cost"] == pytest.approx(2 * 40 * 2.28)
    assert res["observed_on_patrol_days"] == pytest.approx(20.0)
    assert res["prevented"] == pytest.approx(20 * (1 / 0.8 - 1))
    assert res["costed_days"] == ["2023-03-05", "2023-03-14"]
    old = {"estimates": [{**effects["estimates"][0], "extra": {}}]}  # type: ignore[dict-item]
    with pytest.raises(InputError, match="rerun"):
        per_prevented_from_effects(old, v, rates(), "outreach")


def _effects_with_a_left_out_hot_spot() -> dict:  # type: ignore[type-arg]
    by_day = {f"2023-03-{d:02d}": 2.0 for d in range(1, 31)}
    return {
        "estimates": [
            {
                "name": "Patrol days vs no-patrol days, as assigned (intention to treat)",
                "outcome": "crimes",
                "method": "m",
                "ratio": 0.8,
                "lo": 0.64,
                "hi": 0.95,
                "p": 0.01,
                "period": {"start": "2023-03-01", "end": "2023-03-30"},
                "extra": {
                    "on_patrol_days_by_day": by_day,  # hot spots 1 and 2 only
                    "hotspots": [1, 2],
                    "hotspots_left_out": [
                        {"area_id": 3, "name": "hs3", "reason": "no patrol days"}
                    ],
                },
            }
        ]
    }


def test_cost_per_crime_prevented_costs_only_the_hot_spots_behind_the_estimate() -> None:
    """'evaluate cost --effects' set the cost of the visits to every hot spot against the crimes
    prevented in the hot spots the estimate kept: a hot spot left out of it (no patrol days, no
    crimes, untracked, or not in the trial at all) added its visits to the cost and, with them,
    its days to the span. By hand: only hot spots 1 and 2 count, 80 minutes at £2.28 = £182.40
    over 5-14 March, 20 crimes on patrol days, 5 prevented at IRR 0.8: £36.48 each (before:
    290 minutes = £661.20 over 2-20 March, 38 crimes, 9.5 prevented, £69.60)."""
    from patrolwise.evaluate.cost import per_prevented_from_effects

    v = pd.DataFrame(
        {
            "team": ["outreach", "outreach", "outreach", "outreach", "police"],
            "area_id": [1, 2, 3, 9, 1],
            "local_day": [
                D(2023, 3, 5),
                D(2023, 3, 14),
                D(2023, 3, 2),
                D(2023, 3, 20),
                D(2023, 3, 6),
            ],
            "minutes": [40.0, 40.0, 200.0, 10.0, 30.0],
        }
    )
    (res,) = per_prevented_from_effects(_effects_with_a_left_out_hot_spot(), v, rates(), "outreach")
    assert res["cost"] == pytest.approx(80 * 2.28)
    assert res["costed_days"] == ["2023-03-05", "2023-03-14"]
    assert res["observed_on_patrol_days"] == pytest.approx(20.0)
    assert res["prevented"] == pytest.approx(5.0)
    assert res["cost_per_prevented"] == pytest.approx(80 * 2.28 / 5)
    assert res["hotspots"] == [1, 2]
    assert res["hotspots_left_out"] == [
        {
            "area_id": 3,
            "name": "hs3",
            "reason": "no patrol days",
            "visits": 1,
            "minutes": 200.0,
            "cost": pytest.approx(200 * 2.28),
        },
        {
            "area_id": 9,
            "name": "9",
            "reason": "not a hot spot of the estimate (not active in the trial)",
            "visits": 1,
            "minutes": 10.0,
            "cost": pytest.approx(10 * 2.28),
        },
    ]
    from patrolwise.evaluate.report import per_prevented_line

    line = per_prevented_line(res)
    assert "£36 (95% interval" in line
    assert "left out of both the cost and the crimes prevented: hs3 (no patrol days; 1 " in line
    # a hot spot the estimate left out and nobody visited is still named, at no cost
    (res,) = per_prevented_from_effects(
        _effects_with_a_left_out_hot_spot(), v[v["area_id"] != 3], rates(), "outreach"
    )
    assert res["hotspots_left_out"][0] == {
        "area_id": 3,
        "name": "hs3",
        "reason": "no patrol days",
        "visits": 0,
        "minutes": 0.0,
        "cost": 0.0,
    }
    # only visits to hot spots the estimate left out: nothing to cost against it
    with pytest.raises(InputError, match=r"to the hot spots behind it \(1, 2\)"):
        per_prevented_from_effects(
            _effects_with_a_left_out_hot_spot(), v[v["area_id"] >= 3], rates(), "outreach"
        )
    # an effects file from before the hot spot list: rerun, not a cost over the wrong hot spots
    old = _effects_with_a_left_out_hot_spot()
    del old["estimates"][0]["extra"]["hotspots"]
    with pytest.raises(InputError, match="list of the hot spots behind it.*rerun"):
        per_prevented_from_effects(old, v, rates(), "outreach")


def test_a_rate_for_a_while_does_not_end_the_open_rate_for_good(store_url: str) -> None:
    """Adding a June-only rate ('--from 2023-06-01 --to 2023-06-30') closed the team's open-ended
    rate on 31 May, so from July the team had no rate at all: the user asked for one month and
    lost every month after it (costing July's visits then failed with 'no rate in force'). Only
    an open-ended rate closes an earlier open-ended one; a rate for a while inside an open rate
    is refused, naming it and saying how to do it, and the open rate is left as it was."""
    with Store(store_url) as st:
        add_rate(st, "police", 3.38, effective_from=D(2023, 1, 1))
        with pytest.raises(InputError, match="overlapping") as refused:
            add_rate(st, "police", 4.0, effective_from=D(2023, 6, 1), effective_to=D(2023, 6, 30))
        assert "open-ended" in str(refused.value)
        r = load_rates(st)
        assert len(r) == 1 and pd.isna(r["effective_to"].iloc[0])
        # the way it names: the new rate open-ended, then the old one again from July
        add_rate(st, "police", 4.0, effective_from=D(2023, 6, 1))
        add_rate(st, "police", 3.38, effective_from=D(2023, 7, 1))
        c = visit_costs(
            pd.DataFrame(
                {
                    "team": ["police"] * 3,
                    "area_id": [1, 1, 1],
                    "local_day": [D(2023, 5, 31), D(2023, 6, 15), D(2023, 7, 1)],
                    "minutes": [10.0, 10.0, 10.0],
                }
            ),
            load_rates(st),
        )
        assert list(c["cost"]) == pytest.approx([33.8, 40.0, 33.8])
