"""Areas repository: replacing a hot spot is one transaction; active-date filters."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import Point, Polygon

from patrolwise.errors import InputError
from patrolwise.store import Store
from patrolwise.store.areas import add_areas, load_areas, replace_area


def gdf(name: str, geom: object) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"name": [name]}, geometry=[geom], crs="EPSG:27700")


def test_replace_is_atomic_and_dates_filter(store_url: str) -> None:
    with Store(store_url) as store:
        (old,) = add_areas(
            store,
            gdf("Clock Tower", Point(458600, 304300).buffer(50)),
            active_from=dt.date(2023, 1, 1),
        )
        with pytest.raises(InputError, match="has no geometry"):
            replace_area(store, old, gdf("Clock Tower v2", Polygon()), dt.date(2023, 6, 1))
        a = load_areas(store)
        assert list(a["area_id"]) == [old] and a["active_to"].isna().all()  # nothing half-done
        new = replace_area(
            store, old, gdf("Clock Tower v2", Point(458620, 304300).buffer(60)), dt.date(2023, 6, 1)
        )
        a = load_areas(store).set_index("area_id")
        assert a.loc[old, "active_to"] == dt.date(2023, 5, 31) and a.loc[old, "replaced_by"] == new
        assert list(load_areas(store, active_on=dt.date(2023, 5, 31))["area_id"]) == [old]
        assert list(load_areas(store, active_on=dt.date(2023, 6, 1))["area_id"]) == [new]
        both = load_areas(store, active_between=(dt.date(2023, 5, 1), dt.date(2023, 7, 1)))
        assert sorted(both["area_id"]) == sorted([old, new])


def test_retire_refuses_a_successor_that_is_not_another_stored_area(store_url: str) -> None:
    """'hotspots retire 1 --on D --replaced-by 999' (a mistyped id) ended in a FOREIGN KEY
    traceback; '--replaced-by 1' (the area itself) was stored, a hot spot replaced by itself.
    Both are one clear line and change nothing."""
    from patrolwise.store.areas import retire_area

    with Store(store_url) as store:
        (a, b) = (
            add_areas(store, gdf(n, Point(458600 + 200 * i, 304300).buffer(50)))[0]
            for i, n in enumerate(("Clock Tower", "Haymarket"))
        )
        with pytest.raises(InputError, match=f"no area with id {b + 100}"):
            retire_area(store, a, dt.date(2023, 6, 1), replaced_by=b + 100)
        with pytest.raises(InputError, match="cannot be replaced by itself"):
            retire_area(store, a, dt.date(2023, 6, 1), replaced_by=a)
        assert (
            load_areas(store).set_index("area_id").loc[a, ["active_to", "replaced_by"]].isna().all()
        )
        retire_area(store, a, dt.date(2023, 6, 1), replaced_by=b)
        got = load_areas(store).set_index("area_id").loc[a]
        assert got["active_to"] == dt.date(2023, 6, 1) and got["replaced_by"] == b


def test_areas_that_end_before_they_start_are_refused(store_url: str) -> None:
    """'hotspots import f --active-from 2023-05-01 --active-to 2023-01-01' (the dates swapped)
    stored hot spots that are active on no day at all, silently: every plan and evaluation then
    left them out. An end before the start is one clear line, nothing stored."""
    with Store(store_url) as store:
        with pytest.raises(InputError, match="ends 2023-01-01, before it starts 2023-05-01"):
            add_areas(
                store,
                gdf("Clock Tower", Point(458600, 304300).buffer(50)),
                active_from=dt.date(2023, 5, 1),
                active_to=dt.date(2023, 1, 1),
            )
        assert load_areas(store).empty
        (one_day,) = add_areas(
            store,
            gdf("Clock Tower", Point(458600, 304300).buffer(50)),
            active_from=dt.date(2023, 5, 1),
            active_to=dt.date(2023, 5, 1),
        )
        assert list(load_areas(store, active_on=dt.date(2023, 5, 1))["area_id"]) == [one_day]


def _replaced_from_june(store: Store) -> tuple[int, int]:
    """The Clock Tower hot spot from 1 January 2023, redrawn from 1 June: (old id, new id)."""
    (old,) = add_areas(
        store, gdf("Clock Tower", Point(458600, 304300).buffer(50)),
        active_from=dt.date(2023, 1, 1),
    )  # fmt: skip
    new = replace_area(
        store, old, gdf("Clock Tower v2", Point(458620, 304300).buffer(60)), dt.date(2023, 6, 1)
    )
    return old, new


def test_retire_keeps_the_successor_of_a_replaced_area(store_url: str) -> None:
    """Moving a replaced hot spot's last day ('hotspots retire 3 --on D' after 'replace 3')
    set its successor to none: the replaced_by link, which evaluations follow from the old area
    to the redrawn one, was lost without a word. Retiring without --replaced-by keeps it."""
    from patrolwise.store.areas import retire_area

    with Store(store_url) as store:
        old, new = _replaced_from_june(store)
        retire_area(store, old, dt.date(2023, 5, 20))
        got = load_areas(store).set_index("area_id").loc[old]
        assert got["active_to"] == dt.date(2023, 5, 20) and got["replaced_by"] == new


def test_retire_cannot_run_an_area_on_past_its_successor(store_url: str) -> None:
    """'hotspots retire 3 --on 2023-12-31' on a hot spot replaced from 1 June moved its last day
    past its successor's first, so the old and the redrawn outline were both active from June
    to December (plans and dosage counted both), though replace keeps them from ever
    overlapping. Such a date is refused, naming the successor and its first day."""
    from patrolwise.store.areas import retire_area

    with Store(store_url) as store:
        old, new = _replaced_from_june(store)
        with pytest.raises(InputError, match=f"replaced by area {new} from 2023-06-01"):
            retire_area(store, old, dt.date(2023, 12, 31))
        with pytest.raises(InputError, match=f"replaced by area {new} from 2023-06-01"):
            retire_area(store, old, dt.date(2023, 6, 1), replaced_by=new)
        assert load_areas(store).set_index("area_id").loc[old, "active_to"] == dt.date(2023, 5, 31)
        retire_area(store, old, dt.date(2023, 5, 31), replaced_by=new)  # the day before: fine


def test_an_area_already_replaced_is_not_replaced_again(store_url: str) -> None:
    """Replacing the same old area twice (on the same day or another) gave it a second
    successor and left the first active beside it, linked from nothing. The second time is one
    clear line naming the successor to redraw instead, and changes nothing."""
    with Store(store_url) as store:
        (old,) = add_areas(
            store,
            gdf("Clock Tower", Point(458600, 304300).buffer(50)),
            active_from=dt.date(2023, 1, 1),
        )
        first = replace_area(
            store, old, gdf("Clock Tower v2", Point(458620, 304300).buffer(60)), dt.date(2023, 6, 1)
        )
        before = load_areas(store).sort_values("area_id").reset_index(drop=True)
        for on in (dt.date(2023, 6, 1), dt.date(2023, 5, 1)):
            with pytest.raises(InputError, match=f"already replaced by area {first}"):
                replace_area(
                    store, old, gdf("Clock Tower v3", Point(458640, 304300).buffer(70)), on
                )
        after = load_areas(store).sort_values("area_id").reset_index(drop=True)
        pd.testing.assert_frame_equal(before, after)
        # redrawing the successor is the way on
        third = replace_area(
            store,
            first,
            gdf("Clock Tower v3", Point(458640, 304300).buffer(70)),
            dt.date(2023, 9, 1),
        )
        a = load_areas(store).set_index("area_id")
        assert a.loc[first, "replaced_by"] == third and a.loc[old, "replaced_by"] == first
