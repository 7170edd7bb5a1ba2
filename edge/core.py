"""The gateway's pure core: items in, events out, no I/O.

Resolves advertisements against the roster (dropping everyone else at once), feeds the presence
engine, turns shelf readings and downlinks into state changes and events, and runs the timers.
The async :mod:`edge.pipeline` around it does the I/O (source, outbox, sinks) and is its one
writer. Downlinks go through the core's :class:`~edge.router.Router`: the core registers its own
(the roster, consent withdrawals), other parts theirs; :meth:`Core.decide` returns what was
decided (events, tokens whose rows to purge, the payload to keep, a rejection), nothing is left
in a mailbox to poll.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from edge import constants as c
from edge import events as ev
from edge.beacons.advert import RUUVI_COMPANY_ID, Advertisement
from edge.checkin.app_presence import VIA_APP, app_event_data
from edge.checkin.intake import AppCheckins
from edge.checkin.proof import CheckinError
from edge.config import Config, chosen_engine, engine_said
from edge.events import Event, EventFactory
from edge.identity import Admit, Resolver
from edge.inputs import Downlink, Item, ShelfReading
from edge.messages import Withdraw, decode_withdraw
from edge.presence import Occupant, PresenceEngine, PresenceEvent, Sighting, Sightings
from edge.presence_model import ZoneEstimator
from edge.roster import TOMBSTONES_MAX, Roster, admit, parse_roster
from edge.router import ORDER_ROSTER, Applied, Decision, Route, Router
from edge.shelf.messages import ShelfReadingError, parse_shelf_message
from edge.shelf.recent import Interaction
from edge.shelf.tracker import ShelfTracker
from edge.topics import Topics

if TYPE_CHECKING:
    from edge.presence_grid import GridEstimator

log = logging.getLogger(__name__)

WITHDRAW_MAX_BYTES = 4096
"""A withdrawal is a token of at most 128 characters: anything near this size is not one."""

MAX_TICKS_PER_STEP = 400
"""Timer steps run for one jump of the clock; a longer gap (a paused trace, a suspended box) is
crossed in one final step at the new time, so a jump of hours costs no more than 100 s of ticks."""


@dataclass(slots=True)
class Counters:
    """What the core has seen; reported in ``edge.gateway.health``."""

    adverts_seen: int = 0
    adverts_resolved: int = 0
    adverts_dropped: int = 0
    shelf_readings: int = 0
    shelf_rejected: int = 0
    shelf_attributed: int = 0
    motion_adverts: int = 0
    downlinks: int = 0
    downlinks_rejected: int = 0
    downlinks_ignored: int = 0
    withdrawals: int = 0
    events: int = 0
    peer_sightings: int = 0
    presence_not_owned: int = 0


class Core:
    """See the module docstring."""

    def __init__(self, config: Config, factory: EventFactory) -> None:
        self.config = config
        self.factory = factory
        self.resolver = Resolver()
        self.engine: PresenceEngine | ZoneEstimator | GridEstimator
        engine = chosen_engine(config)
        if engine == "model":
            self.engine = ZoneEstimator(config.zones, config.presence, config.scanners, config.floor)
        elif engine == "grid":  # numpy only for the engine that uses it (RSS, start time)
            from edge.presence_grid import GridEstimator

            self.engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
        else:
            self.engine = PresenceEngine(config.zones, config.presence, config.scanners)
        log.info("presence engine: %s", engine_said(config))
        self.counters = Counters()
        self.shelf = ShelfTracker(config, factory)
        self._motion = self.shelf.motion
        self.topics = Topics(config.gateway.store, config.gateway.gateway)
        self._shelf_prefix = self.topics.shelf_prefix
        self._tick_s = config.presence.tick_interval_s
        self._next_tick: float | None = None
        self.withdrawals: dict[str, int] = {}
        """Consent withdrawals in force: token → the roster version it was made against. A
        withdrawal applies to any roster of that version or older (a retained roster delivered
        again may predate it) and is forgotten once a newer roster arrives."""
        self.withdrawals_changed = 0
        """Grows with every change of :attr:`withdrawals` (the pipeline persists them then)."""
        self._restoring = False
        self._unowned = frozenset(self.topics.retained_state())
        """Retained topics kept even with no part to apply them (offers with the screen off): the
        next start with that part configured restores them."""
        self.router = Router(max_bytes=c.MQTT_DOWNLINK_MAX_BYTES)
        """Every downlink topic's route: the core's own two here, other parts' through their ports."""
        self.router.register(
            Route(self.topics.roster, parse_roster, self._apply_roster, retain=True, order=ORDER_ROSTER, owner="core")
        )
        self.router.register(
            Route(
                self.topics.withdraw, decode_withdraw, self._apply_withdraw, owner="core", max_bytes=WITHDRAW_MAX_BYTES
            )
        )
        self.app = AppCheckins(config)
        """App check-ins (``cdp/v1/{store}/checkin``, presence form) and app presence (edge.checkin)."""
        self._checkin_topic = self.topics.checkin
        self.owns: Callable[[str, str], bool] | None = None
        """Several gateways (edge.peers): ``owns(token, via)`` says whether this gateway emits the
        shopper's presence; the engine keeps its state (signage reads occupants) either way."""
        self.sighted: Callable[[Sighting], None] | None = None
        """Several gateways: every resolved local sighting, for the store-local summary."""

    # --- the read-only view services get (edge.ports.CoreView) -------------------------------

    @property
    def roster(self) -> Roster | None:
        return self.resolver.roster

    def occupants(self, zone: str | None = None) -> list[Occupant]:
        """BLE's occupants and the shoppers the app alone holds present."""
        return self.engine.occupants(zone) + self.app.occupants(zone)

    def zone_of(self, token: str) -> str | None:
        zone = self.engine.zone_of(token)
        return zone if zone is not None else self.app.presence.zone_of(token)

    def radio(self) -> dict[str, float | None]:
        return self.engine.radio()

    # --- timers ----------------------------------------------------------------------------

    def advance(self, now: float) -> list[Event]:
        """Run the timers up to ``now`` (exits, dwell) and return their events."""
        next_tick = self._next_tick
        if next_tick is None:
            self._next_tick = now + self._tick_s
            return []
        if now < next_tick:
            return []
        out: list[Event] = []
        steps = 0
        while next_tick <= now and steps < MAX_TICKS_PER_STEP:
            out.extend(self._ticked(next_tick))
            next_tick += self._tick_s
            steps += 1
        if next_tick <= now:
            out.extend(self._ticked(now))
            next_tick = now + self._tick_s
        self._next_tick = next_tick
        return out

    def timers_due(self, now: float) -> bool:
        """Whether :meth:`advance` to ``now`` would run a timer step (False: the items handed over
        already ran the timers past ``now``, as a replay's, handed over early, do)."""
        next_tick = self._next_tick
        return next_tick is None or next_tick <= now

    def _ticked(self, at: float) -> list[Event]:
        """One timer step: BLE's timers (merged with app presence), then app presence's own."""
        app = self.app.presence
        found = app.merge_ble(self.engine.tick(at))
        found.extend(app.tick(at, self.resolver.roster))
        return self._presence(found) if found else []

    # --- items -----------------------------------------------------------------------------

    def handle(self, item: Item) -> list[Event]:
        if type(item) is Advertisement:
            return self.on_advert(item)
        if type(item) is ShelfReading:
            return self.on_shelf(item)
        assert type(item) is Downlink
        return self.on_downlink(item)

    def admits(self, manufacturer_data: Mapping[int, bytes], service_data: Mapping[str, bytes], at: float) -> bool:
        """Whether an advert with these payloads heard at ``at`` may be anybody's (or a configured
        motion tag's): the bleak source asks before bleak or it builds anything for the advert
        (edge.beacons.source.Feed.admit, edge.beacons.bleak_backend.BleakSource._ask_first), so the
        nine in ten adverts of phones nobody rostered cost a dict miss and are neither built, queued
        nor handled. A refused advert is counted as seen and dropped, as
        :meth:`on_advert` would; nothing of it is kept. An admitted one is resolved again when the
        writer handles it, against the roster then in force (a withdrawal in between holds)."""
        if self._motion is not None and RUUVI_COMPANY_ID in manufacturer_data:
            return True
        if self.resolver.resolve_payloads(manufacturer_data, service_data, at) is not None:
            return True
        counters = self.counters
        counters.adverts_seen += 1
        counters.adverts_dropped += 1
        return False

    def admitter(self) -> Admit:
        """:meth:`admits` as one flat function for the bleak source (edge.beacons.source.Feed.admit):
        the same answers and counts (edge.identity.Resolver.admitter: one frame per advert, two for
        an Eddystone-EID, where asking :meth:`admits` takes three or four)."""
        return self.resolver.admitter(
            self.counters, also_company=RUUVI_COMPANY_ID if self._motion is not None else None
        )

    def on_advert(self, adv: Advertisement) -> list[Event]:
        counters = self.counters
        counters.adverts_seen += 1
        motion = self._motion
        if motion is not None and RUUVI_COMPANY_ID in adv.manufacturer_data:
            readings = motion.observe(adv)  # None: not a configured tag, resolved (dropped) below
            if readings is not None:
                counters.motion_adverts += 1
                return [event for reading in readings for event in self.on_shelf(reading)]
        resolved = self.resolver.resolve(adv, adv.at)
        if resolved is None:
            counters.adverts_dropped += 1
            return []
        counters.adverts_resolved += 1
        sighting = Sighting(
            resolved.shopper.token, resolved.via, adv.scanner, adv.rssi, resolved.measured_power_1m_dbm, adv.at
        )
        if self.sighted is not None:
            self.sighted(sighting)
        found = self.engine.observe(sighting)
        return self._presence(self.app.presence.merge_ble(found)) if found else []

    def on_sightings(self, batch: Sightings) -> list[Event]:
        """Peers' sightings (edge.peers): their scanners heard these shoppers. Only tokens the roster
        in force resolves are taken (a withdrawn or unknown token is dropped here too)."""
        roster = self.resolver.roster
        if roster is None:
            return []
        observe = self.engine.observe
        found: list[PresenceEvent] = []
        for sighting in batch.items:
            if roster.get(sighting.token) is not None:
                self.counters.peer_sightings += 1
                found.extend(observe(sighting))
        return self._presence(self.app.presence.merge_ble(found)) if found else []

    def on_shelf(self, reading: ShelfReading) -> list[Event]:
        """Validate, attribute (edge.shelf.attribution) and emit ``edge.shelf.interaction``."""
        counters = self.counters
        counters.shelf_readings += 1
        shelf = self.shelf
        try:
            zone = shelf.check(reading)
        except ShelfReadingError as err:
            counters.shelf_rejected += 1
            shelf.log_rejected(err, reading.at)
            return []
        event = shelf.interaction(reading, zone, self.engine.occupants(zone), self.resolver.roster)
        if event.token is not None:
            counters.shelf_attributed += 1
        return self._count([event])

    def recent_interactions(self, token: str, now: float | None = None) -> list[Interaction]:
        """The shopper's attributed shelf interactions, oldest first, at most ``attribution.recent_max``
        and younger than ``attribution.recent_max_age_s`` at ``now`` (None: the core's last timer
        step). Empty for a withdrawn token. ``self.shelf.recent.pickups(token, now)``: SKUs held."""
        if now is None and self._next_tick is not None:
            now = self._next_tick - self._tick_s
        return self.shelf.recent.get(token, now)

    def on_downlink(self, downlink: Downlink) -> list[Event]:
        """The events of :meth:`decide` (for callers that purge nothing themselves)."""
        return self.decide(downlink).events

    def decide(self, downlink: Downlink, max_bytes: int | None = None) -> Decision:
        """One downlink (MQTT, or a trace's downlink line): a shelf controller's reading, or a CDP
        message through the router. Rejected: counted, logged, the last good state in force."""
        self.counters.downlinks += 1
        refused = self.router.check(downlink, max_bytes)  # size and depth, before any decoder
        if refused is not None:
            self.counters.downlinks_rejected += 1
            return refused
        if downlink.topic.startswith(self._shelf_prefix):
            # A shelf controller's reading (MQTT or a trace downlink line): validated, then one path.
            try:
                reading = parse_shelf_message(
                    downlink.topic, downlink.payload, downlink.at, store=self.config.gateway.store
                )
            except ShelfReadingError as err:
                self.counters.shelf_rejected += 1
                self.shelf.log_rejected(err, downlink.at)
                return Decision(downlink.topic)
            return Decision(downlink.topic, self.on_shelf(reading))
        if downlink.topic == self._checkin_topic:
            checkin = self._app_checkin(downlink)
            if checkin is not None:
                return checkin
        decision = self.router.dispatch(downlink, max_bytes, checked=True)
        if not decision.routed and downlink.topic in self._unowned:
            decision = self.router.keep_unowned(downlink, max_bytes)
        if decision.rejected is not None:
            self.counters.downlinks_rejected += 1
        elif not decision.routed:
            self.counters.downlinks_ignored += 1
        return decision

    def _app_checkin(self, downlink: Downlink) -> Decision | None:
        """A check-in's presence form (None: the camera form, for its route: edge.vision).

        Refused: counted once by reason (edge.checkin.intake) and answered as rejected (a health
        event; the broker's message is acknowledged, not redelivered). No payload value is logged."""
        try:
            obj = self.app.split(downlink.payload)
            if obj is None:
                return None
            found = self.app.accept(obj, downlink.at, self.resolver.roster)
        except CheckinError as err:
            self.counters.downlinks_rejected += 1
            return Decision(downlink.topic, rejected=err.reason.value)
        return Decision(downlink.topic, self._presence(found) if found else [])

    def restore(self, stored: dict[str, bytes], withdrawals: dict[str, int], now: float) -> list[Decision]:
        """The last good state at start, before any message: the withdrawals in force, then every
        retained route's payload in the router's fixed order (a stored roster only if it is not
        older than the one in force). Returns each restored topic's decision."""
        self.withdrawals.update(withdrawals)
        decisions = []
        self._restoring = True
        try:
            for route in self.router.retained():
                payload = stored.get(route.topic)
                if payload is not None:
                    decision = self.router.dispatch(Downlink(now, route.topic, payload))
                    if decision.rejected is not None:
                        log.error("the stored %s is unusable: %s", route.topic, decision.rejected)
                    decisions.append(decision)
        finally:
            self._restoring = False
        roster = self.resolver.roster
        if roster is not None:
            for token in self.withdrawals:
                self.resolver.withdraw(token)  # a tombstone holds until a newer roster omits the token
        return decisions

    def _apply_roster(self, roster: Roster, now: float) -> Applied:
        current = self.resolver.roster
        if self._restoring:
            if current is not None and roster.version < current.version:
                return Applied()  # the roster file in force is newer than the last one received
        elif not admit(current, roster, now):  # the version must grow (edge.roster.admit)
            return Applied(keep=False)  # the same version again: nothing changes
        listed = {s.token for s in roster.shoppers}
        # A withdrawal's tombstone stays until a roster newer than it omits the token.
        kept = {t: v for t, v in self.withdrawals.items() if t in listed or v >= roster.version}
        if kept != self.withdrawals:
            self.withdrawals = kept
            self.withdrawals_changed += 1
        if listed.intersection(kept):
            roster = Roster(
                roster.version,
                roster.issued_at,
                roster.expires_at,
                tuple(s for s in roster.shoppers if s.token not in kept),
            )
        purge = self.set_roster(roster, now)
        if self._restoring:
            log.info("roster version %d restored from the last good state", roster.version)
        return Applied(purge=tuple(purge))

    def _apply_withdraw(self, message: Withdraw, now: float) -> Applied:
        roster = self.resolver.roster
        self.withdrawals.pop(message.token, None)
        self.withdrawals[message.token] = roster.version if roster else 0
        while len(self.withdrawals) > TOMBSTONES_MAX:
            del self.withdrawals[next(iter(self.withdrawals))]  # the oldest
        self.withdrawals_changed += 1
        self.withdraw(message.token)
        return Applied(purge=(message.token,))

    # --- consent ---------------------------------------------------------------------------

    def set_roster(self, roster: Roster, now: float) -> list[str]:
        """Put a roster in force; tokens it no longer lists are withdrawn at once (returned: the
        caller purges their rows)."""
        old = self.resolver.roster
        self.resolver.set_roster(roster)
        gone: list[str] = []
        if old is not None:
            kept = {s.token for s in roster.shoppers}
            for shopper in old.shoppers:
                if shopper.token not in kept:
                    self.withdraw(shopper.token)
                    gone.append(shopper.token)
        if roster.expired(now):
            log.warning("the roster (version %d) has expired: nobody is resolved until a new one", roster.version)
        return gone

    def withdraw(self, token: str) -> None:
        """Stop everything about ``token`` now; the caller purges its rows."""
        self.resolver.withdraw(token)
        self.engine.forget(token)
        self.app.presence.forget(token)
        self.shelf.forget(token)
        self.counters.withdrawals += 1

    def withdrawn_event(self, token: str, purged_rows: int, now: float) -> Event:
        data = {"token": token, "purged_rows": purged_rows}
        # token=None on the row: the acknowledgement itself is not purged by a later purge.
        event = self.factory.make(ev.CONSENT_WITHDRAWN, now, self.config.gateway.gateway, data)
        return self._count([event])[0]

    def health_event(self, now: float, extra: dict[str, int]) -> Event:
        data: dict[str, object] = dict(asdict(self.counters))
        data.update(self.app.health())
        data.update(self.router.rejections.health())
        data.update(extra)
        return self._count([self.factory.make(ev.GATEWAY_HEALTH, now, self.config.gateway.gateway, data)])[0]

    # --- helpers ---------------------------------------------------------------------------

    def _presence(self, found: list[PresenceEvent]) -> list[Event]:
        out = []
        make = self.factory.make
        owns = self.owns
        for p in found:
            if owns is not None and not owns(p.token, p.via):
                self.counters.presence_not_owned += 1  # another gateway of the store owns it (edge.peers)
                continue
            if p.via == VIA_APP:
                kind = ev.PRESENCE_ENTERED if p.kind == "entered" else ev.PRESENCE_EXITED
                out.append(make(kind, p.at, p.zone, app_event_data(p), token=p.token))
                continue
            if p.kind == "entered":
                data: dict[str, object] = {
                    "token": p.token,
                    "zone": p.zone,
                    "via": p.via,
                    "rssi": round(p.rssi, 1),
                    "distance_m": round(p.distance_m, 2),
                }
                type_ = ev.PRESENCE_ENTERED
            else:
                data = {"token": p.token, "zone": p.zone, "dwell_s": round(p.dwell_s, 1)}
                type_ = ev.PRESENCE_DWELL if p.kind == "dwell" else ev.PRESENCE_EXITED
            if p.probability is not None:
                data["probability"] = p.probability
            out.append(make(type_, p.at, p.zone, data, token=p.token))
        return self._count(out)

    def _count(self, out: list[Event]) -> list[Event]:
        self.counters.events += len(out)
        return out
