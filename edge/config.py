"""The gateway configuration (TOML), validated into frozen values as it is decoded.

Every key is a field of the frozen types below, of :mod:`edge.config_media` (``[signage]``, ``[vision]``),
:mod:`edge.config_ios`, :mod:`edge.config_store` and :mod:`edge.floor` (docs/configuration.md lists them),
built from the shared value types of :mod:`edge.config_types`; an unknown key
in a file is an error. The types carry their own rules: bounds and patterns as msgspec ``Meta``
constraints (checked while decoding, and shown in the JSON schema), rules about one section in its
``__post_init__``, rules across sections (a screen's zone exists, ids are unique) in
:meth:`Config.__post_init__`. So a decoded config cannot be invalid, and every error names the
file, the key path and the problem (``edge.toml: zones[0].exit_rssi_dbm: must not be above …``).
Values not given take the defaults of :mod:`edge.constants`. A remote override from the CDP may
carry keys a newer CDP knows and this version does not: those are logged once and ignored
(:mod:`edge.unknown`).
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import msgspec
from msgspec import Meta

from edge import constants as c
from edge import constants_model as cm
from edge.config_errors import MAC_PATTERN, InvalidConfigError, first_non_finite, where_of
from edge.config_ios import AdvertiseConfig, CheckinConfig
from edge.config_media import SignageConfig as SignageConfig  # re-exported: signage imports it from here
from edge.config_media import VisionConfig
from edge.config_store import StoreConfig, check_store
from edge.config_types import SKU as SKU  # re-exported: edge.shelf.messages checks readings' SKUs with it
from edge.config_types import (
    AtLeastOne,
    Delay,
    Id,
    LayoutM,
    OffsetDb,
    Positive,
    Rect,
    Seconds,
    Sku,
    ThresholdDbm,
    unique,
)
from edge.errors import ConfigError
from edge.floor import LAYOUT_MAX_M, FloorConfig, off_floor
from edge.unknown import strip_unknown

_S = TypeVar("_S", bound=msgspec.Struct)


class GatewayConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    store: Id = "store-1"
    gateway: Id = "gw-1"
    state_dir: str | None = None
    """SQLite outbox and last-good state; default: systemd's StateDirectory or ~/.local/state/edge.
    Relative paths (here, in ``ble.trace``, ``roster_file``, the ``mqtt`` files and the ``signage``
    folders) are relative to the config file."""
    roster_file: str | None = None
    """A roster snapshot (JSON) to start with until the CDP sends one."""
    language: str = "en"
    """The store's language (ISO 639-1, lower case): the screen's own words, and all it shows before
    offers arrive; one of edge.phrases.LANGUAGES."""
    timezone: str = "UTC"
    """The store's IANA time zone (``Europe/Berlin``)."""

    def __post_init__(self) -> None:
        from edge.phrases import LANGUAGE_CODE, LANGUAGES
        from edge.timezone import time_zone

        if not LANGUAGE_CODE.match(self.language):
            raise InvalidConfigError(
                "language", f'{self.language!r} is not a two-letter language code (ISO 639-1, lower case: "de")'
            )
        if self.language not in LANGUAGES:
            have = ", ".join(sorted(LANGUAGES))
            raise InvalidConfigError("language", f"no built-in phrases for {self.language!r} (have {have})")
        try:
            time_zone(self.timezone)
        except ValueError as err:
            raise InvalidConfigError("timezone", str(err)) from None


class BleConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    backend: Literal["bleak", "replay"] = "bleak"
    trace: str | None = None
    """The trace to play with the replay backend."""
    speed: Positive = 1.0
    """Replay speed: 1.0 is real time, 4.0 four times faster."""
    start_at: Annotated[float, Meta(gt=0)] | None = None
    """The wall-clock moment (Unix seconds) the replay's trace starts playing; absent: when the
    process opens it. Give every gateway of a simulated store the same: they play the store's time
    together, as real boxes share the wall clock, however far apart their processes came up. A
    process up after that moment skips what had played (``source_skipped``), as a box misses what
    happened before it booted. ``edge replay`` (as fast as possible) ignores it."""
    adapter: str | None = None
    """The BlueZ adapter (``hci0``); default: BlueZ's default adapter."""
    scanner: str | None = None
    """The scanner id adverts from this adapter carry; default: the gateway id."""
    watchdog_s: float = c.SCANNER_WATCHDOG_S
    start_timeout_s: float = c.SCANNER_START_TIMEOUT_S


class MqttConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    url: str | None = None
    """``mqtt://host[:1883]`` or ``mqtts://host[:8883]`` (TLS); absent: events stay in the outbox."""
    protocol: Literal["5", "3.1.1"] = "5"
    client_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    """Default ``edge-{store}-{gateway}``; stable, so the persistent session is found again."""
    username: str | None = None
    password: str | None = None
    password_file: str | None = None
    """A file holding the password (systemd credentials); relative to the config file."""
    ca_file: str | None = None
    """CA bundle for ``mqtts://``; default: the system's."""
    cert_file: str | None = None
    """Client certificate (PEM) for mutual TLS, with ``key_file``."""
    key_file: str | None = None
    keepalive_s: AtLeastOne = c.MQTT_KEEPALIVE_S
    session_expiry_s: Annotated[int, Meta(ge=0)] = c.MQTT_SESSION_EXPIRY_S
    inflight_max: AtLeastOne = c.MQTT_INFLIGHT_MAX
    reconnect_initial_s: Seconds = c.MQTT_RECONNECT_INITIAL_S
    reconnect_max_s: Seconds = c.MQTT_RECONNECT_MAX_S
    outbox_max_rows: AtLeastOne = c.OUTBOX_MAX_ROWS
    outbox_max_bytes: AtLeastOne = c.OUTBOX_MAX_BYTES

    def __post_init__(self) -> None:
        if self.url is not None:
            from urllib.parse import urlsplit

            try:
                parts = urlsplit(self.url)
                parts.port  # noqa: B018 - raises on a bad port
            except ValueError as err:
                raise InvalidConfigError("url", f"{self.url!r} is not a URL: {err}") from None
            if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
                raise InvalidConfigError("url", f"{self.url!r}: use mqtt://host[:port] or mqtts://host[:port]")
        if (self.cert_file is None) != (self.key_file is None):
            raise InvalidConfigError("cert_file", "mutual TLS needs both cert_file and key_file")
        if self.password is not None and self.password_file is not None:
            raise InvalidConfigError("password", "give password or password_file, not both")
        if not 0 < self.reconnect_initial_s <= self.reconnect_max_s:
            raise InvalidConfigError("reconnect_initial_s", "need 0 < reconnect_initial_s <= reconnect_max_s")


class PresenceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    measured_power_1m_dbm: float = c.MEASURED_POWER_1M_DBM
    path_loss_exponent: Positive = c.PATH_LOSS_EXPONENT
    rssi_window_s: Seconds = c.RSSI_WINDOW_S
    tick_interval_s: Seconds = c.TICK_INTERVAL_S
    health_interval_s: Seconds = c.HEALTH_INTERVAL_S
    engine: Literal["auto", "threshold", "model", "grid"] = "auto"
    """``threshold``: the RSSI state machine of :mod:`edge.presence`; ``model``: the model-based zone estimator;
    ``grid``: the grid filter over the floor plan (:mod:`edge.presence_grid`; needs ``[floor]``); ``auto`` (the
    default since session 38): ``grid`` where the config draws the store, ``threshold`` elsewhere
    (:func:`chosen_engine`)."""
    self_calibration: Literal["report", "apply"] = "report"
    """The model engine's per-scanner offsets learned from rostered traffic: ``report`` learns them (for an
    operator to set ``offset_db`` from), ``apply`` also corrects readings by them. Why ``report`` is the
    default: what a scanner hears from shoppers in its zone depends on where they stand and how the zone is
    used as much as on its calibration (two scanners 4 m apart in one zone, a zone people walk through), so on
    stores with no calibration error at all it learned offsets of 2-6 dB and, applied, made exits late and
    brought ghost visits (sweep tuning cells, 3 seeds: sum of capped badness 118 applied, 100 not applied; not
    applied was as good or better even in the cells with a scanner 4 dB off). ``offset_db`` (``edge
    calibrate``) remains the correction."""
    learn_offsets: bool = True
    """The ``threshold`` engine learns each scanner's offset from rostered traffic (with ``[[scanners]]`` placed) and
    applies it once sure, on top of ``offset_db`` (edge.presence_offsets); false: only ``offset_db``."""


class ZoneConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: Id
    scanners: tuple[str, ...]
    tags: tuple[str, ...] = ()
    type: Literal["entrance", "checkout", "in-aisle", "perimeter", "exterior"] = "in-aisle"
    """Where the zone is in the store (the in-store measurement standard's venue types): impressions carry it."""
    enter_rssi_dbm: ThresholdDbm | None = None
    """The zone's enter threshold. Unset, the threshold engine derives it (``edge.presence_reach.enter_bar``):
    ENTER_RSSI_DBM for a zone the size of the default disc or larger, higher for a smaller one."""
    exit_rssi_dbm: ThresholdDbm | None = None
    """The zone's exit threshold. Unset, the threshold engine derives it (``edge.presence_reach.exit_bar``):
    EXIT_RSSI_DBM, lowered for a zone that reaches further from its scanner than the default disc (a higher
    scanner, a larger floor) while ``enter_rssi_dbm`` is unset too. A value written is the operator's, always."""
    exit_timeout_s: Seconds = c.EXIT_TIMEOUT_S
    handoff_margin_db: Annotated[float, Meta(ge=0)] = c.HANDOFF_MARGIN_DB
    handoff_samples: AtLeastOne = c.HANDOFF_SAMPLES
    dwell_interval_s: Seconds = c.DWELL_INTERVAL_S
    area_m: Rect | None = None
    """Optional floor area of the zone, ``[x0, y0, x1, y1]`` in metres on the ``[[scanners]]`` plan. Without
    it the zone is the disc of ``radius_m`` around each of its positioned scanners."""
    radius_m: Annotated[float, Meta(gt=0, le=LAYOUT_MAX_M)] = cm.ZONE_RADIUS_M

    def __post_init__(self) -> None:
        if not self.scanners:
            raise InvalidConfigError("scanners", "a zone needs at least one scanner")
        enter = c.ENTER_RSSI_DBM if self.enter_rssi_dbm is None else self.enter_rssi_dbm  # a derived bar is >= it
        exit_ = c.EXIT_RSSI_DBM if self.exit_rssi_dbm is None else self.exit_rssi_dbm  # a derived one is <= it
        if exit_ > enter:
            raise InvalidConfigError(
                "exit_rssi_dbm", f"exit_rssi_dbm ({exit_}) must not be above enter_rssi_dbm ({enter})"
            )
        if self.area_m is not None:
            x0, y0, x1, y1 = self.area_m
            if not all(math.isfinite(v) for v in self.area_m) or not (x0 < x1 and y0 < y1):
                raise InvalidConfigError("area_m", "area_m must be [x0, y0, x1, y1] with x0 < x1 and y0 < y1")


class ScannerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Where a scanner (a radio whose adverts carry this id) hangs in the store: optional layout knowledge."""

    id: str
    x_m: LayoutM
    y_m: LayoutM
    height_m: LayoutM = cm.SCANNER_HEIGHT_M
    offset_db: OffsetDb = 0.0
    """Calibration: added to every RSSI this scanner reports (``edge calibrate`` or self-calibration)."""


class ScreenConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: Id
    zone: str


class ShelfConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: Id
    zone: str
    skus: tuple[Sku, ...] = ()
    """The SKUs on the shelf (its planogram); when given, a reading of another SKU is rejected."""


class MotionTagConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A RuuviTag (data format 5) on a product or shelf front: store infrastructure, not a person."""

    id: Id
    mac: Annotated[str, Meta(pattern=MAC_PATTERN)]
    """The MAC field of the tag's data format 5 payload (``AA:BB:CC:DD:EE:FF``)."""
    shelf: str
    sku: Sku
    lift_mg: Positive = c.MOTION_TAG_LIFT_MG
    rest_mg: Positive = c.MOTION_TAG_REST_MG
    settle_s: Seconds = c.MOTION_TAG_SETTLE_S
    debounce_s: Delay = c.MOTION_TAG_DEBOUNCE_S

    def __post_init__(self) -> None:
        if self.rest_mg >= self.lift_mg:
            raise InvalidConfigError("rest_mg", f"rest_mg ({self.rest_mg}) must be below lift_mg ({self.lift_mg})")


class AttributionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    margin_db: Annotated[float, Meta(ge=0)] = c.ATTRIBUTION_MARGIN_DB
    recent_max: Annotated[int, Meta(ge=0)] = c.RECENT_INTERACTIONS_MAX
    recent_max_age_s: Seconds = c.RECENT_INTERACTIONS_MAX_AGE_S


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` → (host, port); ValueError if it is neither."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{listen!r} is not host:port")
    return host.strip("[]"), int(port)


class MetricsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The Prometheus endpoint (edge.ops.metrics); off unless ``listen`` is given."""

    listen: str | None = None
    """``127.0.0.1:9464`` (a loopback address: the metrics say how busy the store is)."""

    def __post_init__(self) -> None:
        if self.listen is None:
            return
        try:
            host, _ = split_listen(self.listen)
        except ValueError as err:
            raise InvalidConfigError("listen", f"{err} (e.g. 127.0.0.1:9464)") from None
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise InvalidConfigError(
                "listen",
                f"{host!r} is not a loopback address: expose metrics on 127.0.0.1 and scrape through a local agent",
            )


Engine = Literal["threshold", "model", "grid"]
"""A presence engine the gateway can run (``[presence] engine`` less ``auto``)."""


def chosen_engine(config: Config) -> Engine:
    """The presence engine ``config`` runs: the one ``[presence] engine`` names, or for ``auto`` (the default) the
    ``grid`` where the store is **drawn** -- a floor plan (``[floor]``), every zone a rectangle on it (``area_m``) and
    heard by at least one placed scanner (``[[scanners]]``), every zone and scanner on the floor
    (:func:`edge.floor.off_floor`) -- and ``threshold`` elsewhere.

    Why the drawing decides (docs/presence.md, "The default engine follows the store's drawing (session 38)"): the
    grid estimates where a shopper stands from every scanner at once and needs the drawing to do it; the threshold
    engine reads each zone's own scanner against fixed bars and decides a move between two zones on their two levels
    alone, which holds where zones are spots with floor between them (its bars were set on such a store) and not where
    zones tile an aisle or line a walkway. On the presence sweep's 20 drawn stores (aisle tiles, the L-shape) the
    grid's capped badness is 35.2 against the threshold engine's 67.4 (better in 19, as good in 1; the oracle 35.0).
    The grid does better in the 35 spot stores too (51.8 against 78.3), but there the threshold engine enters on the
    approach, which the bundled store's 2 s entry goal asks for and the grid cannot give (docs/presence.md, "The
    grid's entry, again"): a store named only by its zones' scanners, as the bundled one is, keeps the threshold
    engine."""
    named = config.presence.engine
    if named != "auto":
        return named
    if not config.floor.known or not config.zones:
        return "threshold"
    placed = {scanner.id for scanner in config.scanners}
    drawn = all(zone.area_m is not None and placed.intersection(zone.scanners) for zone in config.zones)
    on_floor = not off_floor(  # (a zone or scanner drawn off the floor: `edge doctor` fails it; the grid would
        config.floor,  # never place a shopper there, the threshold engine reads the zone's scanner alone)
        ((zone.id, zone.area_m, zone.radius_m, zone.scanners) for zone in config.zones),
        ((scanner.id, scanner.x_m, scanner.y_m) for scanner in config.scanners),
    )
    return "grid" if drawn and on_floor else "threshold"


def engine_said(config: Config) -> str:
    """The engine ``config`` runs as an operator reads it (``edge run``'s log, ``edge doctor``): ``grid (auto: the
    store is drawn)`` when ``auto`` chose the grid, else the engine's name."""
    engine = chosen_engine(config)
    return f"{engine} (auto: the store is drawn)" if engine == "grid" and config.presence.engine == "auto" else engine


def _check_grid(config: Config) -> None:
    """The grid engine (edge.presence_grid) filters over the floor plan: it needs one, and every zone on it."""
    if not config.floor.known:
        raise InvalidConfigError(
            "presence.engine",
            '"grid" needs the store\'s floor plan: add [[floor.area]] rectangles (docs/configuration.md)',
        )
    placed = {scanner.id for scanner in config.scanners}
    for index, zone in enumerate(config.zones):
        if zone.area_m is None and not placed.intersection(zone.scanners):
            raise InvalidConfigError(
                f"zones[{index}].area_m",
                'the "grid" engine needs the zone on the floor: give area_m or place a scanner',
            )


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    gateway: GatewayConfig = msgspec.field(default_factory=GatewayConfig)
    ble: BleConfig = msgspec.field(default_factory=BleConfig)
    mqtt: MqttConfig = msgspec.field(default_factory=MqttConfig)
    presence: PresenceConfig = msgspec.field(default_factory=PresenceConfig)
    zones: tuple[ZoneConfig, ...] = ()
    scanners: tuple[ScannerConfig, ...] = ()
    floor: FloorConfig = msgspec.field(default_factory=FloorConfig)
    """The floor plan (walkable rectangles, doors; edge.floor): optional layout knowledge for the model engine."""
    screens: tuple[ScreenConfig, ...] = ()
    shelves: tuple[ShelfConfig, ...] = ()
    motion_tags: tuple[MotionTagConfig, ...] = ()
    attribution: AttributionConfig = msgspec.field(default_factory=AttributionConfig)
    vision: VisionConfig = msgspec.field(default_factory=VisionConfig)
    signage: SignageConfig = msgspec.field(default_factory=SignageConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    advertise: AdvertiseConfig | None = None
    checkin: CheckinConfig = msgspec.field(default_factory=CheckinConfig)
    store: StoreConfig = msgspec.field(default_factory=StoreConfig)

    def __post_init__(self) -> None:
        """The rules across sections: unique ids, and every reference to a zone, screen or shelf resolves."""
        for kind, items in (("zones", self.zones), ("screens", self.screens), ("shelves", self.shelves)):
            unique((item.id for item in items), f"{kind}[{{}}].id")
        unique((scanner.id for scanner in self.scanners), "scanners[{}].id", "scanner")
        zones = {zone.id for zone in self.zones}
        screens = {screen.id for screen in self.screens}
        placed: tuple[tuple[str, tuple[ScreenConfig | ShelfConfig, ...]], ...] = (
            ("screens", self.screens),
            ("shelves", self.shelves),
        )
        for kind, members in placed:
            for index, member in enumerate(members):
                if member.zone not in zones:
                    raise InvalidConfigError(f"{kind}[{index}].zone", f"no zone {member.zone!r} is configured")
        for key, screen in (("vision.screen", self.vision.screen), ("signage.screen", self.signage.screen)):
            if screen is not None and screen not in screens:
                raise InvalidConfigError(key, f"no screen {screen!r} is configured")
        skus = {shelf.id: frozenset(shelf.skus) for shelf in self.shelves}
        unique((tag.id for tag in self.motion_tags), "motion_tags[{}].id")
        macs: set[str] = set()
        for index, tag in enumerate(self.motion_tags):
            where = f"motion_tags[{index}]"
            if tag.mac.upper() in macs:
                raise InvalidConfigError(f"{where}.mac", f"another tag has the MAC {tag.mac!r}")
            macs.add(tag.mac.upper())
            if tag.shelf not in skus:
                raise InvalidConfigError(f"{where}.shelf", f"no shelf {tag.shelf!r} is configured")
            if skus[tag.shelf] and tag.sku not in skus[tag.shelf]:
                raise InvalidConfigError(
                    f"{where}.sku", f"{tag.sku!r} is not among the skus of shelf {tag.shelf!r}: add it there"
                )
        for index, region in enumerate(self.vision.regions):
            if region.shelf not in skus:
                raise InvalidConfigError(f"vision.regions[{index}].shelf", f"no shelf {region.shelf!r} is configured")
        if self.advertise is not None and self.advertise.zone is not None and self.advertise.zone not in zones:
            raise InvalidConfigError("advertise.zone", f"no zone {self.advertise.zone!r} is configured")
        check_store(  # edge.config_store
            self.store, self.gateway.gateway, self.mqtt.url is not None, client_id=self.mqtt.client_id
        )
        if chosen_engine(self) == "grid":
            _check_grid(self)

    def state_path(self) -> Path:
        """Where the outbox and last-good state live (config, then systemd, then the user's home)."""
        if self.gateway.state_dir:
            return Path(self.gateway.state_dir).expanduser()
        systemd_state = os.environ.get("STATE_DIRECTORY")
        if systemd_state:
            return Path(systemd_state.split(":")[0])
        return Path("~/.local/state/edge").expanduser()


def _decode(kind: type[_S], data: object, *, where: str) -> _S:
    """``data`` decoded as one config type; :class:`ConfigError` naming ``where`` and the key if invalid."""
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as err:
        message, key = where_of(err, data)
        raise ConfigError(message, where=f"{where}.{key}" if key else where) from None


def check_mqtt(mqtt: MqttConfig, where: str) -> None:
    """Raise :class:`ConfigError` (naming ``where``) for an unusable ``[mqtt]`` section built in code."""
    _decode(MqttConfig, msgspec.to_builtins(mqtt), where=where)


REMOTE_OVERRIDE_SECTIONS = frozenset(
    {"presence", "zones", "screens", "shelves", "motion_tags", "attribution", "signage", "vision", "metrics"}
)
"""Config sections the CDP may override (``cdp/v1/{store}/{gateway}/config``). Not ``gateway``,
``mqtt`` or ``ble``: a remote change of identity, broker or radio could cut the box off for good."""


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value  # scalars and arrays of tables (zones, screens…) are replaced whole
    return out


def apply_override(base: Config, override: object, *, source: str = "remote override") -> Config:
    """The config with a remote override merged in, validated like a file (pure: no I/O).

    Tables merge key by key; arrays (``zones``…) are replaced whole. Raises :class:`ConfigError`
    naming the key for an override that is not an object, touches a section the CDP may not
    change, or makes the config invalid; the caller keeps the last good config then."""
    if not isinstance(override, dict):
        raise ConfigError("must be a JSON object of config sections", where=source)
    sections = {field.encode_name for field in msgspec.structs.fields(Config)}
    for key in override:
        if key in sections and key not in REMOTE_OVERRIDE_SECTIONS:
            allowed = ", ".join(sorted(REMOTE_OVERRIDE_SECTIONS))
            raise ConfigError(f"section {key!r} cannot be changed remotely (allowed: {allowed})", where=source)
    known = strip_unknown("config override", Config, override)  # a newer CDP's keys: logged once, ignored
    merged = _merge(msgspec.to_builtins(base), known)
    return from_mapping(merged, source=source)


def from_mapping(data: dict[str, Any], *, source: str = "<config>", trace_given: bool = False) -> Config:
    """Decode a parsed TOML document (or a dict from a remote override) into a valid :class:`Config`.

    ``trace_given``: the trace comes from elsewhere (``edge replay TRACE``), so a replay backend
    without ``ble.trace`` is fine (the one rule that depends on how the config is used)."""
    if (key := first_non_finite(data)) is not None:
        raise ConfigError("must be a finite number (not nan or inf)", where=f"{source}: {key}")
    try:
        config = msgspec.convert(data, Config)
    except msgspec.ValidationError as err:
        message, key = where_of(err, data)
        raise ConfigError(message, where=f"{source}: {key}" if key else source) from None
    if config.ble.backend == "replay" and not config.ble.trace and not trace_given:
        raise ConfigError('the replay backend needs ble.trace = "path.jsonl"', where=f"{source}: ble.trace")
    check_store(config.store, config.gateway.gateway, config.mqtt.url is not None, source, config.mqtt.client_id)
    return config


def load(path: Path, *, trace_given: bool = False) -> Config:
    """Read and validate a TOML config file (``trace_given``: see :func:`from_mapping`)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as err:
        raise ConfigError(f"cannot read the config: {err.strerror}", where=str(path)) from None
    except UnicodeDecodeError:
        raise ConfigError("the config is not UTF-8", where=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"not valid TOML: {err}", where=str(path)) from None
    config = from_mapping(data, source=str(path), trace_given=trace_given)
    base = path.parent
    return msgspec.structs.replace(
        config,
        ble=_anchored(config.ble, ("trace",), base),
        gateway=_anchored(config.gateway, ("roster_file", "state_dir"), base),
        mqtt=_anchored(config.mqtt, ("password_file", "ca_file", "cert_file", "key_file"), base),
        signage=_anchored(config.signage, ("frames_dir", "content_dir"), base),
    )


def _anchored(section: _S, keys: tuple[str, ...], base: Path) -> _S:
    """``section`` with each relative path among ``keys`` made relative to ``base`` (the config's folder)."""
    changes: dict[str, str] = {}
    for key in keys:
        value = getattr(section, key)
        if value and not Path(value).expanduser().is_absolute():
            changes[key] = str(base / value)
    return msgspec.structs.replace(section, **changes) if changes else section
