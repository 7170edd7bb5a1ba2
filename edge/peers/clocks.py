"""How far each peer's clock looks from this gateway's, read from its summaries' arrival (issue 18).

Every gateway of a store cuts time into the same 1 s slots on its own clock and sends slot ``k``'s summary
when its clock reaches ``k + 1``; the arbitration waits for a slot's summaries until
:data:`~edge.peers.timing.SLOT_DEADLINE_S` after its end on the receiver's clock. So the peers' clocks must
agree. Measured (session 26, docs/multi-gateway.md "One store's time for every gateway"): three gateways on
the doors walk with their clocks 2 s apart step by step (4 s spread) handed shoppers over ~1 s slower at p95;
4 s apart (8 s spread), 60-86 moments per run with a shopper owned by two gateways, hand-offs 9-10 s. NTP keeps
boxes within milliseconds; a box whose clock is seconds off has lost its time service. Since session 29 the offsets
read here also move each gateway's slot clock to the median of the store's clocks (:mod:`edge.peers.storetime`);
they are the boxes' own clocks' offsets (each summary says how far its slot clock was moved), not the slot clocks'.

A summary of slot ``k`` received at ``t`` on this gateway's clock says ``t - (k + 1)`` = how far the peer's
clock is behind this one's, plus the summary's delivery (its sender's loop, the broker, this loop). The least
of that over the last :data:`OFFSET_WINDOW` summaries is the offset plus the quickest delivery -- tens of
milliseconds on a store's LAN, so a second is a clock, not the network. Pure: the caller gives the times.
"""

from __future__ import annotations

from collections import deque
from typing import Final

OFFSET_WINDOW: Final = 60
"""Summaries per peer the offset is the least lag of: a minute at one summary a second, long enough that some
summary went out and came in without a loaded loop's delay, short enough to follow a clock that jumped."""

OFFSET_MIN_SAMPLES: Final = 10
"""Summaries a peer's offset needs before it is reported: one slow first summary is not a clock."""

OFFSET_QUICK_SAMPLES: Final = 3
"""Summaries that suffice for an offset of :data:`CLOCK_QUICK_S` or more (session 30): three summaries in a row
delivered that late would take a gateway stalled for seconds, and a clock that far off is what makes two gateways
own a shopper at once -- each second it waits for :data:`OFFSET_MIN_SAMPLES` is a second of that (the row walk with
boxes 0 / 4 / 8 s behind: 2-4 two-owner moments a run, 9-16 s in, before the clocks met at 26 s; none in four runs
since, the clocks meeting at about 19 s: docs/multi-gateway.md)."""

CLOCK_QUICK_S: Final = 2.0
"""An offset this large (s, either way) is read from :data:`OFFSET_QUICK_SAMPLES` summaries: boxes 2 s apart only
slowed hand-offs by about a second (session 26), 4 s apart owned shoppers two at once; and 2 s is 40 times a store
LAN's quickest delivery. A smaller one waits for :data:`OFFSET_MIN_SAMPLES`, where a slow delivery could pass for
it."""

CLOCK_OFF_S: Final = 1.0
"""A peer whose clock looks this far from this gateway's is reported (a warning in the log, once per peer
until it is back within half of this): well above NTP's milliseconds and a LAN's delivery, well below the
2 s steps that already slowed hand-offs by a second (the module docstring)."""


class ClockOffsets:
    """Per peer, the least lag of its last :data:`OFFSET_WINDOW` summaries (:meth:`add`)."""

    def __init__(self) -> None:
        self._lags: dict[str, deque[float]] = {}
        self.off: set[str] = set()
        """Peers reported off (beyond :data:`CLOCK_OFF_S`) and not back yet."""

    def add(self, peer: str, slot: int, received: float, theirs: float = 0.0, mine: float = 0.0) -> float | None:
        """Peer's summary of ``slot`` received at ``received`` (this gateway's slot clock, Unix seconds), its
        sender's slot clock then ``theirs`` seconds from its own clock (the summary's ``moved``) and this one's
        ``mine`` (:mod:`edge.peers.storetime`): the lag is read between the two boxes' own clocks. Returns the
        peer's offset when it has just gone beyond :data:`CLOCK_OFF_S` (report it), else None."""
        lags = self._lags.get(peer)
        if lags is None:
            lags = self._lags[peer] = deque(maxlen=OFFSET_WINDOW)
        lags.append(received - (slot + 1) + theirs - mine)
        offset = self.offset(peer)
        if offset is None:
            return None
        if abs(offset) >= CLOCK_OFF_S and peer not in self.off:
            self.off.add(peer)
            return offset
        if abs(offset) < CLOCK_OFF_S / 2:
            self.off.discard(peer)
        return None

    def offset(self, peer: str) -> float | None:
        """How far ``peer``'s clock is behind this gateway's (s; negative: ahead), None before
        :data:`OFFSET_MIN_SAMPLES` summaries (:data:`OFFSET_QUICK_SAMPLES` for one of :data:`CLOCK_QUICK_S` or
        more)."""
        lags = self._lags.get(peer)
        if lags is None or len(lags) < OFFSET_QUICK_SAMPLES:
            return None
        least = min(lags)
        if len(lags) < OFFSET_MIN_SAMPLES and abs(least) < CLOCK_QUICK_S:
            return None
        return least

    def worst_ms(self) -> int:
        """The largest offset of any peer, in milliseconds either way (-1: none measured yet)."""
        known = [abs(o) for o in map(self.offset, self._lags) if o is not None]
        return round(max(known) * 1000) if known else -1
