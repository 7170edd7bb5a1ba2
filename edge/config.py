"""The gateway configuration (TOML), validated into frozen values.

Every key is a field of the frozen types below (the README's Configuration section lists them); an
unknown key in a file is an error, and every error names the file, the key and the problem. Values
not given take the defaults of :mod:`edge.constants`. A remote override from the CDP may carry keys
a newer CDP knows and this version does not: those are logged once and ignored (:mod:`edge.unknown`).
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, TypeVar

import msgspec

from edge import constants as c
from edge.config_ios import AdvertiseConfig, CheckinConfig, check_ios
from edge.errors import ConfigError
from edge.unknown import strip_unknown

_S = TypeVar("_S", bound=msgspec.Struct)


class GatewayConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    store: str = "store-1"
    gateway: str = "gw-1"
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


class BleConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    backend: Literal["bleak", "replay"] = "bleak"
    trace: str | None = None
    """The trace to play with the replay backend."""
    speed: float = 1.0
    """Replay speed: 1.0 is real time, 4.0 four times faster."""
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
    client_id: str | None = None
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
    keepalive_s: int = c.MQTT_KEEPALIVE_S
    session_expiry_s: int = c.MQTT_SESSION_EXPIRY_S
    inflight_max: int = c.MQTT_INFLIGHT_MAX
    reconnect_initial_s: float = c.MQTT_RECONNECT_INITIAL_S
    reconnect_max_s: float = c.MQTT_RECONNECT_MAX_S
    outbox_max_rows: int = c.OUTBOX_MAX_ROWS
    outbox_max_bytes: int = c.OUTBOX_MAX_BYTES


class PresenceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    measured_power_1m_dbm: float = c.MEASURED_POWER_1M_DBM
    path_loss_exponent: float = c.PATH_LOSS_EXPONENT
    rssi_window_s: float = c.RSSI_WINDOW_S
    tick_interval_s: float = c.TICK_INTERVAL_S
    health_interval_s: float = c.HEALTH_INTERVAL_S
    engine: Literal["threshold", "model"] = "threshold"
    """``threshold``: the RSSI state machine of :mod:`edge.presence`; ``model``: the model-based zone estimator."""


class ZoneConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    scanners: tuple[str, ...]
    tags: tuple[str, ...] = ()
    type: Literal["entrance", "checkout", "in-aisle", "perimeter", "exterior"] = "in-aisle"
    """Where the zone is in the store (the in-store measurement standard's venue types): impressions carry it."""
    enter_rssi_dbm: float = c.ENTER_RSSI_DBM
    exit_rssi_dbm: float = c.EXIT_RSSI_DBM
    exit_timeout_s: float = c.EXIT_TIMEOUT_S
    handoff_margin_db: float = c.HANDOFF_MARGIN_DB
    handoff_samples: int = c.HANDOFF_SAMPLES
    dwell_interval_s: float = c.DWELL_INTERVAL_S
    area_m: tuple[float, float, float, float] | None = None
    """Optional floor area of the zone, ``[x0, y0, x1, y1]`` in metres on the ``[[scanners]]`` plan. Without
    it the zone is the disc of ``radius_m`` around each of its positioned scanners."""
    radius_m: float = c.ZONE_RADIUS_M


class ScannerConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Where a scanner (a radio whose adverts carry this id) hangs in the store: optional layout knowledge."""

    id: str
    x_m: float
    y_m: float
    height_m: float = c.SCANNER_HEIGHT_M
    offset_db: float = 0.0
    """Calibration: added to every RSSI this scanner reports (``edge calibrate`` or self-calibration)."""


class ScreenConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    zone: str


class ShelfConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    zone: str
    skus: tuple[str, ...] = ()
    """The SKUs on the shelf (its planogram); when given, a reading of another SKU is rejected."""


class MotionTagConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A RuuviTag (data format 5) on a product or shelf front: store infrastructure, not a person."""

    id: str
    mac: str
    """The MAC field of the tag's data format 5 payload (``AA:BB:CC:DD:EE:FF``)."""
    shelf: str
    sku: str
    lift_mg: float = c.MOTION_TAG_LIFT_MG
    rest_mg: float = c.MOTION_TAG_REST_MG
    settle_s: float = c.MOTION_TAG_SETTLE_S
    debounce_s: float = c.MOTION_TAG_DEBOUNCE_S


class AttributionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    margin_db: float = c.ATTRIBUTION_MARGIN_DB
    recent_max: int = c.RECENT_INTERACTIONS_MAX
    recent_max_age_s: float = c.RECENT_INTERACTIONS_MAX_AGE_S


class VisionRegionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A shelf region in the shelf camera's view: motion there is a ``touch`` of ``sku`` (no identity)."""

    id: str
    shelf: str
    sku: str
    rect: tuple[float, float, float, float]
    """x, y, width, height as fractions of the frame (0..1)."""
    action: Literal["touch", "pickup"] = "touch"
    motion_fraction: float = c.SHELF_MOTION_FRACTION
    debounce_s: float = c.SHELF_MOTION_DEBOUNCE_S


class VisionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = False
    source: str = "/dev/video0"
    screen: str | None = None
    roi: tuple[float, float, float, float] = (0.0, 0.0, 1.0, 1.0)
    """The part of the frame (x, y, width, height as fractions) where a checking-in shopper stands."""
    window_s: float = c.VISION_WINDOW_S
    threshold: float = c.FACE_MATCH_COSINE_MIN
    fps: float = c.VISION_FPS
    shelf_source: str | None = None
    """The camera watching the shelf regions (never used for faces); none: no shelf regions run."""
    regions: tuple[VisionRegionConfig, ...] = ()


class SignageConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The screen this gateway drives (edge.signage); the merchandising rules come from the CDP."""

    enabled: bool = True
    screen: str | None = None
    """The ``[[screens]]`` id shown on this box's display; default: the first screen."""
    backend: Literal["window", "headless"] = "window"
    fullscreen: bool = True
    width: int = 1920
    height: int = 1080
    frames_dir: str | None = None
    """Headless: where PNG frames go (every ``frame_every_s``, 0: only on request)."""
    frame_every_s: float = 0.0
    content_dir: str | None = None
    """Local content cache (product images, playlist art); default: ``{state_dir}/content``."""
    play_s: float = c.SIGNAGE_PLAY_S
    min_display_s: float = c.SIGNAGE_MIN_DISPLAY_S
    sticky_margin_m: float = c.SIGNAGE_STICKY_MARGIN_M
    crossfade_s: float = c.SIGNAGE_CROSSFADE_S
    fps: int = c.SIGNAGE_FPS


class MetricsConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The Prometheus endpoint (edge.ops.metrics); off unless ``listen`` is given."""

    listen: str | None = None
    """``127.0.0.1:9464`` (a loopback address: the metrics say how busy the store is)."""


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    gateway: GatewayConfig = msgspec.field(default_factory=GatewayConfig)
    ble: BleConfig = msgspec.field(default_factory=BleConfig)
    mqtt: MqttConfig = msgspec.field(default_factory=MqttConfig)
    presence: PresenceConfig = msgspec.field(default_factory=PresenceConfig)
    zones: tuple[ZoneConfig, ...] = ()
    scanners: tuple[ScannerConfig, ...] = ()
    screens: tuple[ScreenConfig, ...] = ()
    shelves: tuple[ShelfConfig, ...] = ()
    motion_tags: tuple[MotionTagConfig, ...] = ()
    attribution: AttributionConfig = msgspec.field(default_factory=AttributionConfig)
    vision: VisionConfig = msgspec.field(default_factory=VisionConfig)
    signage: SignageConfig = msgspec.field(default_factory=SignageConfig)
    metrics: MetricsConfig = msgspec.field(default_factory=MetricsConfig)
    advertise: AdvertiseConfig | None = None
    checkin: CheckinConfig = msgspec.field(default_factory=CheckinConfig)

    def state_path(self) -> Path:
        """Where the outbox and last-good state live (config, then systemd, then the user's home)."""
        if self.gateway.state_dir:
            return Path(self.gateway.state_dir).expanduser()
        systemd_state = os.environ.get("STATE_DIRECTORY")
        if systemd_state:
            return Path(systemd_state.split(":")[0])
        return Path("~/.local/state/edge").expanduser()


_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""Store, gateway, zone, screen and shelf ids: they become MQTT topic levels, so no / + # or spaces."""

SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""A SKU (GTIN, PLU or the retailer's own article number): letters, digits, . _ -; at most 64."""

LAYOUT_MAX_M = 10_000.0
"""Bound on layout coordinates and offsets: a store is smaller than 10 km; larger values are typos."""

_MAC = re.compile(r"^[0-9A-F]{2}(:[0-9A-F]{2}){5}$")


def _where_of(err: msgspec.ValidationError) -> tuple[str, str]:
    text = str(err)
    match = re.search(r" - at `\$(.*)`$", text)
    if not match:
        return text, ""
    key = match.group(1).lstrip(".")
    return text[: match.start()], key


def _check(config: Config, source: str, *, trace_given: bool = False) -> None:
    ids = {
        "gateway.store": config.gateway.store,
        "gateway.gateway": config.gateway.gateway,
    }
    groups: tuple[tuple[str, Sequence[ZoneConfig | ScreenConfig | ShelfConfig]], ...] = (
        ("zones", config.zones),
        ("screens", config.screens),
        ("shelves", config.shelves),
    )
    for kind, items in groups:
        seen: set[str] = set()
        for index, item in enumerate(items):
            ids[f"{kind}[{index}].id"] = item.id
            if item.id in seen:
                raise ConfigError(f"duplicate id {item.id!r}", where=f"{source}: {kind}[{index}].id")
            seen.add(item.id)
    for key, value in ids.items():
        if not _ID.match(value):
            raise ConfigError(
                f"{value!r} is not a valid id (letters, digits, . _ -; no spaces, / + #)", where=f"{source}: {key}"
            )
    zone_ids = {zone.id for zone in config.zones}
    _check_layout(config, source)
    for index, zone in enumerate(config.zones):
        where = f"{source}: zones[{index}]"
        if not zone.scanners:
            raise ConfigError("a zone needs at least one scanner", where=f"{where}.scanners")
        if zone.exit_rssi_dbm > zone.enter_rssi_dbm:
            raise ConfigError(
                f"exit_rssi_dbm ({zone.exit_rssi_dbm}) must not be above enter_rssi_dbm ({zone.enter_rssi_dbm})",
                where=f"{where}.exit_rssi_dbm",
            )
        for key in ("exit_timeout_s", "dwell_interval_s"):
            if getattr(zone, key) <= 0:
                raise ConfigError("must be > 0 seconds", where=f"{where}.{key}")
        if zone.handoff_samples < 1:
            raise ConfigError("must be >= 1", where=f"{where}.handoff_samples")
        if zone.handoff_margin_db < 0:
            raise ConfigError("must be >= 0 dB", where=f"{where}.handoff_margin_db")
    placed: tuple[tuple[str, Sequence[ScreenConfig | ShelfConfig]], ...] = (
        ("screens", config.screens),
        ("shelves", config.shelves),
    )
    for kind, items2 in placed:
        for index, item in enumerate(items2):
            if item.zone not in zone_ids:
                raise ConfigError(f"no zone {item.zone!r} is configured", where=f"{source}: {kind}[{index}].zone")
    if config.ble.speed <= 0:
        raise ConfigError("must be > 0", where=f"{source}: ble.speed")
    if config.ble.backend == "replay" and not config.ble.trace and not trace_given:
        raise ConfigError('the replay backend needs ble.trace = "path.jsonl"', where=f"{source}: ble.trace")
    if config.presence.path_loss_exponent <= 0:
        raise ConfigError("must be > 0", where=f"{source}: presence.path_loss_exponent")
    for key in ("rssi_window_s", "tick_interval_s", "health_interval_s"):
        if getattr(config.presence, key) <= 0:
            raise ConfigError("must be > 0 seconds", where=f"{source}: presence.{key}")
    if config.vision.screen is not None and config.vision.screen not in {s.id for s in config.screens}:
        raise ConfigError(f"no screen {config.vision.screen!r} is configured", where=f"{source}: vision.screen")
    _check_locale(config.gateway, f"{source}: gateway")
    _check_signage(config, f"{source}: signage")
    check_mqtt(config.mqtt, f"{source}: mqtt")
    _check_metrics(config.metrics, f"{source}: metrics")
    _check_shelves(config, source)
    _check_vision(config, source)
    check_ios(config.advertise, config.checkin, zone_ids, source)


def _check_layout(config: Config, source: str) -> None:
    """``[[scanners]]`` positions and zone areas: finite numbers, unique ids, areas with x0 < x1 and y0 < y1."""
    seen: set[str] = set()
    for index, scanner in enumerate(config.scanners):
        where = f"{source}: scanners[{index}]"
        if scanner.id in seen:
            raise ConfigError(f"duplicate scanner {scanner.id!r}", where=f"{where}.id")
        seen.add(scanner.id)
        for key in ("x_m", "y_m", "height_m", "offset_db"):
            value = getattr(scanner, key)
            if not math.isfinite(value) or abs(value) > LAYOUT_MAX_M:
                raise ConfigError(f"{value!r} is not a finite number within ±{LAYOUT_MAX_M:g}", where=f"{where}.{key}")
    for index, zone in enumerate(config.zones):
        where = f"{source}: zones[{index}]"
        if not 0 < zone.radius_m <= LAYOUT_MAX_M:
            raise ConfigError(
                f"radius_m ({zone.radius_m}) must be > 0 and <= {LAYOUT_MAX_M:g}", where=f"{where}.radius_m"
            )
        if zone.area_m is not None:
            x0, y0, x1, y1 = zone.area_m
            if not all(math.isfinite(v) for v in zone.area_m) or not (x0 < x1 and y0 < y1):
                raise ConfigError("area_m must be [x0, y0, x1, y1] with x0 < x1 and y0 < y1", where=f"{where}.area_m")


def check_mqtt(mqtt: MqttConfig, where: str) -> None:
    """Raise :class:`ConfigError` (naming ``where``) for an unusable ``[mqtt]`` section."""
    if mqtt.url is not None:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(mqtt.url)
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError as err:
            raise ConfigError(f"{mqtt.url!r} is not a URL: {err}", where=f"{where}.url") from None
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ConfigError(f"{mqtt.url!r}: use mqtt://host[:port] or mqtts://host[:port]", where=f"{where}.url")
    if (mqtt.cert_file is None) != (mqtt.key_file is None):
        raise ConfigError("mutual TLS needs both cert_file and key_file", where=f"{where}.cert_file")
    if mqtt.password is not None and mqtt.password_file is not None:
        raise ConfigError("give password or password_file, not both", where=f"{where}.password")
    if mqtt.client_id is not None and not 1 <= len(mqtt.client_id) <= 64:
        raise ConfigError("must be 1..64 characters", where=f"{where}.client_id")
    for key in ("keepalive_s", "inflight_max", "outbox_max_rows", "outbox_max_bytes"):
        if getattr(mqtt, key) < 1:
            raise ConfigError("must be >= 1", where=f"{where}.{key}")
    if mqtt.session_expiry_s < 0:
        raise ConfigError("must be >= 0 seconds", where=f"{where}.session_expiry_s")
    if not 0 < mqtt.reconnect_initial_s <= mqtt.reconnect_max_s:
        raise ConfigError("need 0 < reconnect_initial_s <= reconnect_max_s", where=f"{where}.reconnect_initial_s")


def _check_rect(rect: tuple[float, float, float, float], where: str) -> None:
    x, y, w, h = rect
    if not (0.0 <= x < 1.0 and 0.0 <= y < 1.0 and w > 0.0 and h > 0.0 and x + w <= 1.0 and y + h <= 1.0):
        raise ConfigError("must be [x, y, width, height] fractions of the frame, inside 0..1", where=where)


def _check_vision(config: Config, source: str) -> None:
    vision = config.vision
    where = f"{source}: vision"
    if vision.enabled and vision.screen is None:
        raise ConfigError("name the screen whose shoppers the camera may verify", where=f"{where}.screen")
    _check_rect(vision.roi, f"{where}.roi")
    if not 0.0 < vision.window_s <= c.VISION_WINDOW_MAX_S:
        raise ConfigError(f"must be > 0 and at most {c.VISION_WINDOW_MAX_S:g} seconds", where=f"{where}.window_s")
    if not 0.0 < vision.threshold < 1.0:
        raise ConfigError("a cosine similarity threshold must be between 0 and 1", where=f"{where}.threshold")
    if not 0.0 < vision.fps <= 60.0:
        raise ConfigError("must be > 0 and at most 60", where=f"{where}.fps")
    if vision.regions and vision.shelf_source is None:
        raise ConfigError("shelf regions need vision.shelf_source", where=f"{where}.shelf_source")
    shelves = {shelf.id for shelf in config.shelves}
    seen: set[str] = set()
    for index, region in enumerate(vision.regions):
        at = f"{where}.regions[{index}]"
        if not _ID.match(region.id) or region.id in seen:
            raise ConfigError(f"{region.id!r} is not a valid, unique id", where=f"{at}.id")
        seen.add(region.id)
        if region.shelf not in shelves:
            raise ConfigError(f"no shelf {region.shelf!r} is configured", where=f"{at}.shelf")
        if not SKU.match(region.sku):
            raise ConfigError(f"{region.sku!r} is not a valid SKU", where=f"{at}.sku")
        _check_rect(region.rect, f"{at}.rect")
        if not 0.0 < region.motion_fraction <= 1.0:
            raise ConfigError("must be a fraction of the region's pixels, > 0 and <= 1", where=f"{at}.motion_fraction")
        if region.debounce_s < 0:
            raise ConfigError("must be >= 0 seconds", where=f"{at}.debounce_s")


def _check_shelves(config: Config, source: str) -> None:
    """SKUs, motion tags and attribution settings (edge.shelf)."""
    skus: dict[str, frozenset[str]] = {}
    for index, shelf in enumerate(config.shelves):
        for sku in shelf.skus:
            if not SKU.match(sku):
                raise ConfigError(
                    f"{sku!r} is not a valid SKU (letters, digits, . _ -; at most 64)",
                    where=f"{source}: shelves[{index}].skus",
                )
        skus[shelf.id] = frozenset(shelf.skus)
    ids: set[str] = set()
    macs: set[str] = set()
    for index, tag in enumerate(config.motion_tags):
        where = f"{source}: motion_tags[{index}]"
        if not _ID.match(tag.id):
            raise ConfigError(f"{tag.id!r} is not a valid id (letters, digits, . _ -)", where=f"{where}.id")
        if tag.id in ids:
            raise ConfigError(f"duplicate id {tag.id!r}", where=f"{where}.id")
        ids.add(tag.id)
        if not _MAC.match(tag.mac.upper()):
            raise ConfigError(f"{tag.mac!r} is not a MAC (AA:BB:CC:DD:EE:FF)", where=f"{where}.mac")
        if tag.mac.upper() in macs:
            raise ConfigError(f"another tag has the MAC {tag.mac!r}", where=f"{where}.mac")
        macs.add(tag.mac.upper())
        if tag.shelf not in skus:
            raise ConfigError(f"no shelf {tag.shelf!r} is configured", where=f"{where}.shelf")
        if not SKU.match(tag.sku):
            raise ConfigError(f"{tag.sku!r} is not a valid SKU", where=f"{where}.sku")
        if skus[tag.shelf] and tag.sku not in skus[tag.shelf]:
            raise ConfigError(
                f"{tag.sku!r} is not among the skus of shelf {tag.shelf!r}: add it there", where=f"{where}.sku"
            )
        for key in ("lift_mg", "rest_mg", "settle_s"):
            if getattr(tag, key) <= 0:
                raise ConfigError("must be > 0", where=f"{where}.{key}")
        if tag.debounce_s < 0:
            raise ConfigError("must be >= 0 seconds", where=f"{where}.debounce_s")
        if tag.rest_mg >= tag.lift_mg:
            raise ConfigError(
                f"rest_mg ({tag.rest_mg}) must be below lift_mg ({tag.lift_mg})", where=f"{where}.rest_mg"
            )
    attribution = config.attribution
    if attribution.margin_db < 0:
        raise ConfigError("must be >= 0 dB", where=f"{source}: attribution.margin_db")
    if attribution.recent_max < 0:
        raise ConfigError("must be >= 0", where=f"{source}: attribution.recent_max")
    if attribution.recent_max_age_s <= 0:
        raise ConfigError("must be > 0 seconds", where=f"{source}: attribution.recent_max_age_s")


def _check_locale(gateway: GatewayConfig, where: str) -> None:
    """``[gateway] language`` and ``timezone``."""
    import zoneinfo

    from edge.phrases import LANGUAGE_CODE, LANGUAGES

    if not LANGUAGE_CODE.match(gateway.language):
        raise ConfigError(
            f'{gateway.language!r} is not a two-letter language code (ISO 639-1, lower case: "de")',
            where=f"{where}.language",
        )
    if gateway.language not in LANGUAGES:
        raise ConfigError(
            f"no built-in phrases for {gateway.language!r} (have {', '.join(sorted(LANGUAGES))})",
            where=f"{where}.language",
        )
    try:
        zoneinfo.ZoneInfo(gateway.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f'{gateway.timezone!r} is not an IANA time zone ("Europe/Berlin")', where=f"{where}.timezone"
        ) from None


def _check_signage(config: Config, where: str) -> None:
    signage = config.signage
    if signage.screen is not None and signage.screen not in {s.id for s in config.screens}:
        raise ConfigError(f"no screen {signage.screen!r} is configured", where=f"{where}.screen")
    for key in ("width", "height"):
        if not 160 <= getattr(signage, key) <= 7680:
            raise ConfigError("must be 160..7680 pixels", where=f"{where}.{key}")
    if not 1 <= signage.fps <= 120:
        raise ConfigError("must be 1..120", where=f"{where}.fps")
    if signage.play_s <= 0:
        raise ConfigError("must be > 0 seconds", where=f"{where}.play_s")
    if not 0 <= signage.min_display_s <= signage.play_s:
        raise ConfigError("must be 0..play_s seconds", where=f"{where}.min_display_s")
    if not 0 <= signage.crossfade_s < signage.play_s:
        raise ConfigError("must be >= 0 and shorter than play_s", where=f"{where}.crossfade_s")
    for key in ("frame_every_s", "sticky_margin_m"):
        if getattr(signage, key) < 0:
            raise ConfigError("must be >= 0", where=f"{where}.{key}")


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` or ``[v6]:port`` → (host, port); ValueError if it is neither."""
    host, sep, port = listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{listen!r} is not host:port")
    return host.strip("[]"), int(port)


def _check_metrics(metrics: MetricsConfig, where: str) -> None:
    if metrics.listen is None:
        return
    try:
        host, _ = split_listen(metrics.listen)
    except ValueError as err:
        raise ConfigError(f"{err} (e.g. 127.0.0.1:9464)", where=f"{where}.listen") from None
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise ConfigError(
            f"{host!r} is not a loopback address: expose metrics on 127.0.0.1 and scrape through a local agent",
            where=f"{where}.listen",
        )


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
    """Validate a parsed TOML document (or a dict from a remote override).

    ``trace_given``: the trace comes from elsewhere (``edge replay TRACE``), so a replay backend
    without ``ble.trace`` is fine."""
    try:
        config = msgspec.convert(data, Config)
    except msgspec.ValidationError as err:
        message, key = _where_of(err)
        raise ConfigError(message, where=f"{source}: {key}" if key else source) from None
    _check(config, source, trace_given=trace_given)
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
