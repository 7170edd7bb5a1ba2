"""The gateway configuration (TOML), validated into frozen values.

Keys are those of shared/DESIGN.md; every error names the file, the key and the problem. Values
not given take the defaults of :mod:`edge.constants`.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import msgspec

from edge import constants as c
from edge.errors import ConfigError


class GatewayConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    store: str = "store-1"
    gateway: str = "gw-1"
    state_dir: str | None = None
    """SQLite outbox and last-good state; default: systemd's StateDirectory or ~/.local/state/edge.
    Relative paths (here and in ``ble.trace``, ``roster_file``) are relative to the config file."""
    roster_file: str | None = None
    """A roster snapshot (JSON) to start with until the CDP sends one."""


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


class PresenceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    measured_power_1m_dbm: float = c.MEASURED_POWER_1M_DBM
    path_loss_exponent: float = c.PATH_LOSS_EXPONENT
    rssi_window_s: float = c.RSSI_WINDOW_S
    tick_interval_s: float = c.TICK_INTERVAL_S
    health_interval_s: float = c.HEALTH_INTERVAL_S


class ZoneConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    scanners: tuple[str, ...]
    tags: tuple[str, ...] = ()
    enter_rssi_dbm: float = c.ENTER_RSSI_DBM
    exit_rssi_dbm: float = c.EXIT_RSSI_DBM
    exit_timeout_s: float = c.EXIT_TIMEOUT_S
    handoff_margin_db: float = c.HANDOFF_MARGIN_DB
    handoff_samples: int = c.HANDOFF_SAMPLES
    dwell_interval_s: float = c.DWELL_INTERVAL_S


class ScreenConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    zone: str


class ShelfConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    id: str
    zone: str


class VisionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = False
    source: str = "/dev/video0"
    screen: str | None = None


class Config(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    gateway: GatewayConfig = msgspec.field(default_factory=GatewayConfig)
    ble: BleConfig = msgspec.field(default_factory=BleConfig)
    mqtt: MqttConfig = msgspec.field(default_factory=MqttConfig)
    presence: PresenceConfig = msgspec.field(default_factory=PresenceConfig)
    zones: tuple[ZoneConfig, ...] = ()
    screens: tuple[ScreenConfig, ...] = ()
    shelves: tuple[ShelfConfig, ...] = ()
    vision: VisionConfig = msgspec.field(default_factory=VisionConfig)

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


def _where_of(err: msgspec.ValidationError) -> tuple[str, str]:
    text = str(err)
    match = re.search(r" - at `\$(.*)`$", text)
    if not match:
        return text, ""
    key = match.group(1).lstrip(".")
    return text[: match.start()], key


def _check(config: Config, source: str) -> None:
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
    if config.ble.backend == "replay" and not config.ble.trace:
        raise ConfigError('the replay backend needs ble.trace = "path.jsonl"', where=f"{source}: ble.trace")
    if config.presence.path_loss_exponent <= 0:
        raise ConfigError("must be > 0", where=f"{source}: presence.path_loss_exponent")
    for key in ("rssi_window_s", "tick_interval_s", "health_interval_s"):
        if getattr(config.presence, key) <= 0:
            raise ConfigError("must be > 0 seconds", where=f"{source}: presence.{key}")
    if config.vision.screen is not None and config.vision.screen not in {s.id for s in config.screens}:
        raise ConfigError(f"no screen {config.vision.screen!r} is configured", where=f"{source}: vision.screen")


def from_mapping(data: dict[str, Any], *, source: str = "<config>") -> Config:
    """Validate a parsed TOML document (or a dict from a remote override)."""
    try:
        config = msgspec.convert(data, Config)
    except msgspec.ValidationError as err:
        message, key = _where_of(err)
        raise ConfigError(message, where=f"{source}: {key}" if key else source) from None
    _check(config, source)
    return config


def load(path: Path) -> Config:
    """Read and validate a TOML config file."""
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
    config = from_mapping(data, source=str(path))
    if config.ble.trace and not Path(config.ble.trace).is_absolute():
        ble = msgspec.structs.replace(config.ble, trace=str(path.parent / config.ble.trace))
        config = msgspec.structs.replace(config, ble=ble)
    gateway = config.gateway
    for key in ("roster_file", "state_dir"):
        value = getattr(gateway, key)
        if value and not Path(value).expanduser().is_absolute():
            gateway = msgspec.structs.replace(gateway, **{key: str(path.parent / value)})
    return msgspec.structs.replace(config, gateway=gateway)
