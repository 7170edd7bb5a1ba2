"""Proof of play as the gateway sees it: the player's reports → impressions and redemptions.

The service registers each card it sends to the player (:class:`OnScreen`: what was decided, the
audience then, the play id and the code on the card); the player's reports fill in the presented
frames (``Started`` the first, every ``Heartbeat`` the frames since the one before, ``Ended`` the
last). An ended (or interrupted) play becomes ``edge.offer.impression`` data
(:func:`~edge.signage.impression.impression_data`), its times converted from the player's monotonic
clock to the gateway's with the source's speed.

**Redemptions.** A code shown on screen is remembered for the attribution window
(:class:`~edge.signage.impression.RedemptionMatcher`); each code is redeemed once, whichever way
it comes back. At the gateway it comes back two ways:

- a **shelf pickup of one of the offer's SKUs by the shopper it was shown to** (an
  ``edge.shelf.interaction`` with that token, ``action: "pickup"``): the shelf does not read the
  code, the gateway knows which code it showed that shopper (:meth:`Measure.pickup`);
- an **app check-in carrying the code** (``code`` in the signed check-in, edge.checkin), for a
  shopper the check-in counts for (on the roster in force, ``presence`` scope)
  (:meth:`Measure.checkin_code`). A code shown to a shopper redeems only for that shopper: brought by
  anyone else it does nothing (counted as ``redeem_codes_not_theirs``) and stays redeemable by its
  owner. A code shown to nobody in particular (a play without a viewer) redeems for whoever brings
  it first. A code this screen did not show, or showed more than the window ago, or already redeemed
  (a check-in replayed with a new nonce, a second pickup) does nothing (``redeem_codes_unknown``).

Codes typed at a till reach the CDP directly, which has the code from the impression.

**Across a restart.** Each code shown and each redemption is also kept for the state database
(:class:`CodeRow`; :meth:`Measure.take_codes` hands over what happened since the last save, the
service writes it through :mod:`edge.signage.code_store` at each flush) and the codes still
redeemable are put back at start (:meth:`Measure.restore`), so a code shown before a restart is
redeemed after it, once. A withdrawal forgets the shopper's codes not yet written, and the state
deletes the written ones: after a restart a withdrawn shopper's code is unknown.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from edge.clock import Clock
from edge.roster import Roster
from edge.signage.impression import ATTRIBUTION_WINDOW_S, Facts, Kind, RedemptionMatcher, Shown, impression_data
from edge.signage.impression import to_clock as _to_clock

OFFER_REDEEMED = "edge.offer.redeemed"
MAX_SHIFT_REAL_S = 0.25
"""The most a play's times are moved later to start no earlier than its decision, in real seconds
(times the speed): a replay hands items to the core at most this early (edge.beacons.replay.PACE_S),
so a decision time further ahead of the clock is not a replay's lead (an event stamped by a fast
clock elsewhere) and moves the play no further."""


@dataclass(slots=True)
class OnScreen:
    """One card sent to the player, and what its reports told so far (monotonic times)."""

    kind: Kind
    content: str
    play_id: str
    creative: str
    planned_s: float
    audience: int
    reasons: tuple[str, ...] = ()
    campaign: str | None = None
    token: str | None = None
    holdout: bool = False
    withheld: str | None = None
    code: str | None = None
    skus: frozenset[str] = frozenset()
    start: float | None = None
    last: float | None = None
    frames: int = 0
    last_frame: float | None = None
    decided_at: float = float("-inf")
    """The gateway's time of the decision (:func:`decision_time`): the play's start is never before it."""
    start_at: float | None = None
    """The first frame on the gateway's clock, no earlier than ``decided_at`` (set when presented);
    the play's later instants are measured from it on the monotonic clock."""


@dataclass(frozen=True, slots=True)
class CodeRow:
    """A code shown on screen as the state database keeps it (``token`` None: shown to nobody in
    particular; ``skus``: the offer's, which a pickup by the shopper redeems)."""

    code: str
    offer: str
    token: str | None
    impression: str
    skus: frozenset[str]
    shown_at: float


@dataclass(frozen=True, slots=True)
class Impression:
    """An ended play: its start on the gateway's clock, the shopper (if still opted in), its data."""

    start: float
    token: str | None
    data: dict[str, object]


@dataclass(frozen=True, slots=True)
class Place:
    store: str
    screen: str
    zone: str
    zone_type: str


def decision_time(
    clock_now: float, occupants_since: Iterable[float], latest_event: float, *, max_ahead: float = float("inf")
) -> float:
    """The gateway's time of a decision: the source's clock, or the latest time the core has already
    reached if later (the latest entry among the zone's occupants, the latest committed event seen),
    at most ``max_ahead`` past the clock.

    Live the two agree (the core stamps what it received, never ahead of now). A replay hands the
    core its items up to ``PACE_S x speed`` trace seconds before the clock reaches them (edge.beacons.replay;
    0.25 s at speed 1, 1.0 s at speed 4), so a decision read on the clock alone was before the entry
    that caused it: its play's time (the caps' and holdout's record, the play id) and, before the play
    was moved, its impression. ``max_ahead`` (the service gives ``MAX_SHIFT_REAL_S x speed``, the
    replay's lead) keeps an event stamped by a clock far ahead from carrying the decisions with it."""
    latest = max(clock_now, latest_event, max(occupants_since, default=clock_now))
    return min(latest, clock_now + max_ahead)


class Measure:
    """See the module docstring. ``speed``: the clock's seconds per real second, read when needed;
    ``monotonic``: the monotonic clock the player's reports are stamped with (injected, as the clock is)."""

    def __init__(
        self,
        place: Place,
        clock: Clock,
        speed: Callable[[], float],
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.place = place
        self.clock = clock
        self.speed = speed
        self.monotonic = monotonic
        self.matcher = RedemptionMatcher()
        self.redeemed = 0
        self.codes_not_theirs = 0
        """Check-in codes shown to another shopper (not redeemed, still redeemable by their owner)."""
        self.codes_unknown = 0
        """Check-in codes not shown here within the window, or already redeemed."""
        self._plays: dict[int, OnScreen] = {}
        self._by_token: dict[str, list[tuple[str, frozenset[str], float]]] = {}
        """token → (code, the offer's SKUs, when shown): what a pickup by them may redeem."""
        self._codes_shown: list[CodeRow] = []
        self._codes_redeemed: list[str] = []
        """Codes shown and redeemed since the last :meth:`take_codes` (not yet in the state database)."""

    def to_clock(self, mono: float) -> float:
        return _to_clock(mono, now_clock=self.clock.now(), now_mono=self.monotonic(), speed=self.speed())

    def _at(self, entry: OnScreen, mono: float) -> float:
        """A presented play's instant on the gateway's clock: its first frame's time plus the monotonic
        time since, at the clock's speed (the whole play moves with its start; never two readings of the
        clocks, so ``start`` is exactly the decision's time when it was moved to it)."""
        assert entry.start is not None
        assert entry.start_at is not None
        return entry.start_at + (mono - entry.start) * self.speed()

    # --- the player's reports -----------------------------------------------------------------

    def sent(self, number: int, entry: OnScreen) -> None:
        self._plays[number] = entry

    def started(self, number: int, mono: float) -> OnScreen | None:
        entry = self._plays.get(number)
        if entry is None:
            return None
        entry.start = entry.last = entry.last_frame = mono
        entry.frames = max(entry.frames, 1)
        first = self.to_clock(mono)
        entry.start_at = max(first, min(entry.decided_at, first + MAX_SHIFT_REAL_S * self.speed()))
        if entry.code is not None:
            at = self._at(entry, mono)
            row = CodeRow(entry.code, entry.content, entry.token, entry.play_id, entry.skus, at)
            self._remember(row)
            self._codes_shown.append(row)
        return entry

    def _remember(self, row: CodeRow) -> None:
        shown = Shown(row.impression, row.offer, row.token, row.shown_at, personal=row.token is not None)
        self.matcher.shown(row.code, shown)
        if row.token is not None and row.skus:
            self._by_token.setdefault(row.token, []).append((row.code, row.skus, row.shown_at))

    def restore(self, rows: Sequence[CodeRow]) -> None:
        """The codes the state database kept (still redeemable, oldest first) are redeemable again."""
        for row in rows:
            self._remember(row)

    def take_codes(self) -> tuple[list[CodeRow], list[str]]:
        """The codes shown and the codes redeemed since the last call, for the state database."""
        shown, redeemed = self._codes_shown, self._codes_redeemed
        self._codes_shown, self._codes_redeemed = [], []
        return shown, redeemed

    def heartbeat(self, number: int, mono: float, frames: int) -> None:
        entry = self._plays.get(number)
        if entry is not None and entry.start is not None:
            entry.frames += frames
            entry.last = entry.last_frame = mono

    def ended(self, number: int, mono: float, roster: Roster | None) -> Impression | None:
        """The impression of a play whose last frame was at ``mono`` (None: never presented)."""
        entry = self._plays.pop(number, None)
        if entry is None or entry.start is None:
            return None
        return self._data(entry, mono, roster)

    def dropped(self, number: int) -> None:
        self._plays.pop(number, None)

    def interrupted(self, roster: Roster | None, at: float | None = None) -> list[Impression]:
        """Every play on screen ends (at ``at``, else its last report): a stop or a crashed player."""
        out = []
        for number, entry in list(self._plays.items()):
            if entry.start is not None:
                out.append(self._data(entry, at if at is not None else entry.last or entry.start, roster))
                del self._plays[number]
        return out

    def _data(self, entry: OnScreen, end_mono: float, roster: Roster | None) -> Impression:
        assert entry.start is not None
        token = entry.token if entry.token is not None and roster is not None and roster.get(entry.token) else None
        place = self.place
        facts = Facts(
            play_id=entry.play_id,
            kind=entry.kind,
            store=place.store,
            screen=place.screen,
            zone=place.zone,
            zone_type=place.zone_type,
            content=entry.content,
            creative_version=entry.creative,
            start=self._at(entry, entry.start),
            end=self._at(entry, max(end_mono, entry.start)),
            planned_s=entry.planned_s,
            frames=entry.frames,
            last_frame_at=self._at(entry, entry.last_frame) if entry.last_frame is not None else None,
            audience=entry.audience,
            reasons=entry.reasons,
            campaign=entry.campaign,
            token=token,
            holdout=entry.holdout,
            withheld=entry.withheld,
            code=entry.code,
        )
        return Impression(facts.start, token, impression_data(facts))

    # --- redemptions -----------------------------------------------------------------------------

    def pickup(self, token: str, sku: str, now: float) -> dict[str, object] | None:
        """A pickup of ``sku`` by ``token``: the redeemed data of the latest code shown to them for an
        offer of that SKU within the window (each code once), or None."""
        shown = self._by_token.get(token)
        if not shown:
            return None
        shown[:] = [s for s in shown if now - s[2] <= ATTRIBUTION_WINDOW_S]
        for index in range(len(shown) - 1, -1, -1):
            code, skus, at = shown[index]
            if self.matcher.get(code, now) is None:
                del shown[index]  # redeemed by a check-in meanwhile
            elif sku in skus and at <= now:
                del shown[index]
                return self.redeem_code(code, token, now)
        return None

    def checkin_code(self, token: str, code: str, now: float) -> dict[str, object] | None:
        """An app check-in by ``token`` (a counted one) carrying ``code``: the redeemed data if this
        screen showed the code within the window to this shopper, or to nobody in particular, and
        it was not redeemed before; else None (counted)."""
        shown = self.matcher.get(code, now)
        if shown is None:
            self.codes_unknown += 1
            return None
        if shown.personal and shown.token != token:
            self.codes_not_theirs += 1
            return None
        return self.redeem_code(code, token, now)

    def redeem_code(self, code: str, token: str | None, now: float) -> dict[str, object] | None:
        data = self.matcher.redeem(code, token, now)
        if data is not None:
            self.redeemed += 1
            self._codes_redeemed.append(str(data["code"]))
        return data

    def forget(self, token: str) -> None:
        """A consent withdrawal: nothing links the shopper to a play any more."""
        self._by_token.pop(token, None)
        self.matcher.forget(token)
        self._codes_shown[:] = [row for row in self._codes_shown if row.token != token]
        for entry in self._plays.values():
            if entry.token == token:
                entry.token = None
