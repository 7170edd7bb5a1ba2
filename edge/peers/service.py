"""``Peers``: this gateway's part in a store with several gateways (issue 18), one service.

Its own connection to the store broker (:mod:`edge.peers.connection`: the gateway id as client id,
retained ``online`` birth, ``offline`` last will, standalone when cut off). Every second (aligned
slots of the gateway's clock) it publishes the summary of the consent-resolved sightings of the slot
just ended (:mod:`edge.peers.summary`; half way through, the slot so far, for the peers' engines only),
hands peers' summaries to the core's writer as sightings of their scanners (both presence engines
take them like their own) and feeds every summary, its own included, to the
:class:`~edge.peers.arbitration.Arbiter` (:mod:`edge.peers.slots`). A slot is evaluated once every
alive peer's summary of it is in (or :data:`SLOT_DEADLINE_S` later); the owner of a token publishes a
retained claim with the epoch and the zone it reported, clears it when it loses the token, and only the
owner's presence events pass the core's filter (:attr:`owns`). An owner whose ``entered`` for a zone
only one other gateway covers is committed hands the shopper on at once: a claim naming that gateway
(``hand``), then its clear; every gateway applies it (:meth:`Arbiter.hand`).

A hand-off between two live gateways never makes the CDP's one stream step back: the previous owner
falls silent at the arbitration's decision (its last claim says where it last placed the shopper) and
clears its claim only once every event about the shopper that passed its filter is committed and
acknowledged by the broker (at most :data:`RELEASE_FLUSH_S`, :mod:`edge.peers.release`; the next owner
speaks on the clear, so its first word reaches the CDP after the previous owner's last), and the new
owner waits for that clear and for its own engine to agree with the previous owner's last zone before
it claims the shopper and speaks (:mod:`edge.peers.handover`; meanwhile nobody speaks: the CDP keeps
the last word).

Cut off from the broker it goes standalone (:class:`~edge.peers.connection.StoreConnection`:
ownership frozen for a grace, then it owns whatever it hears); health says so
(``peers_standalone``). A consent withdrawal reaches every gateway (the CDP's withdraw topic): each
forgets the token's summaries and ownership at once and clears its retained claim.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Set as AbstractSet

import msgspec

from edge import events as ev
from edge.config_store import StoreConfig
from edge.events import Event
from edge.limits import scrub
from edge.mqtt_link import Link, LinkSettings
from edge.peers import messages, pull
from edge.peers.arbitration import WHY, Arbiter, Change
from edge.peers.changes import Changes
from edge.peers.claims import Claims
from edge.peers.connection import StoreConnection
from edge.peers.coverage import Coverage
from edge.peers.handover import Handovers
from edge.peers.intake import HANDLER_ERROR, INVALID, Intake, PeerMessage
from edge.peers.messages import Claim, HandingOn
from edge.peers.release import Releases
from edge.peers.slots import Slots
from edge.peers.storetime import StoreTime
from edge.peers.summary import Hand, Slot
from edge.peers.timing import HAND_AT_ONCE, PULL, VIA_APP
from edge.peers.topics import PeerTopics
from edge.ports import Ports, Ready
from edge.presence import Sighting, Sightings
from edge.router import where


class Peers:
    """See the module docstring."""

    name = "peers"

    def __init__(self, ports: Ports, store: StoreConfig) -> None:
        config = ports.config
        self.ports = ports
        self.me = config.gateway.gateway
        self.peers = frozenset(store.peers)
        self.topics = PeerTopics(store.topic_prefix, config.gateway.store, self.me)
        base = LinkSettings.from_config(config)
        self.settings = dataclasses.replace(base, client_id=self.me, session_expiry_s=0)
        self.arbiter = Arbiter()
        self.slot = Slot(self.me)
        self.time = StoreTime(ports.clock)
        """The slot clock: this gateway's, moved to the median of the store's clocks (edge/peers/storetime.py). The
        store broker's messages, the slots, the arbitration and the claims run on it; adverts, events and the
        hand-overs on the gateway's own."""
        self.intake = Intake(self.topics, self.peers, self.time)
        self.stats: dict[str, int] = {
            "peers_summaries_sent": 0,
            "peers_summary_bytes_sent": 0,
            "peers_summaries_received": 0,
            "peers_summaries_rejected": 0,
            "peers_handoffs_in": 0,
            "peers_handoffs_out": 0,
            "peers_handoffs_unagreed": 0,
            "peers_handoffs_withdrawn": 0,
            "peers_claims_withdrawn": 0,
            "peers_handoffs_ahead": 0,
            "peers_handoffs_kept": 0,
            "peers_hands_at_once": 0,
            "peers_pulls_honoured": 0,
            "peers_connections": 0,
            "peers_releases_unflushed": 0,
            "peers_slots_unwaited": 0,
            "peers_slots_unwaited_backlog": 0,
            "peers_slots_read_first": 0,
            "peers_slots_woke_late": 0,
            "peers_slots_skipped": 0,
            "peers_summaries_late": 0,
            "peers_summaries_ahead": 0,
            "peers_silent_away": 0,
            "peers_rejoin_words": 0,
            **{f"peers_moves_{why}": 0 for why in WHY},
        }
        self.connection = StoreConnection(
            self.me,
            self.settings,
            self.topics,
            self.time,
            self.stats,
            self.intake.take,
            lambda: self.claims.republish_all(),
            len(self.peers),
            lambda topic, payload: self.intake.take(topic, payload, retained=True),
        )
        """The store broker's link, who is online, settling and standalone (edge/peers/connection.py)."""
        self.claims = Claims(
            self.topics,
            self.time,
            lambda: self.link,
            self.connected,
            lambda token: self.releases.drop(token),
            self._withdrawn,
            self.stats,
        )
        """What this gateway claims, and the latest claim seen per token (edge/peers/claims.py)."""
        self._claim_topics: dict[str, str] = {}
        """A peer's claim topic → its token (a cleared claim names only the token's hash)."""
        self.coverage = Coverage(lambda: ports.config.zones)
        """Which gateway's scanners cover which zone (edge/peers/coverage.py)."""
        self.changes = Changes(self._apply, self.stats, self._withdrawn)
        """The ownership changes decided and not applied yet, applied in order on a task of their own, so
        the slot loop never waits on the writer (edge/peers/changes.py); a change of a token the roster in
        force no longer lists (the core's withdrawal, before the service hears of it) is dropped."""
        self.slots = Slots(
            self.me, self.slot, self.time, self.connection, self.arbiter, self.intake, self.coverage, self.stats,
            lambda sightings: ports.deliver(sightings, None), lambda: self._rostered_tokens(),
            lambda: self._hands_on(), lambda change, _now: self.changes.put(change, ports.clock.now()),
            self.changes.full, lambda now: self.claims.refresh(now),
            self._backlog, self._pulled, self._rejoined,
        )  # fmt: skip
        """Its summaries out and in, and when a slot is evaluated (edge/peers/slots.py)."""
        self.handovers = Handovers(self.me, ports, self.claims, self.connection, self.coverage, self.slots, self.stats)
        """The shoppers given to it that it does not speak for yet, and when it does (edge/peers/handover.py)."""
        self.releases = Releases(
            ports.clock,
            lambda: ports.deliver(Sightings(ports.clock.now(), ()), None),
            ports.outbox.unsent_of,
            self.claims.publish_clear,
            lambda token: token in self.claims.mine,
            self.stats,
        )
        """Tokens the arbitration moved away whose claim's clear waits for this gateway's last words
        about them (edge/peers/release.py)."""

    # --- the store broker (edge/peers/connection.py) ----------------------------------------

    @property
    def link(self) -> Link | None:
        return self.connection.link

    @link.setter
    def link(self, link: Link | None) -> None:
        self.connection.link = link

    @property
    def connected(self) -> asyncio.Event:
        return self.connection.connected

    @property
    def alive(self) -> set[str]:
        """Peers whose retained state is ``online``."""
        return self.connection.alive

    # --- taking shoppers over (edge/peers/handover.py) ---------------------------------------

    @property
    def _nudge(self) -> asyncio.Event:
        return self.handovers.wake

    async def _handovers(self) -> None:
        """The hand-overs' loop, and the task that applies the changes decided (edge/peers/changes.py)."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.handovers.run(), name="edge-peers-takeovers")
            group.create_task(self.changes.run(), name="edge-peers-changes")

    # --- what the core calls (edge.app wires them) --------------------------------------------

    def sighted(self, sighting: Sighting) -> None:
        if self.time.shifted:  # (its own clock's stamp on the slot clock)
            sighting = msgspec.structs.replace(sighting, at=self.time.to_store(sighting.at))
        self.slot.add(sighting)
        self.coverage.heard_own(sighting.scanner)

    def owns(self, token: str, via: str) -> bool:
        owns = self._owns(token, via)
        if not owns and self._pulls(token) and not self.slots.pull_now.is_set():
            self.slots.pull_now.set()  # its engine placed another gateway's shopper in its own zone: say so now
        return owns

    def _owns(self, token: str, via: str) -> bool:
        if self.slots.away(self.time.now()):
            self.stats["peers_silent_away"] += 1  # its peers may have taken its shoppers meanwhile: not yet known
            return False
        if self.handovers.holds(token):
            self.handovers.wake.set()  # its engine moved: maybe it agrees with the previous owner now
            return False
        if self.changes.queued(token):
            return False  # a change decided, not applied yet: a gain's first words come when it is
        owner = self.arbiter.owner(token)
        if owner is not None:
            if owner != self.me:
                return False
            # The event passes: the CDP will hear the zone its engine has now. The claim says so at
            # once, not when the event is committed: a hand-off decided in between cleared the claim
            # with the zone before, and the next owner, taking that for the last word, spoke over it.
            self.claims.said(token, self.ports.view.zone_of(token))
            return True
        if via == VIA_APP:
            return self.me == min({self.me} | (self.alive if self.connected.is_set() else set()))
        return False

    def health(self) -> dict[str, int]:
        out = dict(self.stats)
        out["peers_standalone"] = 0 if self.connected.is_set() else 1
        out["peers_alive"] = len(self.alive)
        out["peers_owned"] = len(self.arbiter.owned_by(self.me))
        out["peers_clock_offset_ms"] = self.slots.clocks.worst_ms()
        out["peers_clock_correction_ms"] = round(self.time.moved() * 1000)  # where the slot clock stands now
        out["peers_clock_moves"] = self.time.moves
        out.update(self.intake.health())
        return out

    # --- the service ---------------------------------------------------------------------------

    async def run(self, ready: Ready) -> None:
        undo = [self.ports.subscribe(self._on_event), self.ports.report(self.health)]
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._connection_loop(), name="edge-peers-link")
                group.create_task(self.slots.run(), name="edge-peers-slots")
                group.create_task(self._messages(), name="edge-peers-in")
                group.create_task(self._handovers(), name="edge-peers-handovers")
                group.create_task(self.releases.run(), name="edge-peers-releases")
                ready()
        finally:
            for step in undo:
                step()
            self.slots.cancel()
            await self.connection.close(self._release_all)

    def _release_all(self) -> None:
        """A clean stop: release what this gateway owned (the will covers a crash)."""
        for token in [*self.claims.mine, *self.releases]:
            self.claims.clear(token)

    async def _connection_loop(self) -> None:
        await self.connection.run()

    async def _messages(self) -> None:
        while True:
            message = await self.intake.get()
            try:
                await self._handle(message)
                await self.slots.delivered()
            except Exception as err:  # noqa: BLE001 - one bad message never ends the service
                self.intake.reject(message.gateway, message.kind, HANDLER_ERROR, where(err))

    async def _handle(self, message: PeerMessage) -> None:
        gateway, kind, payload = message.gateway, message.kind, message.payload
        if kind == "sightings" and gateway in self.peers:
            self.slots.on_summary(gateway, payload, message.received)
        elif kind == "state" and gateway in self.peers and payload:
            self._on_state(gateway, payload)
        elif kind == "owner":
            await self._on_claim(gateway, message.topic, payload, message.retained)

    # --- hands --------------------------------------------------------------------------------

    def _hands_on(self) -> tuple[Hand, ...]:
        """The shoppers this gateway owns and last placed in a zone only one other (alive) gateway's
        scanners cover: its summary hands them to that gateway (the arbitration moves them at once);
        and those it keeps, handed to itself: the zone its stream last said (while it takes a shopper
        over, the previous owner's) is one of its own (the arbitration's ``KEEP_MARGIN_DB``)."""
        if not self.connected.is_set():
            return ()
        own = self.coverage.own_zones()
        out = []
        for token, claim in sorted(self.claims.mine.items()):
            gateway = self._hand_target(token, claim.zone)
            if gateway is None and claim.zone in own:
                gateway = self.me
            if gateway is not None:
                out.append(Hand(token, gateway))
        for token in sorted(self.handovers.taking):
            said = self.claims.seen.get(token)
            if said is not None and said.zone in own:
                out.append(Hand(token, self.me))
        out.extend(Hand(token, self.me) for token in self.arbiter.owned_by_others(self.me) if self._pulls(token))
        return tuple(out)

    def _pulls(self, token: str) -> bool:
        """This gateway's engine places ``token``, another alive gateway's shopper, in one of its own zones
        (:func:`edge.peers.pull.pulls`; its summaries hand the shopper to itself)."""
        if not PULL or not self.connected.is_set():
            return False
        zone = self.ports.view.zone_of(token)
        return pull.pulls(self.me, self.arbiter.owner(token), zone, self.coverage.own_zones(), self.alive)

    def _pulled(self, peer: str, tokens: frozenset[str]) -> None:
        """``peer``'s summary pulls ``tokens``: those this gateway owns and last said in no zone are handed to
        it at once (:func:`edge.peers.pull.honoured`), as :meth:`_hand_now` hands on."""
        if not PULL or not self.connected.is_set():
            return
        for token in sorted(tokens):
            mine = self.claims.mine.get(token)
            busy = self.handovers.holds(token) or self.changes.queued(token)
            owner = self.arbiter.owner(token)
            said = None if mine is None else mine.zone
            if mine is not None and pull.honoured(self.me, owner, said, True, busy, peer, self.alive, heard=True):
                self._hand_on(token, mine, peer, "peers_pulls_honoured")

    def _hand_target(self, token: str, zone: str | None) -> str | None:
        """The alive peer whose scanners alone cover ``zone`` (where this owner last placed ``token``),
        unless it is one of this gateway's zones or this gateway is still ahead of its engine."""
        if zone is None or token in self.handovers.ahead:
            return None
        gateway = self.coverage.only_peer(zone)
        return gateway if gateway in self.alive else None

    def _hand_now(self, token: str) -> None:
        """This owner's presence event placing ``token`` in another gateway's zone was committed: hand
        the shopper on at once (:data:`HAND_AT_ONCE`), not at the next slot's summary. The claim naming
        the zone and the hand goes out, then its clear; every gateway applies the hand on that claim
        (:meth:`Arbiter.hand`: only if this gateway still owns it at that epoch)."""
        mine = self.claims.mine.get(token)
        if not HAND_AT_ONCE or mine is None or not self.connected.is_set() or token in self.handovers.taking:
            return
        to = self._hand_target(token, mine.zone)
        if to is not None:
            self._hand_on(token, mine, to, "peers_hands_at_once")

    def _hand_on(self, token: str, mine: Claim, to: str, counter: str) -> None:
        """Hand ``token`` (this gateway's ``mine`` claim) to ``to`` at once, if it still owns it at that epoch:
        the claim naming ``to`` goes out, then its clear once its last words are (:meth:`_let_go`)."""
        if self.arbiter.hand(token, self.me, mine.epoch, to) is None:
            return
        self.stats[counter] += 1
        self.claims.publish(HandingOn(token, self.me, mine.epoch, mine.zone, said_by=mine.said_by, hand=to))
        self.handovers.lose(token)
        self._let_go(token)

    # --- ownership -----------------------------------------------------------------------------

    async def _apply(self, change: Change, now: float) -> None:
        token = change.token
        self.stats[f"peers_moves_{change.why}"] += 1
        if change.new == self.me and change.old != self.me:
            await self.handovers.gain(token, change.old, change.epoch, now)
        elif change.old == self.me and change.new != self.me:
            self.handovers.lose(token)
            self._let_go(token)

    def _rejoined(self, _now: float) -> None:
        """Back from a stall (:data:`~edge.peers.timing.AWAY_S`) and caught up: the shoppers it still owns whose zone
        its engine changed meanwhile -- its events were held back, and the CDP's last word is its claim's zone -- get
        that change said now, as a shopper given back before anyone else spoke does (:func:`edge.peers.speech.gained`:
        the exit of the zone said, then the entry of its engine's, never a second ``entered``)."""
        view = self.ports.view
        for token, mine in list(self.claims.mine.items()):
            if self.arbiter.owner(token) != self.me or self.handovers.holds(token) or self.changes.queued(token):
                continue  # moved on (its change says so), or its words wait for a hand-over already
            if view.zone_of(token) != mine.zone:
                self.stats["peers_rejoin_words"] += 1
                self.handovers.rejoin(token, mine.epoch)

    def _let_go(self, token: str) -> None:
        """The arbitration moved ``token`` away: this gateway is silent for it from now on (:meth:`owns`
        reads the arbiter), and clears its claim -- the next owner's cue to speak -- once the events
        about the shopper that passed its filter before are out (:class:`Releases`)."""
        if self.claims.give_up(token) is None:
            return
        self.stats["peers_handoffs_out"] += 1
        self.releases.let_go(token)

    # --- inputs --------------------------------------------------------------------------------

    def _backlog(self) -> int:
        """Adverts the source handed to the core's writer that it has not taken yet (its summary's
        ``heard_to``, :meth:`Slots._heard_to`): the source's count less its drops less the core's. 0 without
        a gateway's readings (ports built by a test)."""
        readings = self.ports.readings
        if readings is None:
            return 0
        source = readings.source_counters()
        return source.get("adverts", 0) - source.get("queue_drops", 0) - self.ports.view.counters.adverts_seen

    def _withdrawn(self, token: str) -> bool:
        """The roster in force no longer lists ``token`` (no roster yet: nobody withdrawn from it, as in
        :meth:`edge.pipeline.Pipeline.withdrawn`)."""
        return self.ports.view.roster is not None and token not in self._rostered_tokens()

    def _rostered_tokens(self) -> AbstractSet[str]:
        roster = self.ports.view.roster
        return frozenset() if roster is None else roster.tokens

    def _on_state(self, peer: str, payload: bytes) -> None:
        try:
            state = messages.states.decode(payload)
        except msgspec.DecodeError as err:
            self.intake.reject(peer, "state", INVALID, scrub(str(err)))
            return
        if state.state == "online":
            self.alive.add(peer)
        else:
            self.alive.discard(peer)  # its last will: what it owned goes to the loudest other
            self.slots.gone(peer)

    async def _on_claim(self, gateway: str, topic: str, payload: bytes, retained: bool = True) -> None:
        if gateway == self.me:
            if payload and retained and not self.claims.topic_is_mine(topic, list(self.releases)):
                # A claim left from before a restart (or an outage: its clear could not go out), sent
                # from the broker's retained store: cleared (the arbitration decides anew). Not the echo
                # of a claim published since (retained False): its clear is already out after it -- that
                # echo, read after the release, cleared the claim a second and a third time.
                link = self.link
                if link is not None:
                    link.client.publish(topic, b"", qos=1, retain=True)
            return
        if gateway not in self.peers:
            return
        if not payload:
            # A peer let a shopper go: its last claim (zone) is its last word.
            token = self._claim_topics.pop(topic, None)
            if token is not None:
                self.handovers.cleared(token, gateway)
            return
        try:
            claim = messages.claims.decode(payload)
        except msgspec.DecodeError as err:
            self.intake.reject(gateway, "owner", INVALID, scrub(str(err)))
            return
        if claim.voice not in self.peers and claim.voice != self.me:
            # (its ``said_by`` would reach the CDP as a hand-off's ``from_gateway``: only a gateway of this store)
            self.intake.reject(gateway, "owner", INVALID, "said_by names no gateway of this store")
            return
        if claim.owner != gateway or claim.token not in self._rostered_tokens():
            return
        known = self.claims.seen.get(claim.token)
        if known is not None and known.owner != claim.owner and known.epoch > claim.epoch:
            return  # a previous owner's zone update that crossed the new owner's claim
        self.claims.seen[claim.token] = claim
        self._claim_topics[topic] = claim.token
        self.handovers.claimed(claim.token, gateway)
        change = self.arbiter.adopt(claim.token, claim.owner, claim.epoch, self.arbiter.evaluated)
        if change is not None:
            self.changes.put(change, self.ports.clock.now())  # after the changes decided before it
        to = claim.hand
        if to is not None and (to == self.me or to in self.alive):
            # The owner handed the shopper on at once (its engine placed them in ``to``'s zone).
            handed = self.arbiter.hand(claim.token, gateway, claim.epoch, to)
            if handed is not None:
                self.changes.put(handed, self.ports.clock.now())

    def _on_event(self, event: Event) -> None:
        """Committed events: withdrawals purge. (A claim's zone follows this gateway's presence as each
        event passes :meth:`owns`, or as the service itself speaks: not at the commit, which comes later.)"""
        if event.type == ev.CONSENT_WITHDRAWN:
            token = str(event.data.get("token"))
            self.changes.forget(token)  # none of its changes decided before is applied after this
            self.arbiter.forget(token)
            self.slots.forget(token)  # its slot's part, what its scanners heard, peers' early parts
            self.handovers.forget(token)
            for topic in [t for t, known in self._claim_topics.items() if known == token]:
                del self._claim_topics[topic]
            self.claims.forget(token)
            return
        if event.type == ev.PRESENCE_ENTERED:
            token = str(event.data.get("token"))
            mine = self.claims.mine.get(token)
            if mine is not None and mine.zone == event.data.get("zone"):
                self._hand_now(token)
