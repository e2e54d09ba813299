"""Business-day arithmetic in an organization's own time zone.

"Acknowledge within one business day" means: take the moment in the plan's local time; if it
falls outside business hours (weekend, holiday, before opening or after closing) move it to the
next opening time; then step forward N business days keeping the local time of day. So a referral
made Friday 15:00 is due Monday 15:00; one made Saturday is due Tuesday at opening time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class BusinessCalendar:
    tz: ZoneInfo
    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    opens: dt.time = dt.time(9, 0)
    closes: dt.time = dt.time(17, 0)

    @classmethod
    def for_timezone(cls, name: str, holidays: Iterable[dt.date] = ()) -> BusinessCalendar:
        return cls(tz=ZoneInfo(name), holidays=frozenset(holidays))

    def is_business_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def next_business_day(self, day: dt.date) -> dt.date:
        day += dt.timedelta(days=1)
        while not self.is_business_day(day):
            day += dt.timedelta(days=1)
        return day

    def previous_business_day(self, day: dt.date) -> dt.date:
        day -= dt.timedelta(days=1)
        while not self.is_business_day(day):
            day -= dt.timedelta(days=1)
        return day

    def _open_at(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, self.opens, tzinfo=self.tz)

    def start_of_business(self, moment: dt.datetime) -> dt.datetime:
        """The moment itself if the office is open then, else the next opening time (local)."""
        local = moment.astimezone(self.tz)
        day = local.date()
        if self.is_business_day(day):
            if local.time() < self.opens:
                return self._open_at(day)
            if local.time() < self.closes:
                return local
        return self._open_at(self.next_business_day(day))

    def add_business_days(self, moment: dt.datetime, days: int) -> dt.datetime:
        if days < 0:
            raise ValueError("days must not be negative")
        start = self.start_of_business(moment)
        day = start.date()
        for _ in range(days):
            day = self.next_business_day(day)
        # Rebuild from wall-clock parts so a DST change in between keeps the local time of day.
        return dt.datetime.combine(day, start.timetz().replace(tzinfo=None), tzinfo=self.tz)

    def at_opening(self, day: dt.date) -> dt.datetime:
        """Opening time on `day`, or on the next business day if `day` is not one."""
        return self._open_at(day if self.is_business_day(day) else self.next_business_day(day))

    def at_opening_by(self, day: dt.date) -> dt.datetime:
        """Opening time on `day`, or on the business day before it if `day` is not one: a notice
        that must come at least so many days ahead comes early rather than late."""
        return self._open_at(day if self.is_business_day(day) else self.previous_business_day(day))


def one_year_after(day: dt.date) -> dt.date:
    """The same date next year; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)
