"""Summaries: hand-computed counts and small-count suppression."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from patrolwise.engage.summary import OTHER_AGENCIES, SECONDARY, summarise, suppress


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


def test_a_lone_small_count_gets_a_secondary_suppression() -> None:
    # with the column total known (18, e.g. from another table), one hidden cell would be
    # 18 - 0 - 7 - 9 = 2; hiding the next smallest (7) too leaves only "the two sum to 9"
    t = suppress(pd.DataFrame({"k": ["a", "b", "c", "d"], "n": [0, 2, 7, 9]}), threshold=5)
    assert list(t["n"]) == ["0", "<5", SECONDARY, "9"]
    # two small cells already protect each other: nothing more is hidden
    t = suppress(pd.DataFrame({"n": [3, 1, 7, 9], "m": [5, 6, 7, 8]}), threshold=5)
    assert list(t["n"]) == ["<5", "<5", "7", "9"] and list(t["m"]) == ["5", "6", "7", "8"]
    # a small cell whose column is otherwise zero: its total is itself small, nothing to add
    t = suppress(pd.DataFrame({"n": [0, 3, 0]}), threshold=5)
    assert list(t["n"]) == ["0", "<5", "0"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=12), st.integers(2, 10))
def test_no_column_ever_hides_exactly_one_cell_among_nonzero_cells(
    counts: list[int], threshold: int
) -> None:
    shown = list(suppress(pd.DataFrame({"n": counts}), threshold=threshold)["n"])
    hidden = [s in (f"<{threshold}", SECONDARY) for s in shown]
    for v, s, h in zip(counts, shown, hidden, strict=True):
        assert h or s == str(v)  # visible cells are exact
        if 0 < v < threshold:
            assert s == f"<{threshold}"
    nonzero = sum(v > 0 for v in counts)
    # one hidden cell among other non-zero cells could be recovered from the column total
    assert sum(hidden) != 1 or nonzero == 1


def test_weeks_are_local_monday_to_sunday() -> None:
    e = pd.DataFrame(
        {
            "id": [1, 2, 3],
            # naive UTC: Sunday 23:30 UTC = Monday 00:30 BST (summer); in winter GMT = UTC
            "at": pd.to_datetime(["2024-06-09 23:30", "2024-06-09 22:30", "2024-12-08 23:30"]),
            "area_id": [1, 1, 1],
            "person": [None, None, None],
            "needs": [[], [], []],
            "safeguarding": [False, False, False],
        }
    )
    r = pd.DataFrame(columns=["engagement_id", "agency", "type", "accepted"])
    wk = summarise(e, r, threshold=None)["by_week"].set_index("week")["engagements"].to_dict()
    assert wk == {"2024-06-03": 1, "2024-06-10": 1, "2024-12-02": 1}
    wk_utc = summarise(e, r, threshold=None, tz="UTC")["by_week"].set_index("week")["engagements"]
    assert wk_utc.to_dict() == {"2024-06-03": 2, "2024-12-02": 1}


def test_a_rarely_named_agency_is_pooled_not_shown() -> None:
    # the agency is typed freely and stored in clear ("Kwame's mum"); its row showed that name
    # to police and analysts beside a suppressed "<5": a label of a small cell discloses as much
    # as its count
    e, _ = _data()
    r = pd.DataFrame(
        {
            "engagement_id": [1, 2, 3, 4, 5, 6, 7],
            "agency": ["Shelter"] * 5 + ["Kwame's mum", "Dr Patel"],
            "type": ["signpost"] * 7,
            "accepted": [True] * 5 + [False, None],
        }
    )
    s = summarise(e, r)
    assert s["by_agency"].set_index("agency").to_dict("index") == {
        "Shelter": {"referrals": SECONDARY, "accepted": "5"},  # hidden beside the lone "<5"
        OTHER_AGENCIES: {"referrals": "<5", "accepted": "0"},
    }
    raw = summarise(e, r, threshold=None)["by_agency"]  # outreach roles only (the store)
    assert set(raw["agency"]) == {"Shelter", "Kwame's mum", "Dr Patel"}


def test_an_agency_typed_in_several_ways_is_one_agency() -> None:
    # 'Shelter' x3 and 'shelter ' x2 were two agencies of 3 and 2 referrals, both under the
    # threshold: pooled into 'other agencies' though five referrals went to one agency
    e, _ = _data()
    r = pd.DataFrame(
        {
            "engagement_id": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "agency": ["Shelter"] * 3 + ["shelter ", "SHELTER"] + ["Food bank"] * 5,
            "type": ["signpost"] * 10,
            "accepted": [True] * 10,
        }
    )
    s = summarise(e, r)["by_agency"].set_index("agency")
    assert s.index.tolist() == ["Food bank", "Shelter"]  # shown as written most often
    assert s.loc["Shelter", "referrals"] == "5" and s.loc["Food bank", "referrals"] == "5"
    raw = summarise(e, r, threshold=None)["by_agency"].set_index("agency")
    assert raw.loc["Shelter", "referrals"] == 5
