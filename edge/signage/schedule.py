"""Dayparting: when an offer or a playlist item may play, in the store's local time (pure).

A schedule is a list of windows; content plays when any window is open (an empty schedule: always).
A window is ``{"days": ["mon", …], "from": "HH:MM", "to": "HH:MM", "dates": ["YYYY-MM-DD",
"YYYY-MM-DD"]}``, every key optional (every day, all day, no date range). The rules, in words:

- Times are **wall-clock times** in the store's time zone (``[gateway] timezone``, IANA): "from 07:00"
  means 07:00 on the clock on the shop's wall, in winter and in summer.
- A window whose ``to`` is not after its ``from`` **crosses midnight**: ``22:00``-``02:00`` on a Friday
  is open from Friday 22:00 to Saturday 02:00. ``days`` and ``dates`` name the day a window *opens*,
  so that Friday-night window is still open at Saturday 01:30 even when Saturday is not listed.
  ``"to": "24:00"`` is the end of the day.
- ``dates`` is an inclusive range of local dates (the first and the last day a window may open).
- **Daylight-saving changes** follow from wall-clock semantics: on the spring-forward night the
  skipped hour does not exist, so a window inside it never opens that night and one across it is an
  hour shorter; on the fall-back night a window inside the repeated hour is open both times the
  clock shows it (two real hours for one hour on the clock), and one across it an hour longer.

The older ``dayparts`` form (``{"days": [0-6], "start", "end"}``, no midnight crossing) converts to the
same windows (:func:`from_daypart`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
"""``days`` entries, in ``datetime.weekday()`` order (0 = Monday)."""
MINUTES_PER_DAY = 24 * 60
ALL_DAYS = frozenset(range(7))


@dataclass(frozen=True, slots=True)
class Window:
    """One weekly window in local wall-clock minutes; ``end_min <= start_min`` crosses midnight."""

    days: frozenset[int] = ALL_DAYS
    start_min: int = 0
    end_min: int = MINUTES_PER_DAY
    first: dt.date | None = None
    last: dt.date | None = None

    @property
    def crosses_midnight(self) -> bool:
        return self.end_min <= self.start_min

    def _opens_on(self, day: dt.date) -> bool:
        if day.weekday() not in self.days:
            return False
        if self.first is not None and day < self.first:
            return False
        return self.last is None or day <= self.last

    def open_at(self, local: dt.datetime) -> bool:
        """Open at this local wall-clock time (its date and minute of the day)."""
        minute = local.hour * 60 + local.minute
        today = local.date()
        if not self.crosses_midnight:
            return self.start_min <= minute < self.end_min and self._opens_on(today)
        if minute >= self.start_min and self._opens_on(today):
            return True  # the evening part, opened today
        return minute < self.end_min and self._opens_on(today - dt.timedelta(days=1))  # opened yesterday


@dataclass(frozen=True, slots=True)
class Schedule:
    """Windows in which content may play; no windows: always."""

    windows: tuple[Window, ...] = ()

    @property
    def always(self) -> bool:
        return not self.windows

    def open_at(self, now: float, tz: ZoneInfo) -> bool:
        """Whether the content may play at Unix time ``now`` in time zone ``tz``."""
        if not self.windows:
            return True
        local = dt.datetime.fromtimestamp(now, tz=tz)
        return any(window.open_at(local) for window in self.windows)

    def __add__(self, other: Schedule) -> Schedule:
        return Schedule(self.windows + other.windows)


ALWAYS = Schedule()


def minute_of(text: str) -> int:
    """``"HH:MM"`` (``"24:00"`` allowed) as minutes after midnight."""
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def window(
    days: list[str] | None = None,
    start: str = "00:00",
    end: str = "24:00",
    dates: list[dt.date] | None = None,
    *,
    where: str = "$",
) -> Window:
    """A window from the payload form; ValueError ``"{where}.field: problem"`` for a bad one."""
    numbers = set()
    for index, name in enumerate(days if days is not None else DAY_NAMES):
        if name not in DAY_NAMES:
            raise ValueError(f"{where}.days[{index}]: {name!r} is not one of {', '.join(DAY_NAMES)}")
        numbers.add(DAY_NAMES.index(name))
    first_min, end_min = minute_of(start), minute_of(end)
    if first_min == end_min:
        raise ValueError(f"{where}.to: equals from (an empty window; 00:00 to 24:00 is the whole day)")
    if first_min == MINUTES_PER_DAY:
        raise ValueError(f"{where}.from: 24:00 is only an end")
    first = last = None
    if dates is not None:
        if len(dates) != 2:
            raise ValueError(f"{where}.dates: two dates, the first and the last day")
        first, last = dates
        if last < first:
            raise ValueError(f"{where}.dates: the last day is before the first")
    return Window(frozenset(numbers), first_min, end_min, first, last)


def from_daypart(days: list[int], start: str, end: str) -> Window:
    """The older ``dayparts`` entry (weekday numbers, no midnight crossing) as a window."""
    return Window(frozenset(days), minute_of(start), minute_of(end))
