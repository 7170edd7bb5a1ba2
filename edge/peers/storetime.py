"""The store's time for the peers' slots: this gateway's clock, moved to the median of the store's clocks (issue 18,
session 29).

Every gateway cuts the same 1 s slots and waits :data:`~edge.peers.timing.SLOT_DEADLINE_S` after a slot's end for
its peers' summaries, so the protocol needs the store's clocks to agree. NTP keeps them within milliseconds; a box
whose time service failed does not, and three gateways 4 s apart step by step owned shoppers two at once 60-86 times
a run (session 26, docs/multi-gateway.md "One store's time for every gateway"). Without an election or a time
server of its own, each gateway reads how far every peer's clock is from its own (:mod:`edge.peers.clocks`: the
least lag of a peer's summaries) and moves its **slot clock** to the median of the store's clocks -- its own and
every live peer's. Every gateway computes the same median from the same clocks, so they meet there without talking
about it; one clock far off is outvoted (three or more gateways); two gateways meet half way.

The move is a slew, never a step: the slot clock runs :data:`SLEW_RATE` faster or slower until it has moved, so it
never goes back (a slot goes out once, in order) and never skips a slot. Only the peers' slots use it: the gateway's
own clock stamps its adverts and events as before, and a peer's sightings are put on this gateway's clock before
its engine gets them (:meth:`StoreTime.to_own`). Each summary says how far its sender's slot clock stands from its
own clock (``moved``), so a receiver reads the peers' own clocks whatever their slot clocks do, and the median it
moves to stays put while every gateway moves to it. Moves under :data:`AGREE_MIN_S` are not made (the delivery of a
summary, tens of milliseconds, reads as a clock a little behind), and a peer more than :data:`AGREE_MAX_S` off has
no say (it is reported, and kept out of the arbitration when ahead,
:data:`~edge.peers.timing.SUMMARY_AHEAD_MAX_SLOTS`; its time service must be fixed). Pure: the caller gives the
offsets; the clock is injected.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping
from typing import Final

from edge.clock import Clock

AGREE_CLOCKS: Final = True
"""Move the slot clock to the store's median (False: the slot clock is the gateway's own, as before session 29)."""

AGREE_MIN_S: Final = 0.5
"""The least move made (s): half of :data:`~edge.peers.clocks.CLOCK_OFF_S`, the level at which a peer's clock is
reported, and well above a store LAN's quickest delivery of a summary (tens of ms), which the offsets include."""

AGREE_MAX_S: Final = 60.0
"""A peer's clock further off than this (s) has no say in the median: :data:`~edge.peers.timing.SUMMARY_AHEAD_MAX_SLOTS`
slots. Such a box has lost its time service; following it (or it following the store) would take longer than fixing
it (:data:`SLEW_RATE`: 4 minutes a minute)."""

SLEW_RATE: Final = 0.25
"""While it moves, the slot clock gains or loses this many seconds per second of the gateway's clock: a slot lasts
0.8-1.33 s, within the arbitration's 2.5 s deadline and the keep rule's slots, and a 4 s move takes 16 s."""


class StoreTime:
    """The slot clock: ``clock`` plus a correction that moves by slewing (see the module docstring). A
    :class:`~edge.clock.Clock` (``now``), with the ``speed`` of the clock it wraps while it does not move."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.correction = 0.0
        """Store time minus this gateway's clock (s), once the move under way (if any) is done."""
        self.moves = 0
        """Moves started (health: ``peers_clock_moves``)."""
        self._base = 0.0
        self._move: tuple[float, float] | None = None  # (own clock at its start, signed amount)

    def now(self) -> float:
        own = self.clock.now()
        return own + self.at(own)

    @property
    def speed(self) -> float:
        """Slot-clock seconds per real second (the wrapped clock's speed, :data:`SLEW_RATE` faster or slower while
        it moves)."""
        base = float(getattr(self.clock, "speed", 1.0)) or 1.0
        move = self._move
        if move is None:
            return base
        return base * (1.0 + math.copysign(SLEW_RATE, move[1]))

    @property
    def shifted(self) -> bool:
        """The slot clock is not this gateway's clock (moved, or moving): stamps must be put from one to the other."""
        return self.correction != 0.0 or self.moving

    @property
    def moving(self) -> bool:
        """A move is under way (:meth:`now` settles it once done)."""
        if self._move is not None:
            self.at(self.clock.now())
        return self._move is not None

    def at(self, own: float) -> float:
        """The correction (s) at ``own`` on this gateway's clock; a move whose time is up is settled."""
        move = self._move
        if move is None:
            return self._base
        since, amount = move
        done = SLEW_RATE * max(0.0, own - since)
        if done >= abs(amount):
            self._base += amount
            self._move = None
            return self._base
        return self._base + math.copysign(done, amount)

    def moved(self) -> float:
        """How far the slot clock stands from this gateway's clock now (s; a summary's ``moved``)."""
        return self.at(self.clock.now())

    def to_own(self, t: float) -> float:
        """A moment on the slot clock (a peer's sighting) on this gateway's clock."""
        return t - self.at(self.clock.now())

    def to_store(self, t: float) -> float:
        """A moment on this gateway's clock (its own sighting) on the slot clock."""
        return t + self.at(t)

    def consider(self, behind: Mapping[str, float | None], alive: set[str] | frozenset[str]) -> float | None:
        """Start a move to the median of the store's clocks, given how far each peer's own clock looks behind this
        gateway's own (``behind``: :meth:`edge.peers.clocks.ClockOffsets.offset`, None while unknown; the
        clocks, not the slot clocks, so the median stays where it is while every gateway moves to it) and which
        peers are alive. Returns the move started (s, positive: forward), or None: one is under way, a live
        peer's clock is not known yet, or the slot clock already stands within :data:`AGREE_MIN_S` of the median
        (of the clocks within :data:`AGREE_MAX_S`)."""
        if not AGREE_CLOCKS or not alive or self.moving:
            return None
        clocks = [0.0]
        for peer in alive:
            offset = behind.get(peer)
            if offset is None:
                return None
            if abs(offset) <= AGREE_MAX_S:  # (one further off is reported, not followed)
                clocks.append(-offset)
        amount = statistics.median(clocks) - self.correction
        if abs(amount) < AGREE_MIN_S:
            return None
        own = self.clock.now()
        self._base = self.at(own)
        self._move = (own, amount)
        self.correction = self._base + amount
        self.moves += 1
        return amount
