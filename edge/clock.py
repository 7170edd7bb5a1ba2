"""Clocks, injected into everything that needs "now" (Unix seconds as float).

The pure core never calls ``time.time()``: it takes ``now`` from a :class:`Clock`, so a replay
runs on the trace's time and a test on a clock it moves by hand.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Current time in Unix seconds."""
        ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to (tests, and replay as fast as possible)."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start

    def now(self) -> float:
        return self._now

    def set(self, now: float) -> None:
        self._now = max(self._now, now)

    def advance(self, seconds: float) -> None:
        self._now += seconds


class ScaledClock:
    """Trace time played at ``speed`` times real time, starting at ``start`` (Unix seconds)."""

    def __init__(self, start: float, speed: float = 1.0) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0")
        self._start = start
        self._speed = speed
        self._t0 = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._t0) * self._speed

    @property
    def speed(self) -> float:
        """Clock seconds per real second."""
        return self._speed

    def real_delay(self, at: float) -> float:
        """Real seconds to wait until the trace time ``at`` (0 when it has passed)."""
        return max(0.0, (at - self.now()) / self._speed)
