"""Frequency caps: plays per shopper per offer in 24 h and per screen per offer in 1 h.

Rolling windows (not calendar days): no time zone, no midnight burst, and a cap means the same at
every moment. Counts are kept per key as the times of the plays, pruned as they age out.
"""

from __future__ import annotations

from collections import deque

DAY_S = 86_400.0
HOUR_S = 3_600.0


class CapLedger:
    """Plays so far; :meth:`record` when a play starts, ask the counts before choosing."""

    def __init__(self) -> None:
        self._shopper: dict[tuple[str, str], deque[float]] = {}
        self._screen: dict[tuple[str, str], deque[float]] = {}

    @staticmethod
    def _count(table: dict[tuple[str, str], deque[float]], key: tuple[str, str], since: float) -> int:
        plays = table.get(key)
        if plays is None:
            return 0
        while plays and plays[0] <= since:
            plays.popleft()
        if not plays:
            del table[key]
            return 0
        return len(plays)

    def shopper_plays(self, token: str, offer: str, now: float) -> int:
        """Plays of ``offer`` to ``token`` in the 24 h up to ``now``."""
        return self._count(self._shopper, (token, offer), now - DAY_S)

    def screen_plays(self, screen: str, offer: str, now: float) -> int:
        """Plays of ``offer`` on ``screen`` in the hour up to ``now``."""
        return self._count(self._screen, (screen, offer), now - HOUR_S)

    def record(self, screen: str, token: str, offer: str, now: float) -> None:
        self._shopper.setdefault((token, offer), deque()).append(now)
        self._screen.setdefault((screen, offer), deque()).append(now)

    def forget(self, token: str) -> None:
        """A consent withdrawal: nothing about ``token`` stays."""
        for key in [key for key in self._shopper if key[0] == token]:
            del self._shopper[key]

    def __len__(self) -> int:
        return len(self._shopper) + len(self._screen)
