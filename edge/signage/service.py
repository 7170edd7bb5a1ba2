"""The asyncio side of signage: downlinks and presence in, decisions to the player, impressions out.

One service (:mod:`edge.ports`): ``Signage(ports, config.signage)``, run by the gateway. It routes
the ``cdp/v1/{store}/offers`` and ``rules`` downlinks to itself (retained: their last good
payloads are kept in the last good store and restored before the first message, so a restarted
box plays on without the CDP), listens to committed events (presence in the screen's zone wakes
a decision at once; shelf interactions with a token are interest; a withdrawal forgets the
shopper), decides every SIGNAGE_DECIDE_INTERVAL_S, and turns the player's reports of presented
frames into ``edge.offer.impression`` events published through the ports, so they are in the
outbox before anything else sees them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable

from edge import constants as c
from edge import events as ev
from edge.config import SignageConfig
from edge.events import Event
from edge.ports import Ports, Ready
from edge.router import ORDER_OFFERS, ORDER_RULES, Route
from edge.signage import protocol as p
from edge.signage.caps import CapLedger
from edge.signage.cards import card_for
from edge.signage.decide import Inputs, Play, ScreenDecider, Timing
from edge.signage.offers import Catalogue, Rules, parse_offers, parse_rules
from edge.signage.rank import Place
from edge.signage.supervisor import PlayerProcess
from edge.timefmt import format_time

log = logging.getLogger(__name__)


async def wait_event(event: asyncio.Event, timeout_s: float) -> None:
    """Until ``event`` is set or ``timeout_s`` passed, and never swallowing a cancellation.

    Not ``asyncio.wait_for``: on Python 3.11 it returns normally when the cancellation arrives in
    the same loop turn as the event (CPython gh-86296), so a task cancelled at the wrong moment
    kept deciding forever and ``edge demo`` hung at shutdown, ignoring further signals.
    ``asyncio.timeout`` tells its own cancellation from the caller's.
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(timeout_s):
            await event.wait()


def player_settings(config: SignageConfig, content_dirs: tuple[str, ...]) -> p.PlayerSettings:
    return p.PlayerSettings(
        backend=config.backend,
        width=config.width,
        height=config.height,
        fullscreen=config.fullscreen,
        fps=config.fps,
        crossfade_s=config.crossfade_s,
        content_dirs=content_dirs,
        frames_dir=config.frames_dir,
        frame_every_s=config.frame_every_s,
    )


class Signage:
    """One screen of the gateway; see the module docstring."""

    name = "signage"

    def __init__(self, ports: Ports, config: SignageConfig | None = None) -> None:
        self.ports = ports
        gateway = ports.config
        self.config = config or gateway.signage
        screens = gateway.screens
        if not screens:
            raise ValueError("signage needs a [[screens]] entry")
        screen_id = self.config.screen or screens[0].id
        screen = next(s for s in screens if s.id == screen_id)
        zone = next(z for z in gateway.zones if z.id == screen.zone)
        self.place = Place(screen.id, zone.id, frozenset(zone.tags))
        timing = Timing(self.config.play_s, self.config.min_display_s, self.config.sticky_margin_m)
        self.decider = ScreenDecider(self.place, CapLedger(), timing, language=gateway.gateway.language)
        self.catalogue: Catalogue | None = None
        self.rules: Rules | None = None
        self.interests: dict[str, dict[str, float]] = {}
        self.impressions = 0
        self.decisions: collections.Counter[str] = collections.Counter()
        """Plays decided, by kind: "personal", "holdout", "generic" (the metrics endpoint's ``edge_decisions``)."""
        self.on_started: list[Callable[[Play, float], None]] = []
        """Called with each play and the monotonic time of its first presented frame."""
        self.showing: Play | None = None
        topics = ports.topics
        self._routes = [
            ports.route(
                Route(topics.offers, self._decode_offers, self._put_offers, True, ORDER_OFFERS, owner=self.name)
            ),
            ports.route(Route(topics.rules, self._decode_rules, self._put_rules, True, ORDER_RULES, owner=self.name)),
        ]
        content = self.config.content_dir or str(ports.state_dir / "content")
        self.player = PlayerProcess(player_settings(self.config, (content,)), self._on_report, self._on_player_exit)
        self._plays: dict[int, Play] = {}
        self._open: dict[int, list[float]] = {}
        self._play_id = 0
        self._outgoing: list[Event] = []
        self._wake = asyncio.Event()
        self._closing = False

    # --- lifecycle -------------------------------------------------------------------------

    async def run(self, ready: Ready) -> None:
        """The player and the decision loop until cancelled; open impressions end at the stop."""
        unsubscribe = self.ports.subscribe(self._on_event)
        try:
            async with self.player:
                ready()
                try:
                    await self._loop()
                finally:
                    self._closing = True
                    now = time.monotonic()
                    for play_id, (start, _) in list(self._open.items()):
                        self._impression(play_id, start, now)
                    self._open.clear()
                    await self._flush()
        finally:
            unsubscribe()
            for unroute in self._routes:
                unroute()

    # --- inputs ----------------------------------------------------------------------------

    def _decode_offers(self, payload: bytes) -> Catalogue:
        return parse_offers(payload, topic=self.ports.topics.offers)

    def _decode_rules(self, payload: bytes) -> Rules:
        return parse_rules(payload, topic=self.ports.topics.rules)

    def _put_offers(self, catalogue: Catalogue, _now: float) -> list[Event]:
        self.catalogue = catalogue
        self._wake.set()
        return []

    def _put_rules(self, rules: Rules, _now: float) -> list[Event]:
        self.rules = rules
        self._wake.set()
        return []

    def _on_event(self, event: Event) -> None:
        kind = event.type
        if kind.startswith("edge.presence.") and event.data.get("zone") == self.place.zone:
            self._wake.set()
        elif kind == ev.SHELF_INTERACTION and event.token is not None and event.data.get("sku"):
            self.interests.setdefault(event.token, {})[str(event.data["sku"])] = event.time
        elif kind == ev.CONSENT_WITHDRAWN:
            token = str(event.data.get("token"))
            self.interests.pop(token, None)
            self.decider.forget(token)
            self._wake.set()

    # --- the loop --------------------------------------------------------------------------

    def now(self) -> float:
        return self.ports.clock.now()

    async def _loop(self) -> None:
        while not self._closing:
            await wait_event(self._wake, c.SIGNAGE_DECIDE_INTERVAL_S)
            self._wake.clear()
            self.step()
            await self._flush()

    def step(self) -> Play | None:
        """Decide now; a new play goes to the player at once."""
        view = self.ports.view
        inputs = Inputs(
            now=self.now(),
            roster=view.roster,
            occupants=view.occupants(self.place.zone),
            catalogue=self.catalogue,
            rules=self.rules,
            interests=self.interests,
        )
        play = self.decider.step(inputs)
        if play is not None:
            self._play_id += 1
            self._plays[self._play_id] = play
            self.decisions["holdout" if play.holdout else "personal" if play.personal else "generic"] += 1
            self.player.show(card_for(play, self.catalogue, self._play_id))
            log.info("%s: %s %s (%s)", self.place.screen, play.kind, play.content, ", ".join(play.reasons))
            log.debug("%s: play %d is for %s", self.place.screen, self._play_id, play.token)
        return play

    async def _flush(self) -> None:
        if self._outgoing:
            batch = self._outgoing[:]
            self._outgoing.clear()
            await self.ports.publish(batch)

    # --- reports from the player -----------------------------------------------------------

    def _on_report(self, report: p.Report) -> None:
        if isinstance(report, p.Started):
            play = self._plays.get(report.play)
            if play is None:
                return
            self._open[report.play] = [report.mono, report.mono]
            self.showing = play
            for listener in self.on_started:
                listener(play, report.mono)
        elif isinstance(report, p.Heartbeat):
            if report.play in self._open:
                self._open[report.play][1] = report.mono
        elif isinstance(report, p.Ended):
            span = self._open.pop(report.play, None)
            if span is not None:
                self._impression(report.play, span[0], report.mono)
            self._plays.pop(report.play, None)
        elif isinstance(report, p.Dropped):
            self._plays.pop(report.play, None)

    def _on_player_exit(self, code: int | None) -> None:
        """The player crashed: what it was presenting ends at its last report."""
        for play_id, (start, last) in list(self._open.items()):
            self._impression(play_id, start, last)
        self._open.clear()
        self._wake.set()

    def _to_clock(self, mono: float) -> float:
        return self.now() - (time.monotonic() - mono)

    def _impression(self, play_id: int, start_mono: float, end_mono: float) -> None:
        play = self._plays.get(play_id)
        if play is None:
            return
        roster = self.ports.view.roster
        token = play.token if play.token is not None and roster is not None and roster.get(play.token) else None
        start, end = self._to_clock(start_mono), self._to_clock(max(end_mono, start_mono))
        data: dict[str, object] = {
            "screen": self.place.screen,
            "offer": play.content,
            "kind": play.kind,
            "campaign": play.campaign,
            "token": token,
            "start": format_time(start),
            "end": format_time(end),
            "duration_s": round(end - start, 3),
            "holdout": play.holdout,
            "withheld_offer": play.withheld,
            "reason": list(play.reasons),
        }
        self._outgoing.append(
            self.ports.view.factory.make(ev.OFFER_IMPRESSION, start, self.place.screen, data, token=token)
        )
        self.impressions += 1
        self._wake.set()
