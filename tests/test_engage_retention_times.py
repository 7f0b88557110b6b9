"""An erased person's contact times are cut to the local day: by hand across the clock changes."""

from __future__ import annotations

import pandas as pd
import pytest

from patrolwise.engage.retention import local_day_start


@pytest.mark.parametrize(
    ("utc", "start"),
    [
        ("2024-06-03 18:45", "2024-06-02 23:00"),  # 19:45 BST: BST midnight is 23:00 UTC
        ("2024-06-02 23:30", "2024-06-02 23:00"),  # 00:30 BST on 3 June: already the 3rd
        ("2024-01-10 13:30", "2024-01-10 00:00"),  # GMT
        ("2024-10-27 12:00", "2024-10-26 23:00"),  # clocks went back at 01:00 UTC: day began BST
        ("2024-03-31 12:00", "2024-03-31 00:00"),  # clocks went forward at 01:00 UTC: began GMT
    ],
)
def test_local_day_start_by_hand(utc: str, start: str) -> None:
    got = local_day_start(pd.Series(pd.to_datetime([utc])), "Europe/London")
    assert got.tolist() == [pd.Timestamp(start)]
