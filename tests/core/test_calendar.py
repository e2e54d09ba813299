import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from core.calendar import BusinessCalendar, one_year_after

CHICAGO = ZoneInfo("America/Chicago")
THANKSGIVING = dt.date(2026, 11, 26)
cal = BusinessCalendar(tz=CHICAGO, holidays=frozenset({THANKSGIVING}))


def local(y, m, d, h, minute=0):
    return dt.datetime(y, m, d, h, minute, tzinfo=CHICAGO)


@pytest.mark.parametrize(
    ("submitted", "days", "due"),
    [
        (local(2026, 11, 20, 15), 1, local(2026, 11, 23, 15)),  # Friday afternoon → Monday afternoon
        (local(2026, 11, 21, 11), 1, local(2026, 11, 24, 9)),  # Saturday → opening Monday, +1 → Tuesday 9:00
        (local(2026, 11, 23, 7), 1, local(2026, 11, 24, 9)),  # before opening counts from opening
        (local(2026, 11, 23, 18), 1, local(2026, 11, 25, 9)),  # after closing counts from next opening
        (local(2026, 11, 25, 10), 1, local(2026, 11, 27, 10)),  # skips Thanksgiving
        (local(2026, 11, 25, 10), 2, local(2026, 11, 30, 10)),  # skips Thanksgiving and the weekend
        (local(2026, 11, 23, 10), 0, local(2026, 11, 23, 10)),
    ],
)
def test_add_business_days_respects_weekends_holidays_and_hours(submitted, days, due):
    assert cal.add_business_days(submitted, days) == due


def test_business_days_use_the_plans_time_zone_not_utc():
    # 2026-11-20 23:30 UTC is Friday 17:30 in Chicago: after closing, so due Tuesday 9:00 local.
    submitted = dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.UTC)
    assert cal.add_business_days(submitted, 1) == local(2026, 11, 24, 9)


def test_local_time_of_day_survives_a_dst_change():
    due = cal.add_business_days(local(2026, 10, 30, 14), 1)  # Friday; DST ends Sunday Nov 1
    assert due == local(2026, 11, 2, 14)
    assert due.utcoffset() == dt.timedelta(hours=-6)


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        cal.add_business_days(local(2026, 11, 23, 10), -1)


def test_one_year_after_handles_leap_days():
    assert one_year_after(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)
    assert one_year_after(dt.date(2026, 11, 23)) == dt.date(2027, 11, 23)


@pytest.mark.parametrize(
    ("day", "by", "on_or_after"),
    [
        (dt.date(2026, 11, 21), local(2026, 11, 20, 9), local(2026, 11, 23, 9)),  # a Saturday
        (THANKSGIVING, local(2026, 11, 25, 9), local(2026, 11, 27, 9)),
        (dt.date(2026, 11, 24), local(2026, 11, 24, 9), local(2026, 11, 24, 9)),  # a business day itself
    ],
)
def test_opening_on_a_day_moves_late_or_early_as_asked(day, by, on_or_after):
    """at_opening: the next business day (a deadline never comes before its day); at_opening_by:
    the one before (a notice owed so many days ahead never comes late)."""
    assert cal.at_opening(day) == on_or_after
    assert cal.at_opening_by(day) == by
