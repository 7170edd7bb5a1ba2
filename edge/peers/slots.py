"""The one-second slots of a store with several gateways (issue 18): the summaries out and in, and when a
slot is evaluated.

Every second (aligned slots of the gateway's clock) :class:`Slots` publishes the summary of the
consent-resolved sightings of the slot just ended (:mod:`edge.peers.summary`; half way through, the slot
so far, for the peers' engines only), adds it to the :class:`~edge.peers.arbitration.Arbiter`, and
remembers what its own scanners heard (:attr:`Slots.heard_own`). A peer's summary is decoded, its
rostered tokens added to the arbiter, and its sightings handed to the core's writer without waiting for
their commit (at most :data:`~edge.peers.timing.DELIVERIES_AHEAD` in flight). A slot is evaluated once
every alive peer's summary of it is in, or :data:`~edge.peers.timing.SLOT_DEADLINE_S` later (its own
inbox first: :data:`~edge.peers.timing.INBOX_FIRST_S`; with the inbox empty, what already waits in its socket is
read first, once per slot, for a loop that stalled); nothing is evaluated while ownership is frozen
(:meth:`edge.peers.connection.StoreConnection.frozen`). What the evaluation changes, the service queues
(``apply``: :mod:`edge.peers.changes` applies it on a task of its own, so the round never waits on the
core's writer; while ``full`` says that queue is at its bound, the slots stay due); what its summary hands
on, the service says (``hands``); after each slot the service refreshes its claims (``refresh``).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet

import msgspec

from edge.limits import scrub
from edge.peers.arbitration import Arbiter, Change
from edge.peers.clocks import ClockOffsets
from edge.peers.connection import StoreConnection
from edge.peers.coverage import Coverage
from edge.peers.intake import INVALID, Intake
from edge.peers.storetime import SLEW_RATE, StoreTime
from edge.peers.summary import (
    EARLY_AT_S,
    SLOT_S,
    Hand,
    Parts,
    PeerSummaryError,
    Slot,
    Summary,
    TokenHeard,
    decode,
    encode,
    loudest,
)
from edge.peers.timing import (
    AWAY_S,
    DELIVERIES_AHEAD,
    EARLY_SUMMARY,
    INBOX_FIRST_S,
    PEER_SILENT_SLOTS,
    READER_POLL_S,
    READER_WAIT_S,
    SLOT_DEADLINE_S,
    SUMMARY_AHEAD_MAX_SLOTS,
)
from edge.presence import Sighting, Sightings

log = logging.getLogger(__name__)


class Slots:
    """See the module docstring. ``deliver`` hands sightings to the core's writer (returns once
    committed); ``rostered`` gives the rostered tokens; ``hands`` what this gateway's summary hands on;
    ``apply`` queues one ownership change the evaluation made (it never waits), ``full`` says that queue is
    at its bound (evaluations wait); ``refresh`` renews the claims due."""

    def __init__(
        self,
        me: str,
        slot: Slot,
        clock: StoreTime,
        connection: StoreConnection,
        arbiter: Arbiter,
        intake: Intake,
        coverage: Coverage,
        stats: dict[str, int],
        deliver: Callable[[Sightings], Awaitable[object]],
        rostered: Callable[[], AbstractSet[str]],
        hands: Callable[[], tuple[Hand, ...]],
        apply: Callable[[Change, float], None],
        full: Callable[[], bool],
        refresh: Callable[[float], None],
        backlog: Callable[[], int] = lambda: 0,
        pulled: Callable[[str, frozenset[str]], None] = lambda _peer, _tokens: None,
        rejoined: Callable[[float], None] = lambda _now: None,
    ) -> None:
        self.me = me
        self.slot = slot
        self.clock = clock
        self.connection = connection
        self.arbiter = arbiter
        self.intake = intake
        self.coverage = coverage
        self.stats = stats
        self.deliver = deliver
        self.rostered = rostered
        self.hands = hands
        self.apply = apply
        self.full = full
        self.refresh = refresh
        self.backlog = backlog
        """Adverts the gateway's source has handed to its reader (the core's writer) not resolved yet."""
        self.pulled = pulled
        """A peer's summary (early part included) pulls these tokens: it hands them to itself and heard them
        (:mod:`edge.peers.pull`; the service, if it owns one, hands it on at once)."""
        self.rejoined = rejoined
        """Called once the loop, back from a stall of :data:`AWAY_S` or more, has evaluated a slot closed since (the
        service then says what its engine did meanwhile to the shoppers it still owns)."""
        self.ran_at = -math.inf
        """When the loop last finished a round (the slot clock)..."""
        self.back_at: float | None = None
        """...and when it found it had not for :data:`AWAY_S` or more (None: it has caught up since)."""
        self._rejoin_slot = -1
        """The first slot closed after that return: once it is evaluated, the gateway has caught up."""
        self.stats.setdefault("peers_rejoins", 0)
        self.pull_now = asyncio.Event()
        """Set when this gateway starts pulling a shopper: the slot's early part (its hands carry the pull)
        goes out now, not half way through the slot; cleared when a summary carrying the hands goes out."""
        self.stats.setdefault("peers_summaries_unsent", 0)
        self.stats.setdefault("peers_slots_incomplete", 0)
        self.stats.setdefault("peers_slots_reader_waited", 0)
        self.stats.setdefault("peers_clock_warnings", 0)
        self.clocks = ClockOffsets()
        """How far each peer's clock looks from this one's, by its summaries' arrival (edge/peers/clocks.py); the
        slot clock moves to the median of them (edge/peers/storetime.py)."""
        self.heard_own: dict[str, TokenHeard] = {}
        """Token → what this gateway's own scanners heard of it in the last slot (its summary's entry)."""
        self._last_slot: dict[str, int] = {}
        self._read_for = -1
        """The last slot whose deadline found a live peer's summary missing and the inbox empty, and so read what
        waited in the socket (:meth:`StoreConnection.read_waiting`) before deciding."""
        self._parts = Parts()  # what of each peer's slot the engine already has (its early part)
        self._due: deque[int] = deque()
        self._stalled_at = -math.inf  # when the loop last woke READER_WAIT_S or more late (:meth:`_woke`)
        self._deliveries: deque[asyncio.Future[object]] = deque()
        """Peers' sightings handed to the core's writer, not yet committed (:meth:`_deliver`)."""

    async def run(self) -> None:
        clock = self.clock
        closed: int | None = None  # the last slot closed
        while True:
            speed = clock.speed  # (the slot clock's: faster or slower while it moves to the store's median)
            now = clock.now()
            if closed is None or math.floor(now) - 1 <= closed:  # on time: sleep to the end of the slot
                boundary = math.floor(now) + 1
                if EARLY_SUMMARY and now < boundary - 1 + EARLY_AT_S:  # the slot so far, for the peers' engines
                    if await self._early_wait((boundary - 1 + EARLY_AT_S - now) / speed):
                        now = clock.now()  # a pull starts: the early part now (edge.peers.pull)
                    else:
                        now = self._woke(boundary - 1 + EARLY_AT_S)
                    if len(self.slot) and now < boundary:  # woken past the slot's end: its early part is no use
                        self.pull_now.clear()
                        self._publish_summary(self.slot.peek(boundary - 1, self.hands()))
                await asyncio.sleep(max(0.0, (boundary - now) / speed))
                due = boundary - 1
                slot = self._slot_to_close(boundary, self._woke(boundary))
            else:  # the last round ran past a slot's end (a starved process): speak at once
                due = closed + 1
                slot = math.floor(now) - 1
                self._stalled_at = now
            if closed is not None and slot <= closed:
                continue  # the clock stepped back: a slot goes out once, in order
            if self.back_at is None and self._stalled(clock.now()):
                self.back_at, self._rejoin_slot = clock.now(), slot  # back from a stall: silent until caught up
                self.stats["peers_rejoins"] += 1
                self.connection.read_waiting()  # what queued in its socket meanwhile: claims that moved its shoppers
            self.stats["peers_slots_skipped"] += slot - due
            closed = slot
            await self._reader_catches_up(speed)
            hands = self.hands()
            self.pull_now.clear()
            summary = self.slot.close(slot, hands, self._heard_to(clock.now()), clock.moved())
            if not summary.complete:
                self.stats["peers_slots_incomplete"] += 1  # closed before its reader reached the slot's end
            self.heard_own = {entry.token: entry for entry in summary.tokens if entry.heard}
            scores = {entry.token: loudest(entry) for entry in summary.tokens if entry.heard}
            self.arbiter.add(slot, self.me, scores, {h.token: h.to for h in hands}, reached=summary.reached)
            self._publish_summary(summary)
            self._due.append(slot)
            self._evaluate(clock.now())
            if self.back_at is not None and self.arbiter.evaluated >= self._rejoin_slot:
                self.back_at = None  # caught up: the claims that queued meanwhile are read, a fresh slot decided
                self.rejoined(clock.now())
            if self.back_at is None:  # (not a claim of 15 s before while the store may have moved on)
                self.refresh(clock.now())
            self.ran_at = clock.now()

    def away(self, now: float) -> bool:
        """This gateway may have looked silent to its peers and not caught up yet (:data:`AWAY_S`): its loop has not
        finished a round for that long, or it has come back from such a stall and not yet evaluated a slot closed
        since. Its service says nothing to the CDP meanwhile (``Peers.owns``)."""
        return self.back_at is not None or self._stalled(now)

    def _stalled(self, now: float) -> bool:
        """No round finished for :data:`AWAY_S` (never before the first round: it speaks for nobody yet)."""
        return self.ran_at > -math.inf and now - self.ran_at > AWAY_S

    async def _early_wait(self, seconds: float) -> bool:
        """Sleep until the slot's early part is due, or until a pull starts (:attr:`pull_now`): whether it did."""
        if self.pull_now.is_set():
            return True
        try:
            await asyncio.wait_for(self.pull_now.wait(), max(0.0, seconds))
        except TimeoutError:
            return False
        return True

    def _slot_to_close(self, boundary: int, now: float) -> int:
        """The slot whose summary goes out now: the one that ended at ``boundary``; or, woken a second or more
        past it (a busy or starved process), the latest complete slot (``floor(now) - 1``), the only one whose
        summary its peers can still use in time: its deadline is ``SLOT_DEADLINE_S`` after ``floor(now)``,
        while the slot due ended more than a second ago (past its deadline from a 2.5 s late wake on). The
        sightings gathered since the last summary are this gateway's latest hearing; they go out once, under
        that slot, after every slot published before; the slots in between get no summary (counted,
        ``peers_slots_skipped``, as are those a round that ran past a slot's end skipped: :meth:`run`)."""
        if now - boundary < 1.0:
            return boundary - 1
        self.stats["peers_slots_woke_late"] += 1  # this gateway's loop ran a second or more late
        return math.floor(now) - 1

    async def _reader_catches_up(self, speed: float) -> None:
        """Let the advert reader take what the source handed it before the slot closes, at most
        :data:`READER_WAIT_S` (a starved process: its loop and its writer wake late together, the loop first)."""
        if self.backlog() <= 0:
            return
        self.stats["peers_slots_reader_waited"] += 1
        until = self.clock.now() + READER_WAIT_S
        await asyncio.sleep(0)  # the writer is often woken already: its turn comes before this one's
        for _ in range(math.ceil(READER_WAIT_S / READER_POLL_S)):  # the clock bounds it (the count: a clock set back)
            if self.backlog() <= 0 or self.clock.now() >= until:
                return
            await asyncio.sleep(READER_POLL_S / speed)

    def _woke(self, due: float) -> float:
        """The clock now, after a sleep meant to end at ``due``; a wake :data:`READER_WAIT_S` or more past it
        says the process (its event loop, which its advert source shares) was stalled then."""
        now = self.clock.now()
        if now - due >= READER_WAIT_S:
            self._stalled_at = now
        return now

    def _heard_to(self, now: float) -> float:
        """How far this gateway's reader had got at ``now`` (the summary's ``heard_to``): ``now`` when it has
        resolved everything its source handed it and the process was not stalled in the last slot (a quiet
        store or dead scanners: nothing waits, so the slot's silence is its scanners'); otherwise the latest
        sighting it resolved -- adverts handed over still wait for the writer, or a source on the stalled
        loop has not handed the slot's adverts over yet (a replay's pump, the slot after a late wake: traced
        in session 17, half the empty summaries had nothing waiting for the writer)."""
        if self.backlog() <= 0 and now - self._stalled_at > SLOT_S:
            return now
        return min(self.slot.resolved_to, now)

    def forget(self, token: str) -> None:
        """A consent withdrawal: the token's own and peers' parts are forgotten at once."""
        self.slot.forget(token)
        self.heard_own.pop(token, None)
        self._parts.forget(token)

    def gone(self, peer: str) -> None:
        """A peer's last will (or clean stop): no slot waits for its summary any more."""
        self._last_slot.pop(peer, None)  # its clock's offset is kept: a box that restarts keeps its clock

    def cancel(self) -> None:
        """The service stops: the deliveries in flight are cancelled."""
        for delivery in self._deliveries:
            delivery.cancel()

    def _publish_summary(self, summary: Summary) -> None:
        if not self.connection.connected.is_set():
            self.stats["peers_summaries_unsent"] += 1  # cut off (standalone): its peers do not hear it
            return
        payload = encode(summary)
        if self.connection.publish_summary(payload):
            self.stats["peers_summaries_sent"] += 1
            self.stats["peers_summary_bytes_sent"] += len(payload)
        else:
            self.stats["peers_summaries_unsent"] += 1

    def _waiting_for(self, slot: int) -> list[str]:
        return [
            g
            for g in self.connection.alive
            if slot - PEER_SILENT_SLOTS <= self._last_slot.get(g, -1) < slot and not self.arbiter.has(slot, g)
        ]  # a peer whose summary of a later slot came has skipped this one (its loop woke late): not waited for

    def _evaluate(self, now: float) -> None:
        """Evaluate the slots due, in order, and queue their changes (``apply`` never waits)."""
        due = self._due
        if self.connection.frozen(now):
            due.clear()  # settling (the retained states and claims still arrive), or a short outage
            return
        if self.back_at is not None and self.intake.waiting and now < self.back_at + AWAY_S:
            return  # back from a stall: what queued meanwhile first, then decide (an owner it missed, not an old epoch)
        while due and not self.full():  # the writer far behind: the slots stay due (edge.peers.changes)
            slot = due[0]
            standalone = not self.connection.connected.is_set()
            waiting = not standalone and self._waiting_for(slot)
            if waiting and now < slot + 1 + SLOT_DEADLINE_S:
                return
            if waiting and not self.intake.waiting and self._read_for < slot:
                self._read_for = slot  # once per slot: what waited at its deadline, not the store's next traffic
                if self.connection.read_waiting():  # a stalled loop's socket may hold the summary waited for
                    self.stats["peers_slots_read_first"] += 1
            if waiting and self.intake.waiting and now < slot + 1 + SLOT_DEADLINE_S + INBOX_FIRST_S:
                return  # its own inbox first: the summary waited for may be in it (INBOX_FIRST_S)
            if waiting:
                self.stats["peers_slots_unwaited"] += 1  # evaluated without a live peer's summary
                if self.intake.waiting:
                    self.stats["peers_slots_unwaited_backlog"] += 1  # ... while messages wait in its inbox
            due.popleft()
            alive = {self.me} if standalone else {self.me} | self.connection.alive
            for change in self.arbiter.evaluate(slot, alive, slot + 1 + SLOT_DEADLINE_S):
                self.apply(change, now)

    # --- peers' summaries ----------------------------------------------------------------------

    def on_summary(self, peer: str, payload: bytes, received: float | None = None) -> None:
        """A peer's summary, ``received`` from the broker then (None: now; the keep rule reads it:
        :data:`~edge.peers.arbitration.SILENT_KEEP_SLOTS`)."""
        try:
            summary = decode(payload, peer=peer)
        except PeerSummaryError as err:
            self.stats["peers_summaries_rejected"] += 1
            self.intake.reject(peer, "sightings", INVALID, scrub(str(err)))
            return
        self.stats["peers_summaries_received"] += 1
        rostered = self.rostered()
        entries = [e for e in summary.tokens if e.token in rostered and e.heard]
        now = self.clock.now()
        sightings = self._parts.sightings(peer, summary, entries, now)
        if not summary.early:  # an early part (EARLY_SUMMARY) is for the engine only
            off = self.clocks.add(
                peer, summary.slot, now if received is None else received, summary.moved or 0.0, self.clock.moved()
            )
            if off is not None:
                self.stats["peers_clock_warnings"] += 1
                log.warning(
                    "peers: %s's clock looks %.1f s %s this gateway's (its summaries' arrival): hand-offs slow "
                    "down and two gateways may own a shopper at once; check both boxes' time service (edge doctor)",
                    peer, abs(off), "behind" if off > 0 else "ahead of",
                )  # fmt: skip
            self._agree()
            if summary.slot <= self.arbiter.evaluated:
                self.stats["peers_summaries_late"] += 1  # its slot was evaluated without it
            self._last_slot[peer] = max(self._last_slot.get(peer, -1), summary.slot)
            if summary.slot > math.floor(now) + SUMMARY_AHEAD_MAX_SLOTS:
                self.stats["peers_summaries_ahead"] += 1  # a clock over a minute ahead: not waited for, not held
            else:
                hands = {h.token: h.to for h in summary.hands if h.token in rostered}
                scores = {e.token: loudest(e) for e in entries}
                self.arbiter.add(
                    summary.slot, peer, scores, hands, now if received is None else received, reached=summary.reached
                )
            self.coverage.heard_by(peer, (heard.scanner for entry in entries for heard in entry.heard))
        if sightings:
            self._deliver(self._on_own_clock(now, sightings))
        heard = {e.token for e in entries}
        pulled = frozenset(h.token for h in summary.hands if h.to == peer and h.token in heard)
        if pulled:
            self.pulled(peer, pulled)  # after its sightings are handed to the writer, before any evaluation
        if not summary.early:
            self._evaluate(now)

    def _agree(self) -> None:
        """Move the slot clock towards the store's median once every live peer's clock is read
        (:meth:`StoreTime.consider`); the move is logged and counted."""
        clocks = self.clocks
        alive = self.connection.alive
        moved = self.clock.consider({peer: clocks.offset(peer) for peer in alive}, alive)
        if moved is not None:
            log.warning(
                "peers: the store's clocks disagree (this gateway's is %.1f s %s the median of its and its %d live "
                "peers'): its slots move there over %.0f s; check the boxes' time service (edge doctor)",
                abs(moved), "behind" if moved > 0 else "ahead of", len(alive), abs(moved) / SLEW_RATE,
            )  # fmt: skip

    def _on_own_clock(self, now: float, sightings: list[Sighting]) -> Sightings:
        """A peer's sightings (stamped on the slot clock) on this gateway's own clock, for its engine."""
        if not self.clock.shifted:
            return Sightings(now, tuple(sightings))
        shift = self.clock.to_own(now) - now
        return Sightings(now + shift, tuple(msgspec.structs.replace(s, at=s.at + shift) for s in sightings))

    def _deliver(self, sightings: Sightings) -> None:
        """Hand a peer's sightings to the core's writer without waiting for their commit: the inbox's next
        summary (and the slot's evaluation) must not queue behind the writer (:data:`DELIVERIES_AHEAD`).
        Tasks start in the order they are made, so the writer gets the sightings in arrival order."""
        self._deliveries.append(asyncio.ensure_future(self.deliver(sightings)))

    async def delivered(self) -> None:
        """Collect the deliveries the writer has done (their errors raise here), and wait for the oldest
        while :data:`DELIVERIES_AHEAD` are in flight: the next message's delivery is then at most the
        :data:`DELIVERIES_AHEAD`-th (``tests/test_peers_pipeline.py``; waiting only past it let one more go)."""
        deliveries = self._deliveries
        while deliveries and (deliveries[0].done() or len(deliveries) >= DELIVERIES_AHEAD):
            await deliveries.popleft()
