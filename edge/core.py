"""The gateway's pure core: items in, events out, no I/O.

Resolves advertisements against the roster (dropping everyone else at once), feeds the presence
engine, turns shelf readings and downlinks into state changes and events, and runs the timers.
The async :mod:`edge.pipeline` around it does the I/O (source, outbox, sinks).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass

import msgspec

from edge import events as ev
from edge.beacons.advert import RUUVI_COMPANY_ID, Advertisement
from edge.config import Config
from edge.errors import DownlinkError, RosterError
from edge.events import Event, EventFactory
from edge.identity import Resolver
from edge.inputs import Downlink, Item, ShelfReading
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.presence_model import ZoneEstimator
from edge.roster import Roster, parse_roster
from edge.shelf.messages import ShelfReadingError, parse_shelf_message
from edge.shelf.recent import Interaction
from edge.shelf.tracker import ShelfTracker

log = logging.getLogger(__name__)

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


DownlinkHandler = Callable[[Downlink], list[Event]]


class _Withdraw(msgspec.Struct, forbid_unknown_fields=False):
    token: str


class Core:
    """See the module docstring. ``withdrawn`` holds tokens whose rows the I/O side must purge."""

    def __init__(self, config: Config, factory: EventFactory) -> None:
        self.config = config
        self.factory = factory
        self.resolver = Resolver()
        self.engine: PresenceEngine | ZoneEstimator = (
            ZoneEstimator(config.zones, config.presence, config.scanners)
            if config.presence.engine == "model"
            else PresenceEngine(config.zones, config.presence)
        )
        self.counters = Counters()
        self.withdrawn: list[str] = []
        self.shelf = ShelfTracker(config, factory)
        self._motion = self.shelf.motion
        self._shelf_prefix = f"edge/v1/{config.gateway.store}/shelf/"
        store = config.gateway.store
        self._roster_topic = f"cdp/v1/{store}/roster"
        self._withdraw_topic = f"cdp/v1/{store}/consent/withdraw"
        self._tick_s = config.presence.tick_interval_s
        self._next_tick: float | None = None
        self.downlink_handlers: dict[str, DownlinkHandler] = {}
        """Full topic → handler, for the CDP topics other parts own (offers, rules, config, check-in).
        A handler validates and applies the payload, or raises DownlinkError (counted, logged, the
        last good state stays in force); it returns the events it causes."""

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
            out.extend(self._presence(self.engine.tick(next_tick)))
            next_tick += self._tick_s
            steps += 1
        if next_tick <= now:
            out.extend(self._presence(self.engine.tick(now)))
            next_tick = now + self._tick_s
        self._next_tick = next_tick
        return out

    # --- items -----------------------------------------------------------------------------

    def handle(self, item: Item) -> list[Event]:
        if type(item) is Advertisement:
            return self.on_advert(item)
        if type(item) is ShelfReading:
            return self.on_shelf(item)
        assert type(item) is Downlink
        return self.on_downlink(item)

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
        found = self.engine.observe(
            Sighting(
                resolved.shopper.token, resolved.via, adv.scanner, adv.rssi, resolved.measured_power_1m_dbm, adv.at
            )
        )
        return self._presence(found) if found else []

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
        self.counters.downlinks += 1
        if downlink.topic.startswith(self._shelf_prefix):
            # A shelf controller's reading (MQTT or a trace downlink line): validated, then one path.
            try:
                reading = parse_shelf_message(
                    downlink.topic, downlink.payload, downlink.at, store=self.config.gateway.store
                )
            except ShelfReadingError as err:
                self.counters.shelf_rejected += 1
                self.shelf.log_rejected(err, downlink.at)
                return []
            return self.on_shelf(reading)
        try:
            if downlink.topic == self._roster_topic:
                return self.set_roster(parse_roster(downlink.payload), downlink.at)
            if downlink.topic == self._withdraw_topic:
                try:
                    message = msgspec.json.decode(downlink.payload, type=_Withdraw)
                except msgspec.DecodeError as err:
                    raise DownlinkError(f"withdrawal rejected: {err}", topic=downlink.topic) from None
                self.withdraw(message.token)
                return []
            handler = self.downlink_handlers.get(downlink.topic)
            if handler is not None:
                return handler(downlink)
        except (RosterError, DownlinkError) as err:
            self.counters.downlinks_rejected += 1
            log.error("%s: %s (the last good state stays in force)", downlink.topic, err)
            return []
        self.counters.downlinks_ignored += 1
        return []

    # --- consent ---------------------------------------------------------------------------

    def set_roster(self, roster: Roster, now: float) -> list[Event]:
        """Put a roster in force; tokens it no longer lists are withdrawn at once."""
        old = self.resolver.roster
        self.resolver.set_roster(roster)
        if old is not None:
            kept = {s.token for s in roster.shoppers}
            for shopper in old.shoppers:
                if shopper.token not in kept:
                    self.withdraw(shopper.token)
        if roster.expired(now):
            log.warning("the roster (version %d) has expired: nobody is resolved until a new one", roster.version)
        return []

    def withdraw(self, token: str) -> None:
        """Stop everything about ``token`` now; its rows are purged by the I/O side."""
        self.resolver.withdraw(token)
        self.engine.forget(token)
        self.shelf.forget(token)
        self.counters.withdrawals += 1
        self.withdrawn.append(token)

    def withdrawn_event(self, token: str, purged_rows: int, now: float) -> Event:
        data = {"token": token, "purged_rows": purged_rows}
        # token=None on the row: the acknowledgement itself is not purged by a later purge.
        event = self.factory.make(ev.CONSENT_WITHDRAWN, now, self.config.gateway.gateway, data)
        return self._count([event])[0]

    def health_event(self, now: float, extra: dict[str, int]) -> Event:
        data: dict[str, object] = dict(asdict(self.counters))
        data.update(extra)
        return self._count([self.factory.make(ev.GATEWAY_HEALTH, now, self.config.gateway.gateway, data)])[0]

    # --- helpers ---------------------------------------------------------------------------

    def _presence(self, found: list[PresenceEvent]) -> list[Event]:
        out = []
        make = self.factory.make
        for p in found:
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
