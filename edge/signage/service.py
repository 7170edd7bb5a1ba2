"""The asyncio side of signage: downlinks and presence in, decisions to the player, impressions out.

One service (:mod:`edge.ports`): ``Signage(ports, config.signage)``, run by the gateway. It routes
the ``cdp/v1/{store}/offers`` and ``rules`` downlinks and this gateway's ``override`` to itself
(retained: their last good payloads are kept in the last good store and restored before the first
message, so a restarted box plays on without the CDP) and the ``screenshot`` requests
(:mod:`edge.signage.screen_ops`). It listens to committed events (presence in the screen's zone wakes
a decision at once; shelf interactions with a token are interest, and a pickup may redeem a code, as
may an app check-in carrying one: the ports' ``checkin_codes``; a withdrawal forgets the shopper, in
memory and in the state database), decides every SIGNAGE_DECIDE_INTERVAL_S once the player has
started (an active override wins over every decision), and turns the player's reports of presented frames into
``edge.offer.impression`` events (:mod:`edge.signage.measure`) published through the ports, so they
are in the outbox before anything else sees them. Caps,
holdout groups and the redemption codes shown (still redeemable within the attribution window) are
loaded from ``signage.sqlite`` at start and saved at each flush (:mod:`edge.signage.state`), after
the flush's events are published: a crash between the two may redeem a code twice, never lose a
redemption (the CDP keeps each code once).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence

import msgspec

from edge import constants as c
from edge import events as ev
from edge.config import SignageConfig
from edge.events import Event
from edge.ports import Ports, Ready
from edge.presence import Occupant
from edge.router import ORDER_OFFERS, ORDER_RULES, Route, where
from edge.signage import protocol as p
from edge.signage.caps import CapLedger
from edge.signage.cards import Card, card_for
from edge.signage.decide import Inputs, Play, ScreenDecider, Timing
from edge.signage.impression import creative_version, play_id, redemption_code
from edge.signage.measure import MAX_SHIFT_REAL_S, OFFER_REDEEMED, Impression, Measure, OnScreen, decision_time
from edge.signage.measure import Place as MeasurePlace
from edge.signage.offers import Catalogue, Rules, parse_offers, parse_rules
from edge.signage.rank import Place
from edge.signage.screen_ops import ScreenOps
from edge.signage.state import SignageState, open_signage_state
from edge.signage.supervisor import PlayerProcess
from edge.timezone import time_zone

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


def looks(card: Card) -> str:
    """The creative version of a card: what was drawn, without its play number and code."""
    return creative_version(msgspec.json.encode(msgspec.structs.replace(card, play=0, code=None, qr=None)))


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
        # "UTC" is the config's default: then the catalogue's own time zone reads the schedules.
        tz = time_zone(gateway.gateway.timezone) if gateway.gateway.timezone != "UTC" else None
        self.place = Place(screen.id, zone.id, frozenset(zone.tags), timezone=tz, zone_type=zone.type)
        timing = Timing(self.config.play_s, self.config.min_display_s, self.config.sticky_margin_m)
        self.language = gateway.gateway.language
        self.decider = ScreenDecider(self.place, CapLedger(), timing, language=self.language)
        self.catalogue: Catalogue | None = None
        self.rules: Rules | None = None
        self.interests: dict[str, dict[str, float]] = {}
        self.impressions = 0
        self.decisions: collections.Counter[str] = collections.Counter()
        """Plays decided, by kind: "personal", "holdout", "generic" (the metrics endpoint's ``edge_decisions``)."""
        self.on_started: list[Callable[[Play, float], None]] = []
        """Called with each play and the monotonic time of its first presented frame."""
        self.on_presented: list[Callable[[OnScreen, float], None]] = []
        """Called with every card's first presented frame, overrides included (tests, benchmarks)."""
        self.showing: Play | None = None
        self.measure = Measure(
            MeasurePlace(gateway.gateway.store, screen.id, zone.id, zone.type),
            ports.clock,
            lambda: float(getattr(ports.clock, "speed", 1.0)),  # the replay's or demo's speed; 1 live
        )
        topics = ports.topics
        self._routes = [
            ports.route(
                Route(topics.offers, self._decode_offers, self._put_offers, True, ORDER_OFFERS, owner=self.name)
            ),
            ports.route(Route(topics.rules, self._decode_rules, self._put_rules, True, ORDER_RULES, owner=self.name)),
        ]
        content = self.config.content_dir or str(ports.state_dir / "content")
        self.player = PlayerProcess(player_settings(self.config, (content,)), self._on_report, self._on_player_exit)
        self.ops = ScreenOps(ports, self.player, self._wake_up, owner=self.name)
        self.state: SignageState | None = None
        self._plays: dict[int, Play] = {}
        self._number = 0
        self._override_on: tuple[str, int] | None = None
        """The override on screen: its id and its player play number."""
        self._outgoing: list[Event] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self.purge_failures = 0
        """Withdrawals whose screen rows (caps, codes, holdout) could not be purged (health)."""
        self._wake = asyncio.Event()
        self._closing = False
        self._latest_event = float("-inf")
        """The latest time of a committed event seen (a replay's core runs ahead of its clock)."""
        self._decided = float("-inf")
        """The time of the latest decision (:meth:`decision_now`): decisions never go back in time."""
        self._player_started = False
        """The player has reported ready once: the loop decides from then on. A play decided while it
        was still starting (0.35-2.7 real s) counted its planned seconds without a screen and was cut by
        that much (the first welcome on screen 0.8-6.4 s of its 8 at speed 4); once started, decisions
        go on through a restart of the player, so the card it is sent again is the latest decision."""

    # --- lifecycle -------------------------------------------------------------------------

    async def run(self, ready: Ready) -> None:
        """The player and the decision loop until cancelled; open impressions end at the stop."""
        undo = [
            self.ports.subscribe(self._on_event),
            self.ports.checkin_codes(self._on_checkin_code),
            self.ports.report(self.health),
        ]
        try:
            async with open_signage_state(self.ports.state_dir) as state:
                roster = self.ports.view.roster
                if roster is not None and not roster.expired(self.now()):
                    gone = await state.forget_unlisted(lambda token: roster.get(token) is not None)
                    if gone:
                        log.info("purged the screen's rows of %d shoppers the roster no longer lists", len(gone))
                self.decider.ledger = await state.ledger(self.now())
                self.measure.restore(await state.shown_codes(self.now()))
                self.state = state
                async with self.player:
                    ready()
                    try:
                        await self._loop()
                    finally:
                        self._closing = True
                        self._ended(self.measure.interrupted(self.ports.view.roster, time.monotonic()))
                        await self.ops.close()
                        await self._flush()
                        if self._tasks:
                            await asyncio.wait(self._tasks, timeout=c.SIGNAGE_DECIDE_INTERVAL_S * 8)
        finally:
            self.state = None
            for step in undo:
                step()
            for unroute in self._routes:
                unroute()
            self.ops.unroute()

    def health(self) -> dict[str, int]:
        return {
            "player_restarts": self.player.restarts,
            "player_frozen_restarts": self.player.frozen_restarts,
            "signage_impressions": self.impressions,
            "offers_redeemed": self.measure.redeemed,
            "redeem_codes_not_theirs": self.measure.codes_not_theirs,
            "redeem_codes_unknown": self.measure.codes_unknown,
            "signage_purge_failures": self.purge_failures,
            **self.ops.counters,
        }

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

    def _wake_up(self) -> None:
        self._wake.set()

    def _on_event(self, event: Event) -> None:
        self._latest_event = max(self._latest_event, event.time)
        kind = event.type
        if kind.startswith("edge.presence.") and event.data.get("zone") == self.place.zone:
            self._wake.set()
        elif kind == ev.SHELF_INTERACTION and event.token is not None and event.data.get("sku"):
            sku = str(event.data["sku"])
            self.interests.setdefault(event.token, {})[sku] = event.time
            if event.data.get("action") == "pickup":
                self._redeemed(self.measure.pickup(event.token, sku, event.time), event.token, event.time)
        elif kind == ev.CONSENT_WITHDRAWN:
            token = str(event.data.get("token"))
            self.interests.pop(token, None)
            self.decider.forget(token)
            self.measure.forget(token)
            self._outgoing[:] = [e for e in self._outgoing if e.token != token]
            if self.state is not None:
                task = asyncio.get_running_loop().create_task(self.state.forget(token))
                self._tasks.add(task)
                task.add_done_callback(self._purged)
            self._wake.set()

    def _purged(self, task: asyncio.Task[None]) -> None:
        """A withdrawn shopper's screen rows are gone, or the failure is said and counted (never
        left as a task error nobody reads: the rows would stay without a word)."""
        self._tasks.discard(task)
        if task.cancelled():
            return
        err = task.exception()
        if err is not None:
            self.purge_failures += 1
            log.error("purging a withdrawn shopper's screen rows failed: %s", where(err))

    def _on_checkin_code(self, token: str, code: str, at: float) -> None:
        """A counted app check-in carrying a redemption code (edge.checkin.intake, in the core's writer)."""
        self._redeemed(self.measure.checkin_code(token, code, at), token, at)

    def _redeemed(self, data: dict[str, object] | None, token: str, at: float) -> None:
        if data is not None:
            event = self.ports.view.factory.make(OFFER_REDEEMED, at, self.place.screen, data, token=token)
            self._outgoing.append(event)
            self._wake.set()

    # --- the loop --------------------------------------------------------------------------

    def now(self) -> float:
        return self.ports.clock.now()

    async def _loop(self) -> None:
        while not self._closing:
            await wait_event(self._wake, c.SIGNAGE_DECIDE_INTERVAL_S)
            self._wake.clear()
            if self.state is not None:
                await self.ops.settle(self.state)
            if self._player_started:
                self.step()
            await self._flush()

    def decision_now(self, occupants: Iterable[Occupant]) -> float:
        """The time a decision is taken at (:func:`decision_time`): the source's clock, or the time the
        core has already reached if later (a replay hands the core its items up to ``PACE_S x speed``
        early), by at most ``MAX_SHIFT_REAL_S x speed``; never before the previous decision. The whole
        decision reads it (caps and their record, holdout, schedules, dwell, shelf interest, the play's
        times and id, an override's remaining time), so a play is not decided before the entry (or an
        override before the message) that caused it."""
        ahead = MAX_SHIFT_REAL_S * self.measure.speed()
        latest = max(self._latest_event, self.ops.received)  # an override's receipt is no event
        at = decision_time(self.now(), (o.since for o in occupants), latest, max_ahead=ahead)
        self._decided = max(self._decided, at)
        return self._decided

    def step(self) -> Play | None:
        """Decide now (:meth:`decision_now`); a new play goes to the player at once. An active override wins."""
        view = self.ports.view
        occupants = view.occupants(self.place.zone)
        now = self.decision_now(occupants)
        roster = view.roster
        audience = sum(1 for o in occupants if roster is not None and roster.get(o.token) is not None)
        override = self.ops.active(now)
        if override is not None:
            if self._override_on is None or self._override_on[0] != self.ops.version:
                self._number += 1
                card = self.ops.card(override, self._number, self.language)
                entry = OnScreen(
                    kind="override",
                    content=override.id,
                    play_id=play_id(self.place_store, self.place.screen, now, self._number),
                    creative=looks(card),
                    planned_s=max(self.ops.ends_at(override) - now, 0.0),
                    audience=audience,
                    reasons=(f"priority:{override.priority}",),
                    decided_at=now,
                )
                self.measure.sent(self._number, entry)
                self._override_on = (self.ops.version, self._number)
                self.player.show(card)
                log.info("%s: override %s on screen", self.place.screen, override.id)
            return None
        if self._override_on is not None:
            self._override_on = None
            self.decider.current = None  # the screen goes back to its plays at once
            log.info("%s: override ended", self.place.screen)
        inputs = Inputs(now, roster, occupants, self.catalogue, self.rules, self.interests)
        play = self.decider.step(inputs)
        if play is not None:
            self._number += 1
            number = self._number
            self._plays[number] = play
            self.decisions["holdout" if play.holdout else "personal" if play.personal else "generic"] += 1
            pid = play_id(self.place_store, self.place.screen, play.at, number)
            offer = play.offer
            code = redemption_code(offer.code, pid) if play.kind == "offer" and offer and offer.code else None
            card = card_for(play, self.catalogue, number, code=code)
            entry = OnScreen(
                kind=play.kind,
                content=play.content,
                play_id=pid,
                creative=looks(card),
                planned_s=play.until - play.at,
                audience=audience,
                reasons=play.reasons,
                campaign=play.campaign,
                token=play.token,
                holdout=play.holdout,
                withheld=play.withheld,
                code=code,
                skus=offer.skus if offer is not None and play.kind == "offer" else frozenset(),
                decided_at=now,
            )
            self.measure.sent(number, entry)
            self.player.show(card)
            log.info("%s: %s %s (%s)", self.place.screen, play.kind, play.content, ", ".join(play.reasons))
            log.debug("%s: play %d is for %s", self.place.screen, number, play.token)
        return play

    @property
    def place_store(self) -> str:
        return self.measure.place.store

    async def _flush(self) -> None:
        if self._outgoing:
            batch = self._outgoing[:]
            self._outgoing.clear()
            await self.ports.publish(batch)
        if self.state is not None:
            await self.state.save(self.decider.ledger)
            await self.state.save_codes(self.measure.take_codes, self.now())

    # --- reports from the player -----------------------------------------------------------

    def _on_report(self, report: p.Report) -> None:
        if isinstance(report, p.Started):
            entry = self.measure.started(report.play, report.mono)
            if entry is not None:
                for seen in self.on_presented:
                    seen(entry, report.mono)
            play = self._plays.get(report.play)
            if entry is None or play is None:
                return
            self.showing = play
            for listener in self.on_started:
                listener(play, report.mono)
        elif isinstance(report, p.Heartbeat):
            self.measure.heartbeat(report.play, report.mono, report.frames)
        elif isinstance(report, p.Ended):
            self._ended([self.measure.ended(report.play, report.mono, self.ports.view.roster)])
            self._plays.pop(report.play, None)
        elif isinstance(report, p.Dropped):
            self.measure.dropped(report.play)
            self._plays.pop(report.play, None)
        elif isinstance(report, p.Ready) and not self._player_started:
            self._player_started = True
            self._wake.set()  # the first decision now, not at the next interval

    def _on_player_exit(self, code: int | None) -> None:
        """The player crashed: what it was presenting ends at its last report."""
        self._ended(self.measure.interrupted(self.ports.view.roster))
        self._override_on = None  # shown again by the restarted player's last card
        self._wake.set()

    def _ended(self, impressions: Sequence[Impression | None]) -> None:
        factory = self.ports.view.factory
        for one in impressions:
            if one is None:
                continue
            event = factory.make(ev.OFFER_IMPRESSION, one.start, self.place.screen, one.data, token=one.token)
            self._outgoing.append(event)
            self.impressions += 1
        self._wake.set()
