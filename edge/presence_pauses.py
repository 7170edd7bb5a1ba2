"""The pauses of a store's advertisers, learned across its shoppers (the threshold engine, issue #13).

A phone's OS stops an app's advertising now and then (doze, backgrounding: 2-10 s in the sweep's pausing cells), and
the threshold engine holds a silence as long as the longest pause heard before it ends a visit
(:func:`edge.presence_timing.hold_s`). Until session 33 that was each shopper's own longest pause, so every shopper's
*first* pause was an exit and an entry seconds later (the sweep's [34], phones pausing 2-10 s every minute: 62 split
visits on seeds 1-3, 26 spurious changes per shopper-hour; the oracle, told the pause length, 0.4). The phones of one
app in one store pause alike (one OS, one app), so the store learns it from all of them, per kind of advertiser
(``Sighting.via``: the app's EID, an iBeacon card), and a shopper's hold is the longer of its own and its kind's.

A kind's pause is the longest of the last :data:`PAUSES_KEPT` heard (the per-shopper rule's longest, with a memory):
one odd silence -- a shopper in a corner no scanner hears -- holds the kind's silences only until that many pauses
have been heard since, and a pattern that changes (an app update) is followed. A pause is what
:func:`edge.presence_timing.pause_of` calls one: silent at every scanner, heard near one on a side of it, 3-30 s.
Pure: no clock, no I/O; nothing about a shopper is kept (lengths only).
"""

from __future__ import annotations

from collections import deque

PAUSES_KEPT = 32
"""Pauses remembered per kind of advertiser: about half an hour of a store whose twenty shoppers' phones pause once
a minute; an outlier is forgotten after that many more."""
KINDS_MAX = 16
"""Kinds of advertiser learned at most (the parsers know a handful; a ``via`` is never longer than 32 characters):
a bound on the memory whatever reaches the engine; a kind past it keeps its shoppers' own pauses only."""


class Pauses:
    """Per kind of advertiser, the last pauses heard; the hold is the longest of them."""

    def __init__(self) -> None:
        self._heard: dict[str, deque[float]] = {}
        self._longest: dict[str, float] = {}

    def heard(self, via: str, pause_s: float) -> None:
        """A pause of ``pause_s`` (> 0) of an advertiser of kind ``via``."""
        kept = self._heard.get(via)
        if kept is None:
            if len(self._heard) >= KINDS_MAX:
                return
            kept = self._heard[via] = deque(maxlen=PAUSES_KEPT)
        kept.append(pause_s)
        self._longest[via] = max(kept)

    def of(self, via: str) -> float:
        """The longest pause an advertiser of kind ``via`` may be in (s): 0.0 until one is heard."""
        return self._longest.get(via, 0.0)
