"""The store-local sighting summary: what one gateway heard per shopper per scanner in one 1 s slot.

Pure. A gateway accumulates its resolved sightings (tokens of the consent roster only, never an
address) into a :class:`Slot`, and once a second publishes the slot as a :class:`Summary`: per token
its ``via``, its calibrated power and, per scanner, the sample count, loudest and median RSSI and the
last time heard. Peers decode it with :func:`decode` (size, count and range limits; anything out of
bounds is rejected whole) and turn it back into sightings with :func:`to_sightings`: ``count``
samples spread over the slot up to the last time heard, one at the loudest level (last), one as far
under the median as the loudest is over it (first) and the rest at the median, so the presence engines
see a peer's scanner like one of their own -- at the times it heard them, only delivered a second late,
and as loud on average as the peer heard it (the median: two samples come back exactly as heard). A slot's
samples after its early part come back at the level that gives the whole slot its median with the early
part's (:func:`_rest`), so a shopper walking away is heard walking away.
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_left
from dataclasses import dataclass
from typing import Annotated, Final

import msgspec

from edge.errors import EdgeError
from edge.presence import Sighting

SUMMARY_MAX_BYTES = 256 * 1024
"""A summary larger than this is rejected: 500 shoppers x 4 scanners is ~60 KB."""
SUMMARY_MAX_TOKENS = 1000
"""More shoppers in one gateway's second than a store holds: a broken or hostile peer."""
SUMMARY_MAX_SCANNERS = 16
"""Scanners per token in one summary (a gateway has a handful of radios)."""
SAMPLES_MAX_PER_SLOT = 200
"""Adverts of one token at one scanner in one second: 100 ms is the fastest legacy interval x 2 PHYs."""
RSSI_MIN_DBM = -127
RSSI_MAX_DBM = 20
"""The HCI range of an RSSI (Bluetooth Core, LE Advertising Report: -127..+20 dBm)."""
SLOT_S = 1
"""A summary's span: slots are ``floor(time)`` of the gateway's clock."""
EARLY_AT_S = 0.5
"""Into a slot, a gateway sends what it heard so far (``early``): a peer's engine decides a hand-off
on the peer's samples when they arrive, and a whole slot's wait (0.5 s on average, up to 1 s) was
most of the gap between a shopper's entry being decided and the previous owner saying it
(docs/multi-gateway.md, the fifth pass). Half way halves that wait; the early part costs about as
many bytes as the slot's summary again (each token's entry once more)."""


SPAN_MAX_MS: Final = 60_000
"""A scanner's span in one message (:attr:`Heard.span_ms`) over a minute is refused: a slot is a second, and a loop
woken late carries a few (``part_of``)."""
SLOT_MAX: Final = 2**40
"""A slot is ``floor`` of a time in seconds since 1970: 2^40 s is 34,000 years away, and keeps a
hostile slot far from the integers that overflow anything downstream."""
MOVED_MAX_S: Final = 86_400.0
"""A summary's ``moved`` (how far its sender's slot clock stands from its own clock) beyond a day either way is
refused: the gateways move theirs at most a minute from their own at a time (:mod:`edge.peers.storetime`), and a
hostile value must stay far from anything that overflows."""


class PeerSummaryError(EdgeError):
    """A peer's summary was refused (too large, malformed, out of range); names the peer, never a value."""


class Heard(msgspec.Struct, array_like=True, frozen=True):
    """One scanner's hearing of one token in the slot: ``[scanner, count, max, median, last, span_ms]``.

    ``span_ms`` (session 43; absent from older gateways, whose decoders ignore it): how long before ``last`` the
    scanner first heard the token among the samples the part delivers (ms) -- the slot's first, or in a summary
    after the slot's early part the first since it (:attr:`Summary.rest_firsts`; None where none came since) -- so
    a peer stamps the samples it rebuilds between the first and the last time heard, not from the slot's start: a
    phone's adverts come back at about the times they were heard, and a late reading finds the advert it belongs
    to (docs/multi-gateway.md, "A peer's samples when they were heard (session 43)"). A span, not a second time:
    3-4 bytes where a time stamp is 15, a sixth more traffic as times (measured: 162 -> 192 B/s per present
    shopper per gateway at 3 gateways)."""

    scanner: str
    count: int
    max: int
    median: float
    last: float
    span_ms: Annotated[int, msgspec.Meta(ge=0, le=SPAN_MAX_MS)] | None = None

    @property
    def first(self) -> float | None:
        """The first time heard among the part's samples (None: the peer does not say)."""
        return None if self.span_ms is None else self.last - self.span_ms / 1000


class TokenHeard(msgspec.Struct, array_like=True, frozen=True):
    """``[token, via, power or null, [Heard…]]``."""

    token: str
    via: str
    power: float | None
    heard: tuple[Heard, ...]


class Hand(msgspec.Struct, array_like=True, frozen=True):
    """``[token, gateway]``: the sender owns ``token`` and its engine placed the shopper in a zone only
    ``gateway``'s scanners cover: the arbitration gives the shopper to that gateway. ``gateway`` the
    sender itself: one of its own zones, it keeps the shopper (a loudness lead needs
    :data:`edge.peers.arbitration.KEEP_MARGIN_DB`)."""

    token: str
    to: str


class Summary(msgspec.Struct, frozen=True, forbid_unknown_fields=False, omit_defaults=True):
    """One gateway's slot: ``slot`` is ``floor(time)`` of its start (1 s slots, aligned); ``hands``
    (absent when empty; a gateway that does not know it ignores it) as of the slot's end.

    ``early`` (absent when false): the slot's first part, sent at :data:`EARLY_AT_S` into it, for the
    peers' engines only (their sightings half a slot sooner); the slot's summary at its end still
    covers the whole slot (the arbitration's input) and a peer delivers from it only what the early
    part did not (:func:`to_sightings` ``after``).

    ``part_of`` (absent unless so): the slot of the early part whose samples this summary also carries,
    when that is not ``slot`` -- a loop woken a second or more late closes the latest complete slot with
    everything heard since its last summary, early part included (:meth:`edge.peers.slots.Slots.run`); a
    peer that had it delivers only the rest (it delivered the early part's samples twice, up to half a
    slot of sightings, before session 16). A peer that does not know the field delivers them twice.

    ``heard_to`` (session 17; absent from older gateways): the time, on the clock of ``slot``, up to which
    the gateway's advert reader had resolved what its scanners heard when it closed the slot. Below the
    slot's end the summary is not :attr:`complete`: a starved process closed it before its reader got
    there, and the tokens it does not name were not heard *yet*, which says nothing about them (the
    arbitration reads them as not spoken, not as deaf: :meth:`edge.peers.arbitration.Arbiter.add`). A
    summary without the field is read as complete, as before: the contract is extended, not changed.

    ``moved`` (session 29; absent when 0 and from older gateways): how far the sender's slot clock stood from its
    own clock when it closed the slot (s; :mod:`edge.peers.storetime`), so a receiver reads the sender's own clock
    from the summary's arrival (:mod:`edge.peers.clocks`). Absent reads as 0, as an older gateway's is.

    ``rest_firsts`` (session 43; absent when false and from older gateways): the slot had an early part, and
    each scanner's :attr:`Heard.first` is the first time heard since it -- a peer that did not get that early part
    reads no ``first`` in this summary."""

    gateway: str
    slot: Annotated[int, msgspec.Meta(ge=0, le=SLOT_MAX)]
    tokens: tuple[TokenHeard, ...]
    hands: tuple[Hand, ...] = ()
    early: bool = False
    part_of: Annotated[int, msgspec.Meta(ge=0, le=SLOT_MAX)] | None = None
    heard_to: Annotated[float, msgspec.Meta(ge=0, le=SLOT_MAX)] | None = None
    moved: Annotated[float, msgspec.Meta(ge=-MOVED_MAX_S, le=MOVED_MAX_S)] | None = None
    rest_firsts: bool = False

    @property
    def reached(self) -> int:
        """The last slot whose end its reader had reached (``slot`` when the sender does not say: an older
        gateway), at most ``slot``."""
        if self.heard_to is None:
            return self.slot
        return min(self.slot, math.floor(self.heard_to) - SLOT_S)

    @property
    def complete(self) -> bool:
        """Its reader had reached the slot's end (or the sender does not say)."""
        return self.reached >= self.slot


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(Summary)


def encode(summary: Summary) -> bytes:
    return _encoder.encode(summary)


def decode(payload: bytes, *, peer: str) -> Summary:
    """Validate a peer's summary; :class:`PeerSummaryError` (naming ``peer``) if refused."""
    if len(payload) > SUMMARY_MAX_BYTES:
        raise PeerSummaryError(f"summary from {peer}: {len(payload)} bytes is over {SUMMARY_MAX_BYTES}")
    try:
        summary = _decoder.decode(payload)
    except msgspec.DecodeError as err:
        raise PeerSummaryError(f"summary from {peer}: {err}") from None
    if summary.gateway != peer:
        raise PeerSummaryError(f"summary on {peer}'s topic names another gateway")
    if len(summary.tokens) > SUMMARY_MAX_TOKENS or len(summary.hands) > SUMMARY_MAX_TOKENS:
        raise PeerSummaryError(f"summary from {peer}: over {SUMMARY_MAX_TOKENS} tokens")
    for hand in summary.hands:
        if not (0 < len(hand.token) <= 128 and 0 < len(hand.to) <= 64):
            raise PeerSummaryError(f"summary from {peer}: a hand entry is out of bounds")
    for entry in summary.tokens:
        if not 0 < len(entry.token) <= 128 or len(entry.heard) > SUMMARY_MAX_SCANNERS or len(entry.via) > 32:
            raise PeerSummaryError(f"summary from {peer}: a token entry is out of bounds")
        if entry.power is not None and not (math.isfinite(entry.power) and RSSI_MIN_DBM <= entry.power <= 0):
            raise PeerSummaryError(f"summary from {peer}: a calibrated power is out of range")
        for h in entry.heard:
            if not (
                1 <= h.count <= SAMPLES_MAX_PER_SLOT
                and RSSI_MIN_DBM <= h.max <= RSSI_MAX_DBM
                and math.isfinite(h.median)
                and RSSI_MIN_DBM <= h.median <= h.max
                and math.isfinite(h.last)
                and 0 < len(h.scanner) <= 64
            ):
                raise PeerSummaryError(f"summary from {peer}: a scanner entry is out of range")
    return summary


@dataclass(slots=True)
class _Acc:
    via: str
    power: float | None
    rssis: dict[str, list[int]]
    last: dict[str, float]
    first: dict[str, float]
    """Per scanner, the first time heard since the slot began or, once its early part went out, since that."""


class Slot:
    """The sightings of one slot, accumulated as they are resolved; :meth:`close` makes the summary."""

    def __init__(self, gateway: str) -> None:
        self.gateway = gateway
        self._tokens: dict[str, _Acc] = {}
        self._peeked: int | None = None  # the slot of the early part made since the last close
        self.resolved_to = 0.0
        """The latest time a sighting added was heard: how far the reader has shown it got."""

    def add(self, sighting: Sighting) -> None:
        if sighting.at > self.resolved_to:
            self.resolved_to = sighting.at
        acc = self._tokens.get(sighting.token)
        if acc is None:
            acc = self._tokens[sighting.token] = _Acc(sighting.via, sighting.measured_power_1m_dbm, {}, {}, {})
        samples = acc.rssis.setdefault(sighting.scanner, [])
        if len(samples) < SAMPLES_MAX_PER_SLOT:
            samples.append(max(RSSI_MIN_DBM, min(RSSI_MAX_DBM, sighting.rssi)))
        at = round(sighting.at, 3)
        acc.last[sighting.scanner] = at
        acc.first.setdefault(sighting.scanner, at)

    def forget(self, token: str) -> None:
        self._tokens.pop(token, None)

    def __len__(self) -> int:
        return len(self._tokens)

    def close(
        self, slot: int, hands: tuple[Hand, ...] = (), heard_to: float | None = None, moved: float = 0.0
    ) -> Summary:
        """The summary of everything added (tokens in sorted order) with ``hands``, ``heard_to`` (how far
        the reader had got: :attr:`Summary.heard_to`; None: not said) and ``moved`` (:attr:`Summary.moved`;
        said when not 0), and a fresh start."""
        summary = self._summary(slot, hands, early=False)
        if moved:
            summary = msgspec.structs.replace(summary, moved=round(max(-MOVED_MAX_S, min(moved, MOVED_MAX_S)), 3))
        if self._peeked is not None:
            summary = msgspec.structs.replace(summary, rest_firsts=True)
        if self._peeked is not None and self._peeked != slot:  # woken late: its early part is in it
            summary = msgspec.structs.replace(summary, part_of=self._peeked)
        if heard_to is not None:
            reached = math.floor(max(0.0, min(heard_to, SLOT_MAX)) * 1000) / 1000  # never rounded past the slot's end
            summary = msgspec.structs.replace(summary, heard_to=reached)
        self._tokens = {}
        self._peeked = None
        return summary

    def peek(self, slot: int, hands: tuple[Hand, ...] = ()) -> Summary:
        """The slot so far, as an ``early`` summary (nothing is reset but each scanner's first time heard, which the
        slot's summary gives from here on), with ``hands`` (the arbitration reads none from an early part; an owner
        reads the pulls in it: :mod:`edge.peers.pull`)."""
        self._peeked = slot
        summary = self._summary(slot, hands, early=True)
        for acc in self._tokens.values():
            acc.first.clear()
        return summary

    def _summary(self, slot: int, hands: tuple[Hand, ...], *, early: bool) -> Summary:
        tokens = []
        for token in sorted(self._tokens):
            acc = self._tokens[token]
            heard = tuple(
                Heard(
                    scanner,
                    len(rssis),
                    max(rssis),
                    float(statistics.median(rssis)),
                    acc.last[scanner],
                    None if scanner not in acc.first else _span_ms(acc.first[scanner], acc.last[scanner]),
                )
                for scanner, rssis in sorted(acc.rssis.items())
            )
            tokens.append(TokenHeard(token, acc.via, acc.power, heard[:SUMMARY_MAX_SCANNERS]))
        return Summary(self.gateway, slot, tuple(tokens[:SUMMARY_MAX_TOKENS]), hands[:SUMMARY_MAX_TOKENS], early=early)


def _span_ms(first: float, last: float) -> int:
    """From ``first`` to ``last`` in whole ms, within :data:`SPAN_MAX_MS` (a sighting added out of order: 0)."""
    return min(SPAN_MAX_MS, max(0, round((last - first) * 1000)))


def loudest(entry: TokenHeard) -> float:
    """How loudly a gateway heard a token in a slot: its loudest scanner's median (robust to one spike)."""
    return max(h.median for h in entry.heard)


def to_sightings(
    entry: TokenHeard, slot: int, now: float, after: TokenHeard | None = None, *, firsts: bool = True
) -> list[Sighting]:
    """The entry as sightings of the peer's scanners, stamped when the peer heard them: ``count``
    samples spread evenly over the slot up to the scanner's ``last`` (the loudest one last), never
    after ``now`` (a peer's clock a little ahead of this one's).

    The levels (:func:`_levels`): the loudest last, its mirror about the median first (``2 * median - max``, as far
    under the median as the loudest is over it) and the rest at the median. Their mean is the median, a noise's
    centre, and two samples come back exactly as heard. With the rest at the median and no mirror (until
    session 35) the loudest alone pulled the mean up by ``(max - median) / count``: 1-2 dB over a second's
    2-3 samples of 5 dB shadowing, so a gateway heard its peers' scanners louder than its own: on the
    sweep's spot stores as the middle gateway of three (two thirds of the zones heard through two peers,
    ``benchmarks/presence_peers.py``) the threshold engine made 1.6-2.4 spurious zone changes per
    shopper-hour where it made 0-0.4 hearing every scanner (0.4-0.8 now), and its offset learner took its
    own scanners for about 0.8 dB quiet (docs/multi-gateway.md, "A peer's samples as loud as heard
    (session 35)").

    ``after``: the same token's entry in the slot's early part, already delivered: only the samples
    heard since (``count`` minus its count, spread after its ``last``), at the level that gives the whole
    slot its median with the early part's levels as delivered, the loudest one among them only if louder
    than the early part's (:func:`_rest`).

    Where the peer says when a scanner first heard the samples (:attr:`Heard.first`, since session 43; ``firsts``
    false: not to be read, the entry's early part never came), they are spread from that time to the last, both as
    heard; without it from the slot's start (or the early part's last), the first a step after it.

    Stamped at their arrival instead (the first version: spread over the second before it), a peer's
    samples reached the engine 1-2 s younger than they were: its fast level of the zone a walker had
    just left stayed up that much longer, and the new zone's lead over it came that much later."""
    out: list[Sighting] = []
    before = {h.scanner: h for h in after.heard} if after is not None else {}
    for h in entry.heard:
        n = h.count
        last = min(max(h.last, slot), slot + SLOT_S, now)
        first = min(slot, last)
        heard_from = h.first if firsts else None  # (the first sample's own time, when the peer says it)
        early = before.get(h.scanner)
        if early is None:
            levels = _levels(n, h.median, h.max)
        else:
            n -= early.count
            if n <= 0:
                continue
            first = min(max(early.last, first), last)
            delivered = _levels(early.count, early.median, early.max)
            levels = _rest(delivered, n, h.median, h.max if h.max > early.max else None)
        if heard_from is not None and n > 1:  # first to last, both as heard (the evenly spread ones between)
            first = min(max(heard_from, first), last)
            step = (last - first) / (n - 1)
            stamps = [first + i * step for i in range(n - 1)] + [last]
        else:  # (one sample: at its last; an older peer: spread after the slot's start, the last at its last)
            step = (last - first) / n
            stamps = [last - (n - 1 - i) * step for i in range(n)]
        for rssi, at in zip(levels, stamps, strict=True):
            out.append(Sighting(entry.token, entry.via, h.scanner, rssi, entry.power, at))
    out.sort(key=lambda s: s.at)
    return out


def _levels(n: int, median: float, loud: int) -> list[int]:
    """The levels of ``n`` samples whose median is ``median`` and loudest ``loud``, in time order: the loudest last,
    its mirror about the median first, the rest at the median (one sample: the loudest)."""
    if n == 1:
        return [loud]
    low = max(RSSI_MIN_DBM, round(2 * median - loud))
    return [low, *([round(median)] * (n - 2)), loud]


def _rest(delivered: list[int], n: int, median: float, loud: int | None) -> list[int]:
    """The levels of a slot's ``n`` samples after its early part (``delivered``: the levels the early part came back
    as), such that the slot's samples have the slot's ``median``: the rest at one level ``v``, the slot's loudest
    (``loud``, when it came after the early part) last. ``v`` is looked for between the loudest's mirror about the
    median and the loudest; where no level there gives the median (the early part's levels are themselves rebuilt),
    the nearer end.

    Until session 36 the rest came back at the slot's median (the loudest last): a slot whose early part was heard
    louder than its rest -- a shopper walking away -- came back with its rest as loud as the slot's middle (a 2 Hz
    card heard at -77 then -91 dBm: the -91 came back at -84), and the engine left a peer's zone seconds late in the
    sweep's spot stores (docs/multi-gateway.md, "A slot's rest as heard (session 36)")."""
    fixed = [loud] if loud is not None else []
    k = n - len(fixed)
    if k <= 0:
        return fixed
    others = sorted([*delivered, *fixed])
    top = loud if loud is not None else others[-1]
    lo, hi = max(RSSI_MIN_DBM, 2 * median - top), float(top)
    size = len(others) + k
    upper, lower = size // 2, (size - 1) // 2  # the middle one or two of all of them, sorted

    def median_with(v: float) -> float:
        """The median of ``others`` and ``k`` levels at ``v``, without building them (a peer's slot may hold 200
        samples: a list sorted per candidate cost milliseconds an entry)."""
        at = bisect_left(others, v)

        def nth(i: int) -> float:
            return others[i] if i < at else v if i < at + k else others[i - k]

        return (nth(lower) + nth(upper)) / 2

    # the median is v itself, or the mean of v and one of the others: those are the only candidates
    candidates = dict.fromkeys((median, *(2 * median - x for x in others)))  # (in order: the first of a tie wins)
    found = [c for c in candidates if lo <= c <= hi and median_with(c) == median]
    nearer_end = hi if median_with(hi) < median else lo
    v = min(found, key=lambda c: abs(c - median)) if found else nearer_end
    return [*([round(v)] * k), *fixed]


class Parts:
    """A receiving gateway's view of its peers' slots: per peer, the last early part it delivered
    (slot, token → entry), so the slot's summary at its end delivers only the rest. Pure."""

    def __init__(self) -> None:
        self._early: dict[str, tuple[int, dict[str, TokenHeard]]] = {}

    def sightings(self, peer: str, summary: Summary, entries: list[TokenHeard], now: float) -> list[Sighting]:
        """The sightings of ``entries`` (the summary's rostered ones) not yet delivered, in time order."""
        if summary.early:
            self._early[peer] = (summary.slot, {e.token: e for e in entries})
            early: dict[str, TokenHeard] = {}
        else:
            slot, early = self._early.pop(peer, (summary.slot, {}))
            if slot not in (summary.slot, summary.part_of):  # not the early part this summary carries
                early = {}
        rest = summary.rest_firsts  # (its first times are since the early part: without it, not read)
        out: list[Sighting] = []
        for e in entries:
            after = early.get(e.token)
            out += to_sightings(e, summary.slot, now, after, firsts=not rest or after is not None)
        out.sort(key=lambda s: s.at)
        return out

    def forget(self, token: str) -> None:
        for _, held in self._early.values():
            held.pop(token, None)
