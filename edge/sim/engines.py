"""The gateways' presence engines of a simulated store, without processes or a broker (issue 18).

Where does a hand-off's time go before any gateway speaks? Each gateway's threshold engine
(:class:`~edge.presence.PresenceEngine`) hears its own scanner at once and its peers' scanners
through their once-a-second summaries (:class:`~edge.peers.summary.Slot`, turned back into sightings
by :func:`~edge.peers.summary.to_sightings` on arrival: the slot's end plus ``delay_s``), exactly
as ``edge run`` feeds it (edge/peers/service.py), and ticks every ``tick_interval_s``. Pure and
deterministic: a family of seeds and layouts runs in seconds, where benchmarks/multi_gateway.py
needs 90 s of real time per seed.

For each hand-off (the settled ground truth of the presence sweep, :func:`edge.sim.sweep.judge.settle`:
the shopper enters zone j after another zone) :func:`handoffs` gives, in seconds after the entry:

- ``lead``: the first sample at which an engine's fast level of zone j is at its enter threshold
  and leads the old zone's by the hand-off margin (the RSSI physics, the fast window's lag and the
  peer's summary's age; before any hold);
- ``entered``: the engine's ``entered`` for zone j (its stamp, as the CDP sees it) and ``emitted``,
  when the engine produced it (a peer's sightings are stamped when heard, a second before);
- per engine: the previous zone's gateway (the owner, which hands the shopper on at once) and
  gateway j's, and ``shown``, the first of the two (what the CDP sees first, bar the broker).

:func:`oracle` plays the same adverts, every gateway's in time order, through the presence sweep's
ORACLE (:class:`edge.sim.sweep.oracle.BayesOracle`, a Bayes filter over positions told the true
radio, layout and walking speed): the limit of the row, what no engine can beat.
"""

from __future__ import annotations

import heapq
import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from edge.config import PresenceConfig, ZoneConfig, from_mapping
from edge.peers.summary import Slot, to_sightings
from edge.presence import PresenceEngine, PresenceEvent, Sighting
from edge.sim import multi
from edge.sim.multi import POWER_1M_DBM, MultiStore, Walk, gateway_id
from edge.sim.sweep.judge import TICK_S, settle
from edge.sim.sweep.layouts import PHONE_HEIGHT_M, Layout, Scanner, Zone
from edge.sim.sweep.radio import Radio

if TYPE_CHECKING:
    from edge.presence_grid import GridEstimator
    from edge.presence_model import ZoneEstimator

DELAY_S = 0.05
"""A summary's trip: the slot's end to the peer's engine (publish, broker, decode; tens of ms)."""
EXIT_TIMEOUT_S = 6.0
"""The zones' timer in the multi-gateway row (edge/sim/multi.py's config)."""
AISLE_HALF_WIDTH_M = 1.5
"""The oracle's row: the floor is the 3 m wide aisle the zones sit on (the shoppers walk its middle)."""


@dataclass
class Engine:
    """One gateway's engine and what it said: (emitted, event)."""

    gateway: str
    engine: PresenceEngine | ZoneEstimator | GridEstimator
    said: list[tuple[float, PresenceEvent]] = field(default_factory=list)
    leads: list[tuple[str, str, float]] = field(default_factory=list)
    """(token, zone, at): a sample at which zone j's fast level led the current zone's by the margin."""


def zones(store: MultiStore, **overrides: float) -> list[ZoneConfig]:
    return [
        ZoneConfig(
            id=f"z{z + 1}",
            scanners=(f"{gateway_id(z)}-s",),
            exit_timeout_s=EXIT_TIMEOUT_S,
            **overrides,  # type: ignore[arg-type]
        )
        for z in range(store.gateways)
    ]


def run(
    store: MultiStore,
    walks: list[Walk],
    seconds: float,
    *,
    delay_s: float = DELAY_S,
    summary_s: float = 1.0,
    hear_all: bool = False,
    presence: PresenceConfig | None = None,
    zone_configs: list[ZoneConfig] | None = None,
) -> dict[str, Engine]:
    """Every gateway's engine over the store (``hear_all``: ONE engine hearing every scanner at once)."""
    presence = presence or PresenceConfig()
    configs = zone_configs or zones(store)
    names = ["all"] if hear_all else [gateway_id(g) for g in range(store.gateways)]
    engines = {name: Engine(name, _engine(store, configs, presence)) for name in names}
    slots = {name: Slot(name) for name in names}
    token_of = {walk.index: walk.token for walk in walks}
    # (time, order, gateway, sighting or None: a slot's end; or a tick)
    actions: list[tuple[float, int, str, object]] = []
    for g in range(store.gateways):
        me = "all" if hear_all else gateway_id(g)
        for advert in store.adverts(walks, g, seconds):
            index = int(advert.address.replace(":", "")[-4:], 16)
            sighting = Sighting(token_of[index], "ibeacon", advert.scanner, advert.rssi, float(POWER_1M_DBM), advert.at)
            actions.append((advert.at, 1, me, sighting))
    end = store.start + seconds + 10.0
    if not hear_all:
        per_s = round(1.0 / summary_s)
        parts = range(math.floor(store.start) * per_s, math.ceil(end) * per_s)
        actions.extend(((part + 1) / per_s, 0, name, part / per_s) for part in parts for name in names)
    tick_s = presence.tick_interval_s
    ticks = range(math.ceil((end - store.start) / tick_s))
    actions.extend((store.start + i * tick_s, 2, name, None) for i in ticks for name in names)
    actions.sort(key=lambda a: (a[0], a[1], a[2]))
    pending: list[tuple[float, int, str, object]] = []  # summaries in flight
    for at, order, name, what in actions:
        while pending and pending[0][0] <= at:
            arrive, _, to, batch = pending.pop(0)
            assert isinstance(batch, list)
            for sighting in batch:
                _observe(engines[to], sighting, arrive)
        if order == 0:
            assert isinstance(what, float)
            summary = slots[name].close(math.floor(what))
            for peer in names:
                if peer != name:
                    batch = [s for e in summary.tokens for s in to_sightings(e, what, at + delay_s)]  # type: ignore[arg-type]  # a part's start
                    batch.sort(key=lambda s: s.at)
                    pending.append((at + delay_s, 0, peer, batch))
            pending.sort(key=lambda p: (p[0], p[2]))
        elif order == 1:
            assert isinstance(what, Sighting)
            slots[name].add(what)
            _observe(engines[name], what, at)
        else:
            one = engines[name]
            one.said.extend((at, event) for event in one.engine.tick(at))
    return engines


def _engine(
    store: MultiStore, configs: list[ZoneConfig], presence: PresenceConfig
) -> PresenceEngine | ZoneEstimator | GridEstimator:
    """The store's :attr:`~MultiStore.engine`, built as ``edge run``'s core builds it (edge/core.py); the
    layout-aware engines from the gateway config (:meth:`MultiStore.layout`) with the row's true layout."""
    if store.engine == "threshold":
        return PresenceEngine(configs, presence)
    from edge.presence_grid import GridEstimator  # numpy only for the engines that use it (as edge/core.py)
    from edge.presence_model import ZoneEstimator

    mapping = store.config(0)
    mapping.pop("store")  # no broker here: the peers' part is this module's
    config = from_mapping(mapping)
    if store.engine == "model":
        return ZoneEstimator(config.zones, config.presence, config.scanners, config.floor)
    return GridEstimator(config.zones, config.presence, config.scanners, config.floor)


def _observe(one: Engine, sighting: Sighting, now: float) -> None:
    engine = one.engine
    one.said.extend((now, event) for event in engine.observe(sighting))
    if not isinstance(engine, PresenceEngine):
        return  # the fast levels and margins below are the threshold engine's
    track = engine._tracks.get(sighting.token)
    if track is None:
        return
    held_zone = track.zone or track.left_zone  # the zone the shopper is in, or left last
    if held_zone is None:
        return
    for zone in engine._by_scanner.get(sighting.scanner, ()):
        if zone is held_zone:
            continue
        fast = engine._level(track, zone, sighting.at, engine._fast_s)
        held = engine._level(track, held_zone, sighting.at, engine._fast_s)
        if fast is not None and fast + track.offset >= zone.enter and (held is None or fast >= held + zone.margin):
            one.leads.append((sighting.token, zone.id, sighting.at))


@dataclass(frozen=True, slots=True)
class Handoff:
    token: str
    to: str
    at: float
    """When the shopper entered zone ``to`` (settled truth)."""
    owner_lead: float | None
    new_lead: float | None
    owner_entered: float | None
    owner_emitted: float | None
    new_entered: float | None
    new_emitted: float | None

    @property
    def shown(self) -> float | None:
        seen = [t for t in (self.owner_entered, self.new_entered) if t is not None]
        return min(seen) if seen else None


def handoffs(store: MultiStore, walks: list[Walk], seconds: float, engines: dict[str, Engine]) -> list[Handoff]:
    """Each hand-off's entries (seconds after the shopper entered the zone; None: not within 15 s)."""
    end = store.start + seconds
    out: list[Handoff] = []
    for walk in walks:
        truth, _ = settle([v for v in store.visits(walk) if v[1] < end])
        for (before, _, _), (zone, a, _) in itertools.pairwise(truth):
            owner = engines.get("all") or engines[gateway_id(int(before[1:]) - 1)]
            new = engines.get("all") or engines[gateway_id(int(zone[1:]) - 1)]
            oe, oem = _first(owner, walk.token, zone, a)
            ne, nem = _first(new, walk.token, zone, a)
            leads = _lead(owner, walk.token, zone, a), _lead(new, walk.token, zone, a)
            out.append(Handoff(walk.token, zone, a, *leads, oe, oem, ne, nem))
    return out


def _first(one: Engine, token: str, zone: str, a: float) -> tuple[float | None, float | None]:
    """The engine's first ``entered`` for ``zone`` around ``a``: (its stamp, when emitted), after ``a``."""
    for emitted, e in one.said:
        if e.token == token and e.zone == zone and e.kind == "entered" and a - 2.0 <= e.at < a + 15.0:
            return e.at - a, emitted - a
    return None, None


def _lead(one: Engine, token: str, zone: str, a: float) -> float | None:
    found = [t for tok, z, t in one.leads if tok == token and z == zone and a - 2.0 <= t < a + 15.0]
    return min(found) - a if found else None


def row_radio() -> Radio:
    """The TRUE radio of :mod:`edge.sim.multi`, as the sweep's :class:`Radio`: its exponent, noise, loss,
    hearing floor and front wall; no fades, no body shadowing, no calibration errors, no range limit
    (the row's simulator has none of them)."""
    return Radio(
        exponent=multi.PATH_LOSS_EXPONENT,
        sigma_db=multi.NOISE_DB,
        miss=multi.LOSS,
        fade_p=0.0,
        body_rate_hz=0.0,
        wall_db=multi.WALL_LOSS_DB,
        range_m=1000.0,
        sensitivity_dbm=multi.HEARING_FLOOR_DBM,
        calibration_sigma_db=0.0,
    )


def row_layout(store: MultiStore) -> Layout:
    """The row as the sweep's :class:`Layout`: zones of :data:`~edge.sim.multi.ZONE_RADIUS_M` around each
    scanner, the building from door to door, the scanners :data:`~edge.sim.multi.SCANNER_HEIGHT_M` above
    the phone (the sweep counts heights from the floor, the phone :data:`PHONE_HEIGHT_M` up)."""
    low, high = store.building()
    zones, scanners = [], []
    for g in range(store.gateways):
        scanner, x = f"{gateway_id(g)}-s", store.zone_x(g)
        zones.append(Zone(f"z{g + 1}", (scanner,), (x, 0.0), discs=((x, 0.0),), radius_m=multi.ZONE_RADIUS_M))
        scanners.append(Scanner(scanner, x, 0.0, multi.SCANNER_HEIGHT_M + PHONE_HEIGHT_M))
    return Layout(
        "multi-row",
        ((low, -AISLE_HALF_WIDTH_M, high, AISLE_HALF_WIDTH_M),),
        tuple(zones),
        tuple(scanners),
        ((low, 0.0), (high, 0.0)),
        (low - multi.OUTSIDE_M / 2, 0.0),
        (high + multi.OUTSIDE_M / 2, 0.0),
    )


def oracle(
    store: MultiStore, walks: list[Walk], seconds: float, *, enter_p: float | None = None, stay_p: float | None = None
) -> dict[str, list[PresenceEvent]]:
    """Per token, the ORACLE's presence events over every gateway's adverts in time order, ticked every
    :data:`~edge.sim.sweep.judge.TICK_S` (a reference engine: offline, no processes; needs numpy).

    Each scanner of the row hears the card's adverts at its own moments (the simulator draws each
    gateway's timing and losses apart), so a scanner's silence at another's advert says nothing: the
    filter is given no evidence of misses (as ``presence_blind_oracle.py``'s ``DeafToMisses``). It waits
    out a silence of :func:`~edge.sim.sweep.oracle.silence_s` of the card's interval (1.9 s: three
    scanners each losing 10 %, six adverts all lost is a 1e-18 chance) before it ends a track.
    ``enter_p`` / ``stay_p``: its decision's hysteresis (default the sweep's, 0.75 / 0.25)."""
    from edge.sim.sweep.oracle import ENTER_P, STAY_P, BayesOracle, silence_s

    class Deaf(BayesOracle):
        def _close(self, token: str) -> None:
            self._advert.pop(token, None)

    engine = Deaf(
        row_layout(store),
        row_radio(),
        speed_m_s=multi.WALK_M_S,
        silence_s=silence_s([multi.ADVERT_INTERVAL_S], 0.0),
        tick_s=TICK_S,
        enter_p=ENTER_P if enter_p is None else enter_p,
        stay_p=STAY_P if stay_p is None else stay_p,
    )
    token_of = {walk.index: walk.token for walk in walks}
    adverts = heapq.merge(*(store.adverts(walks, g, seconds) for g in range(store.gateways)), key=lambda a: a.at)
    out: dict[str, list[PresenceEvent]] = {}
    end = store.start + seconds + 10.0
    tick = store.start
    for advert in [*adverts, None]:
        at = end if advert is None else advert.at
        while tick <= at:
            for event in engine.tick(tick):
                out.setdefault(event.token, []).append(event)
            tick += TICK_S
        if advert is not None:
            index = int(advert.address.replace(":", "")[-4:], 16)
            sighting = Sighting(token_of[index], "ibeacon", advert.scanner, advert.rssi, float(POWER_1M_DBM), advert.at)
            engine.observe(sighting)
    return out
