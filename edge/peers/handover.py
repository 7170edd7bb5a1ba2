"""Taking a shopper over (issue 18): the new owner's wait, and its first words for the shopper.

When the arbitration gives this gateway a shopper another gateway spoke for, :class:`Handovers` decides
when it starts speaking (:mod:`edge.peers.takeover`, pure): it first waits (up to
:data:`~edge.peers.timing.AGREE_S`) for the previous owner's claim to be cleared (every gateway evaluates
the same slot, but each at its own moment: until then the previous owner may still announce a zone, and
its claim carries that zone before the clear) and for its own engine to agree with that zone ("no zone"
included) or to place the shopper in a zone of its own scanners (heard first-hand): the peers' scanners
reach an engine a second late, so the new owner's engine often still lags the previous owner's, and
speaking at once would step the CDP's stream back a zone. Then it claims the shopper and emits
``edge.presence.entered`` with ``from_gateway`` (or, when its engine has the shopper in no zone while
the previous owner had one, ``edge.presence.exited`` for that zone; :mod:`edge.peers.speech`).
Meanwhile nobody speaks: the CDP keeps the last word. A previous owner that is gone (its last will, a
clean stop) is silent already: its last claim seen is its last word, and the new owner waits only for
its engine (without that claim it speaks at once).

When the previous owner's last zone is one of this gateway's own but its engine has not placed the
shopper there yet, it says that zone at once and holds its engine's events back until its engine agrees
(:class:`~edge.peers.messages.Ahead`), or says what its engine says after ``AGREE_S``.

When the previous owner is alive but silent (frozen) and its last zone is one only its scanners hear, the new
owner keeps its last word (:class:`~edge.peers.messages.Kept`, :func:`edge.peers.takeover.keeps`): it claims
the shopper with ``said_by`` naming that owner and says nothing until the word gives way
(:func:`edge.peers.takeover.kept_ends`); given back meanwhile, nothing was said at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses

from edge.events import Event
from edge.peers import speech, takeover
from edge.peers.claims import Claims
from edge.peers.connection import StoreConnection
from edge.peers.coverage import Coverage
from edge.peers.messages import Ahead, Claim, Handover, Kept
from edge.peers.slots import Slots
from edge.peers.timing import AGREE_S, TAKEOVER_POLL_S
from edge.ports import Ports


class Handovers:
    """The shoppers this gateway was given and does not speak for yet (:attr:`taking`), those it speaks
    for ahead of its engine (:attr:`ahead`), and :meth:`run`, which lets them speak. It reads the
    claims seen (``claims``), who is alive (``connection``), its own zones (``coverage``) and what its
    own scanners heard (``slots``); ``stats`` is the service's counters."""

    def __init__(
        self,
        me: str,
        ports: Ports,
        claims: Claims,
        connection: StoreConnection,
        coverage: Coverage,
        slots: Slots,
        stats: dict[str, int],
    ) -> None:
        self.me = me
        self.ports = ports
        self.claims = claims
        self.connection = connection
        self.coverage = coverage
        self.slots = slots
        self.stats = stats
        self.taking: dict[str, Handover] = {}
        """Tokens the arbitration gave this gateway, not yet spoken for (waiting for its engine)."""
        self.ahead: dict[str, Ahead] = {}
        """Tokens this gateway speaks for with the previous owner's zone, its engine not there yet."""
        self.kept: dict[str, Kept] = {}
        """Tokens this gateway owns keeping a silent gateway's last word (:func:`takeover.keeps`): nothing said yet."""
        self.rejoining: dict[str, int] = {}
        """Tokens it still owns after a stall whose engine's zone changed meanwhile: token → its epoch."""
        self.silent: dict[str, str] = {}
        """Token → the peer that last cleared its claim on it (it no longer speaks for the shopper)."""
        self.wake = asyncio.Event()
        """Set when a hand-off starts, a claim is cleared or a held-back event comes: :meth:`run` looks."""

    def holds(self, token: str) -> bool:
        """This gateway's engine's events about ``token`` are held back (it waits, it is ahead, or it is back from a
        stall and about to say what its engine did meanwhile)."""
        return token in self.taking or token in self.ahead or token in self.rejoining or token in self.kept

    def rejoin(self, token: str, epoch: int) -> None:
        """Back from a stall, this gateway still owns ``token`` at ``epoch`` and its engine's zone is no longer the one
        its claim said: :meth:`run` says the change at once (its own last word stands: :func:`speech.gained`)."""
        self.rejoining[token] = epoch
        self.wake.set()

    async def gain(self, token: str, old: str | None, epoch: int, now: float) -> None:
        """The arbitration moved ``token`` from ``old`` to this gateway at ``epoch``."""
        claim = self.claims.seen.get(token)
        begin = takeover.start(self.me, old, claim, self.connection.alive, self.connection.connected.is_set())
        speaker = begin.speaker
        covered_by = None if claim is None or claim.zone is None else self.coverage.only_peer(claim.zone)
        if (
            claim is not None
            and speaker is not None
            and takeover.keeps(begin, claim, covered_by, self.slots.arbiter.speaks(speaker))
        ):
            # Nobody hears the zone the silent gateway last said: its word stands, with this gateway as the owner.
            self.stats["peers_handoffs_kept"] += 1
            self.kept[token] = Kept(speaker, claim, epoch)
            self.claims.claim(Claim(token, self.me, epoch, claim.zone, said_by=speaker))
            self.wake.set()
        elif begin.at_once or begin.speaker is None:
            await self._take(token, begin.speaker, epoch, now)  # nobody else is speaking
        else:
            if begin.silent:  # gone (its will, a stop): its last claim is its last word
                self.silent[token] = begin.speaker
            via = claim.owner if claim is not None and claim.voice != claim.owner else None
            self.taking[token] = Handover(begin.speaker, epoch, now, via)
            self.wake.set()

    def lose(self, token: str) -> None:
        """The arbitration moved ``token`` away (or this gateway hands it on): no wait, nothing ahead."""
        self.taking.pop(token, None)  # moved on before this gateway spoke for it
        self.ahead.pop(token, None)
        self.rejoining.pop(token, None)
        self.kept.pop(token, None)  # (back to the silent gateway, or on: the claim's ``said_by`` goes with it)

    def cleared(self, token: str, peer: str) -> None:
        """``peer`` cleared its claim on ``token``: its last claim (zone) is its last word."""
        self.silent[token] = peer
        self.wake.set()

    def claimed(self, token: str, peer: str) -> None:
        """``peer`` claims ``token`` (again): it speaks for the shopper."""
        if self.silent.get(token) == peer:
            del self.silent[token]

    def forget(self, token: str) -> None:
        """A consent withdrawal: the token's hand-over state is forgotten at once."""
        self.taking.pop(token, None)
        self.rejoining.pop(token, None)
        self.ahead.pop(token, None)
        self.silent.pop(token, None)
        self.kept.pop(token, None)

    async def run(self) -> None:
        """Waiting new owners speak once their engine agrees with the previous owner's last zone (see
        the module docstring), or after :data:`AGREE_S`."""
        clock = self.ports.clock
        while True:
            with contextlib.suppress(TimeoutError):
                # Idle (nobody waiting): asleep until a hand-off starts (``gain`` wakes it).
                waiting = self.taking or self.ahead or self.kept
                await asyncio.wait_for(self.wake.wait(), TAKEOVER_POLL_S if waiting else None)
            self.wake.clear()
            now = clock.now()
            for token, epoch in list(self.rejoining.items()):
                del self.rejoining[token]
                await self._take(token, self.me, epoch, now)  # its own last word: the claim's zone (speech.gained)
            await self._keeps(now)
            for token, taking in list(self.taking.items()):
                quiet = self.silent.get(token)  # (None: nobody cleared -- not the ``via`` of a plain hand-off)
                verdict = takeover.verdict(
                    taking.peer, self.claims.seen.get(token), quiet is not None and quiet in (taking.peer, taking.via),
                    self.ports.view.zone_of(token), self.coverage.own_zones(), token in self.slots.heard_own,
                    now - taking.since, AGREE_S,
                )  # fmt: skip
                if verdict is not None:
                    if not verdict.agreed:
                        self.stats["peers_handoffs_unagreed"] += 1
                    await self._take(token, taking.peer, taking.epoch, now, verdict.said)
            for token, ahead in list(self.ahead.items()):
                zone = self.ports.view.zone_of(token)
                if zone == ahead.zone:
                    del self.ahead[token]  # its engine caught up: its own events speak from now on
                elif now - ahead.since >= AGREE_S:
                    del self.ahead[token]
                    self.stats["peers_handoffs_unagreed"] += 1
                    events = self._caught_up(token, ahead.zone, now)
                    self.claims.said(token, self.ports.view.zone_of(token))
                    if events:
                        await self.ports.publish(events)

    async def _keeps(self, now: float) -> None:
        """The kept last words that give way now (:func:`takeover.kept_ends`): this gateway says what its engine
        says, as any new owner of the silent gateway's shopper would have (``from_gateway``: that gateway)."""
        for token, kept in list(self.kept.items()):
            if kept.back_at is None and self.slots.arbiter.speaks(kept.peer):
                kept = self.kept[token] = dataclasses.replace(kept, back_at=now)
            zone = self.ports.view.zone_of(token)
            if takeover.kept_ends(kept.last.zone, kept.peer, zone, self.connection.alive, kept.back_at, now, AGREE_S):
                del self.kept[token]
                if not self._listed(token):
                    continue  # withdrawn meanwhile: its claim goes with the withdrawal
                events = self._gained(token, kept.peer, now, previous=kept.last)
                self._claim(token, kept.epoch, zone, kept.peer, events)
                if events:
                    await self.ports.publish(events)

    async def _take(self, token: str, speaker: str | None, epoch: int, now: float, said: str | None = None) -> None:
        """Speak for ``token`` from now on: claim it, and tell the CDP (``from_gateway``: ``speaker``).
        ``said``: the previous owner's last zone, one of this gateway's own, where its engine has not
        placed the shopper yet: this gateway says that zone and holds its engine's events back until
        its engine agrees (:class:`Ahead`). A token the roster in force no longer lists (the core's
        withdrawal, in the moments before the service hears of it) is dropped: no claim, no words."""
        self.taking.pop(token, None)
        self.silent.pop(token, None)
        if not self._listed(token):
            self.ahead.pop(token, None)
            self.stats["peers_handoffs_withdrawn"] += 1
            return
        events = self._gained(token, speaker, now, say=said)
        if said is not None:
            self.ahead[token] = Ahead(said, now)
            self.stats["peers_handoffs_ahead"] += 1
        self._claim(token, epoch, said or self.ports.view.zone_of(token), speaker, events)
        if events:
            await self.ports.publish(events)

    def _claim(self, token: str, epoch: int, zone: str | None, speaker: str | None, events: list[Event]) -> None:
        """Claim ``token`` as this gateway's, its stream placing the shopper in ``zone``, once it has said ``events``.
        With nothing said (its engine agrees with the last word, "no zone" included), the CDP's last speaker is still
        ``speaker``, and the claim says so (``said_by``): the next owner's words name it, not this gateway, which the
        CDP never heard of the shopper from (a box back from a 50 s freeze named one: doors seed 5)."""
        if not events and speaker is not None and speaker != self.me:
            self.claims.claim(Claim(token, self.me, epoch, zone, said_by=speaker))
        else:
            self.claims.claim(Claim(token, self.me, epoch, zone))

    def _listed(self, token: str) -> bool:
        """Whether the roster in force lists ``token`` (no roster yet: nobody was withdrawn from it, as in
        :meth:`edge.pipeline.Pipeline.withdrawn`; nobody is resolved either, so no hand-over comes)."""
        roster = self.ports.view.roster
        return roster is None or roster.get(token) is not None

    def _caught_up(self, token: str, said: str, now: float) -> list[Event]:
        """This gateway said ``said`` ahead of its engine, which never got there: what its engine says --
        the exit of ``said``, then the entry of its engine's zone if it has one (never that entry alone:
        a second ``entered`` in one visit)."""
        zone = self.ports.view.zone_of(token)
        if zone == said:
            return []
        exited = speech.caught_up(self.ports.view, token, said, now)
        return exited if zone is None else exited + self._gained(token, None, now)

    def _gained(
        self, token: str, old: str | None, now: float, *, say: str | None = None, previous: Claim | None = None
    ) -> list[Event]:
        """The events that make this gateway's stream the shopper's one (:func:`speech.gained`); ``previous``: the
        last word, when not the latest claim seen (a kept one)."""
        if old is not None and old != self.me:
            self.stats["peers_handoffs_in"] += 1
        return speech.gained(
            self.ports.view, self.ports.config.presence, self.me, token, old, now,
            previous=previous or self.claims.seen.get(token), heard=self.slots.heard_own.get(token), say=say,
        )  # fmt: skip
