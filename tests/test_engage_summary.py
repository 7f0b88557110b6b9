"""Summaries: hand-computed counts and small-count suppression."""

from __future__ import annotations

import pandas as pd

from patrolwise.engage.summary import summarise, suppress


def _data() -> tuple[pd.DataFrame, pd.DataFrame]:
    e = pd.DataFrame(
        {
            "id": range(1, 9),
            "area_id": [1, 1, 1, 1, 1, 1, 2, None],
            "at": pd.to_datetime(
                [
                    "2024-06-03",
                    "2024-06-04",
                    "2024-06-05",
                    "2024-06-06",
                    "2024-06-07",
                    "2024-06-10",
                    "2024-06-10",
                    "2024-06-11",
                ]
            ),
            "person": ["p_a", "p_a", "p_a", "p_b", "p_c", "p_c", None, "p_d"],
            "needs": [
                ["housing"],
                ["housing", "food"],
                [],
                ["food"],
                ["housing"],
                [],
                ["mental_health"],
                None,
            ],
            "safeguarding": [True, False, False, False, False, False, True, False],
        }
    )
    r = pd.DataFrame(
        {
            "engagement_id": [1, 2, 7],
            "agency": ["Shelter", "Shelter", "NHS"],
            "type": ["emergency"] * 3,
            "accepted": [True, None, False],
        }
    )
    return e, r


def test_raw_counts_hand_computed() -> None:
    e, r = _data()
    s = summarise(e, r, area_names={1: "Clock Tower", 2: "Market"}, threshold=None)
    hs = s["by_hotspot"].set_index("hot_spot")
    assert hs.loc["Clock Tower"].to_dict() == {
        "engagements": 6,
        "people": 3,
        "safeguarding": 1,
        "referrals": 2,
    }
    assert hs.loc["Market", "engagements"] == 1 and hs.loc["other location", "engagements"] == 1
    wk = s["by_week"].set_index("week")["engagements"].to_dict()
    assert wk == {"2024-06-03": 5, "2024-06-10": 3}  # ISO weeks starting Monday
    assert s["by_need"].set_index("need")["engagements"].to_dict() == {
        "food": 2,
        "housing": 3,
        "mental_health": 1,
    }
    assert s["by_agency"].set_index("agency").to_dict("index") == {
        "NHS": {"referrals": 1, "accepted": 0},
        "Shelter": {"referrals": 2, "accepted": 1},
    }
    # p_a 3 contacts, p_c 2, p_b and p_d 1 each
    assert s["repeat_contacts"].set_index("contacts")["people"].to_dict() == {
        "1": 2,
        "2": 1,
        "3-4": 1,
        "5+": 0,
    }


def test_small_counts_are_suppressed() -> None:
    e, r = _data()
    s = summarise(e, r, area_names={1: "Clock Tower", 2: "Market"})
    hs = s["by_hotspot"].set_index("hot_spot")
    assert hs.loc["Clock Tower", "engagements"] == "6"
    assert hs.loc["Clock Tower", "people"] == "<5" and hs.loc["Market", "engagements"] == "<5"
    assert s["repeat_contacts"].set_index("contacts").loc["5+", "people"] == "0"
    t = suppress(pd.DataFrame({"k": ["a", "b", "c", "d"], "n": [0, 1, 4, 5]}), threshold=5)
    assert list(t["n"]) == ["0", "<5", "<5", "5"] and list(t["k"]) == ["a", "b", "c", "d"]
