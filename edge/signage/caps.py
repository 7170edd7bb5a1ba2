"""Frequency caps: plays per shopper per offer in 24 h and per screen per offer in 1 h.

Rolling windows (not calendar days): no time zone, no midnight burst, and a cap means the same at
every moment. Counts are kept per key as the times of the plays, pruned as they age out.

The ledger also holds each shopper's holdout assignment per campaign: drawn once by a hash
(:func:`holdout_draw`), then kept, so a change of the holdout share does not move a shopper between
the groups mid-campaign. Both survive a restart through :mod:`edge.signage.cap_store`: the ledger is
loaded from it (:meth:`CapLedger.load`) and hands over what it recorded since (:meth:`CapLedger.take`).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

DAY_S = 86_400.0
HOUR_S = 3_600.0


@dataclass(frozen=True, slots=True)
class PlayRow:
    """One capped play, as the store keeps it."""

    screen: str
    token: str
    offer: str
    at: float


@dataclass(frozen=True, slots=True)
class HoldoutRow:
    """One shopper's group in one campaign, fixed at its first draw."""

    campaign: str
    token: str
    holdout: bool
    at: float


def holdout_draw(token: str, campaign: str, share: float) -> bool:
    """Deterministic holdout: the same shopper is in or out of a campaign's control group on
    every gateway, every day (a hash of campaign and token, not a random draw)."""
    if share <= 0:
        return False
    digest = hashlib.sha256(f"{campaign}\x00{token}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < share


class CapLedger:
    """Plays so far; :meth:`record` when a play starts, ask the counts before choosing."""

    def __init__(self) -> None:
        self._shopper: dict[tuple[str, str], deque[float]] = {}
        self._screen: dict[tuple[str, str], deque[float]] = {}
        self._groups: dict[tuple[str, str], bool] = {}
        self._new_plays: list[PlayRow] = []
        self._new_groups: list[HoldoutRow] = []

    def load(self, plays: Iterable[PlayRow], groups: Iterable[HoldoutRow] = ()) -> None:
        """What a store kept (oldest first): counts and holdout groups as before a restart."""
        for row in plays:
            self._shopper.setdefault((row.token, row.offer), deque()).append(row.at)
            self._screen.setdefault((row.screen, row.offer), deque()).append(row.at)
        for group in groups:
            self._groups[(group.campaign, group.token)] = group.holdout

    def take(self) -> tuple[list[PlayRow], list[HoldoutRow]]:
        """Plays and holdout draws recorded since the last call, for the store to append."""
        plays, groups = self._new_plays, self._new_groups
        self._new_plays, self._new_groups = [], []
        return plays, groups

    def in_holdout(self, token: str, campaign: str, share: float, now: float) -> bool:
        """The shopper's group in ``campaign``: drawn at the first play, then kept."""
        key = (campaign, token)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = holdout_draw(token, campaign, share)
            self._new_groups.append(HoldoutRow(campaign, token, group, now))
        return group

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
        self._new_plays.append(PlayRow(screen, token, offer, now))

    def forget(self, token: str) -> None:
        """A consent withdrawal: nothing about ``token`` stays."""
        for key in [key for key in self._shopper if key[0] == token]:
            del self._shopper[key]
        for group in [key for key in self._groups if key[1] == token]:
            del self._groups[group]
        self._new_plays = [row for row in self._new_plays if row.token != token]
        self._new_groups = [row for row in self._new_groups if row.token != token]

    def __len__(self) -> int:
        return len(self._shopper) + len(self._screen)
