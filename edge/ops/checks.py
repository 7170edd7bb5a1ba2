"""The checks of ``edge doctor``: each returns a :class:`Result` with what to do when it fails.

Checks never raise: a failure of the check itself is a failed result with its reason. Network and
hardware checks are bounded by ``DOCTOR_TIMEOUT_S``. Files the config names are looked up under
``--root`` (a provisioned tree), the hardware is always this machine's.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import shutil
import sqlite3
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeVar

from edge import constants as c
from edge.config import Config, chosen_engine, engine_said
from edge.errors import EdgeError
from edge.floor import off_floor
from edge.outbox import OUTBOX_FILE, state_file_hint
from edge.radio_file import Kept
from edge.signage.state import STATE_FILE

M = TypeVar("M")

Status = Literal["ok", "fail", "warn", "skip"]


@dataclass(frozen=True, slots=True)
class Result:
    name: str
    status: Status
    detail: str
    fix: str = ""


def rooted(root: Path, path: str | Path) -> Path:
    """``path`` as seen from inside ``root`` (an absolute path of the box under a provisioned tree)."""
    p = Path(path)
    return root / p.relative_to("/") if p.is_absolute() else p


def nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


# --- Bluetooth ---------------------------------------------------------------------------------


async def check_adapter(config: Config) -> Result:
    if config.ble.backend != "bleak":
        return Result("bluetooth adapter", "skip", f"ble.backend = {config.ble.backend!r}: no adapter used")
    from edge.beacons.bluez_errors import probe_adapter, scanner_error

    adapter = config.ble.adapter or "hci0"
    try:
        async with asyncio.timeout(c.DOCTOR_TIMEOUT_S):
            await probe_adapter(adapter)
    except Exception as err:  # noqa: BLE001 - every failure becomes a result with its fix
        error = scanner_error(err, adapter=adapter, start_timeout_s=c.DOCTOR_TIMEOUT_S)
        problem, _, fix = str(error).partition(": ")
        return Result("bluetooth adapter", "fail", f"{adapter}: {problem}", fix or str(error))
    return Result("bluetooth adapter", "ok", f"{adapter} present and powered (BlueZ over D-Bus)")


async def check_advertising(config: Config) -> Result:
    """The store's iBeacon (``[advertise]``): manager present, free instances, BlueZ version, tunables."""
    name = "advertising"
    if config.advertise is None:
        return Result(name, "skip", "no [advertise]: the gateway broadcasts no iBeacon (iPhone check-ins need one)")
    if config.ble.backend != "bleak":  # as edge run: no radio, so the advertiser service does not try
        return Result(name, "skip", f"ble.backend = {config.ble.backend!r}: the gateway does not advertise")
    from edge.beacons.advertiser import AdvertiserError, probe_support

    adapter = config.advertise.adapter or config.ble.adapter or "hci0"
    try:
        async with asyncio.timeout(c.DOCTOR_TIMEOUT_S):
            support = await probe_support(config.advertise, adapter)
    except AdvertiserError as err:
        return Result(name, "fail", f"{adapter}: cannot advertise ({err.reason.value})", str(err))
    except TimeoutError:
        return Result(name, "fail", f"{adapter}: bluetoothd did not answer", "`sudo systemctl restart bluetooth`")
    if not support.manager:
        return Result(name, "fail", f"{adapter}: {support.summary()}", "an adapter and BlueZ with LE advertising")
    if support.free_instances < 1:
        fix = "stop what holds them (`bluetoothctl advertise off`) or set [advertise] adapter to a second adapter"
        return Result(name, "fail", f"{adapter}: {support.summary()}", fix)
    if not support.can_set_interval:
        fix = "for interval/TX power: BlueZ >= 5.65 with `bluetoothd --experimental`, kernel >= 5.11"
        return Result(name, "warn", f"{adapter}: {support.summary()}", fix)
    return Result(name, "ok", f"{adapter}: {support.summary()}")


# --- files, permissions, units -----------------------------------------------------------------


def check_permissions(config: Config, root: Path) -> Result:
    problems: list[str] = []
    fixes: list[str] = []
    for key in ("key_file", "password_file"):
        value = getattr(config.mqtt, key)
        if not value:
            continue
        path = rooted(root, value)
        try:
            mode = path.stat().st_mode
        except OSError:
            continue  # the broker check names missing TLS files
        if mode & 0o077:
            problems.append(f"mqtt.{key} {path} is readable by others ({oct(mode & 0o777)})")
            fixes.append(f"chmod 600 {path}")
    units = rooted(root, "/etc/systemd/system/edge-gateway.service")
    if not units.exists():
        problems.append(f"{units} is not installed")
        fixes.append("edge provision … (installs the units)")
    else:
        text = units.read_text(encoding="utf-8")
        if "SupplementaryGroups=bluetooth" not in text:
            problems.append("the unit's user is not in the bluetooth group: BlueZ will refuse it")
            fixes.append("add SupplementaryGroups=bluetooth to edge-gateway.service")
        if "CapabilityBoundingSet=\n" not in text:
            problems.append("the unit grants capabilities; the gateway needs none")
            fixes.append("set CapabilityBoundingSet= (empty) in edge-gateway.service")
    if problems:
        return Result("permissions", "fail", "; ".join(problems), "; ".join(fixes))
    return Result("permissions", "ok", "unit installed without capabilities, in the bluetooth group; keys 0600")


def _damaged(path: Path) -> sqlite3.DatabaseError | None:
    """The error of a state file SQLite reads as damaged (no database, or malformed); None when it is readable,
    missing, or unreadable for another reason (locked, permissions: the other checks' business)."""
    if not path.exists():
        return None
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        return None
    except sqlite3.DatabaseError as err:
        return err
    return None


def check_disk(config: Config, root: Path) -> Result:
    state = rooted(root, config.state_path())
    where = nearest_existing(state)
    if not os.access(where, os.W_OK) and where == state:
        return Result("disk", "fail", f"{state} is not writable", f"chown the directory to the service user: {state}")
    free = shutil.disk_usage(where).free
    need = max(c.DOCTOR_MIN_FREE_BYTES, 2 * config.mqtt.outbox_max_bytes)
    depth = ""
    outbox = state / OUTBOX_FILE
    if outbox.exists():
        try:
            with sqlite3.connect(f"file:{outbox}?mode=ro", uri=True, timeout=1) as db:
                unsent = db.execute("SELECT count(*) FROM outbox WHERE NOT sent").fetchone()[0]
            depth = f"; {unsent} unsent events in the outbox"
        except sqlite3.Error as err:
            depth = f"; outbox unreadable ({err})"
    detail = f"{free / 2**20:.0f} MiB free at {where}{depth}"
    for name in (OUTBOX_FILE, STATE_FILE):
        damaged = _damaged(state / name)
        if damaged is not None:  # the gateway would refuse to start on it
            return Result("disk", "fail", f"{state / name}: {damaged}; {detail}", state_file_hint(damaged))
    if free < need:
        return Result("disk", "fail", detail, f"free {need / 2**20:.0f} MiB (or lower mqtt.outbox_max_bytes)")
    return Result("disk", "ok", detail)


# --- clock ---------------------------------------------------------------------------------------


class _Timex(ctypes.Structure):
    _fields_ = [
        ("modes", ctypes.c_uint),
        ("offset", ctypes.c_long),
        ("freq", ctypes.c_long),
        ("maxerror", ctypes.c_long),
        ("esterror", ctypes.c_long),
        ("status", ctypes.c_int),
        ("constant", ctypes.c_long),
        ("precision", ctypes.c_long),
        ("tolerance", ctypes.c_long),
        ("time_sec", ctypes.c_long),
        ("time_usec", ctypes.c_long),
        ("tick", ctypes.c_long),
        ("ppsfreq", ctypes.c_long),
        ("jitter", ctypes.c_long),
        ("shift", ctypes.c_int),
        ("stabil", ctypes.c_long),
        ("jitcnt", ctypes.c_long),
        ("calcnt", ctypes.c_long),
        ("errcnt", ctypes.c_long),
        ("stbcnt", ctypes.c_long),
        ("tai", ctypes.c_int),
        ("padding", ctypes.c_int * 11),
    ]


TIME_ERROR = 5
"""adjtimex's return value when the kernel clock is not synchronised (STA_UNSYNC)."""


def adjtimex() -> tuple[bool, float]:
    """(synchronised, max error in seconds) from the kernel's NTP state (read-only: modes = 0)."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    timex = _Timex()
    state = libc.adjtimex(ctypes.byref(timex))
    if state < 0:
        raise OSError(ctypes.get_errno(), "adjtimex failed")
    return state != TIME_ERROR, timex.maxerror / 1e6


def check_clock() -> Result:
    fix = "enable time sync: `sudo timedatectl set-ntp true` (systemd-timesyncd) and allow UDP 123 to the NTP server"
    timedatectl = shutil.which("timedatectl")
    if timedatectl:
        try:
            out = subprocess.run(  # noqa: S603 - a fixed command
                [timedatectl, "show", "-p", "NTPSynchronized", "--value"],
                capture_output=True,
                text=True,
                timeout=c.DOCTOR_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            out = None
        if out is not None and out.returncode == 0 and out.stdout.strip() in ("yes", "no"):
            if out.stdout.strip() == "yes":
                return Result("clock", "ok", "synchronised (timedatectl)")
            return Result("clock", "fail", "not synchronised (timedatectl)", fix)
    try:
        synced, max_error_s = adjtimex()
    except OSError as err:
        return Result("clock", "warn", f"cannot read the kernel's clock state: {err}", fix)
    if not synced:
        return Result("clock", "fail", "the kernel clock is not synchronised (adjtimex)", fix)
    if max_error_s > c.DOCTOR_CLOCK_MAX_ERROR_S:
        return Result("clock", "fail", f"synchronised, but the error may be {max_error_s:.1f} s", fix)
    return Result("clock", "ok", f"synchronised (adjtimex; max error {max_error_s * 1000:.0f} ms)")


# --- camera and display --------------------------------------------------------------------------


def _camera_opens(source: str) -> bool:
    import cv2

    capture = cv2.VideoCapture(source)
    try:
        return bool(capture.isOpened()) and bool(capture.read()[0])
    finally:
        capture.release()


async def check_camera(config: Config) -> Result:
    if not config.vision.enabled:
        return Result("camera", "skip", "vision.enabled = false")
    source = config.vision.source
    try:
        async with asyncio.timeout(c.DOCTOR_TIMEOUT_S):
            opened = await asyncio.to_thread(_camera_opens, source)
    except ImportError:
        return Result("camera", "fail", "OpenCV is not installed", "pip install opencv-python-headless")
    except TimeoutError:
        opened = False
    if not opened:
        fix = "plug in the camera and check `v4l2-ctl --list-devices`; the service user needs the video group"
        if not source.startswith("/dev/"):
            fix = "check vision.source (a file, an RTSP URL reachable from here, or a folder of images)"
        return Result("camera", "fail", f"{source} does not open or gives no frame", fix)
    return Result("camera", "ok", f"{source} opens and gives frames")


def check_display(config: Config | None) -> Result:
    """Without a config (None), whether a display is there at all: a warning, not a failure, when
    none is (a box without a screen is fine)."""
    if config is not None:
        signage = config.signage
        if not signage.enabled or not config.screens:
            return Result("display", "skip", "no screen configured")
        if signage.backend == "headless":
            return Result("display", "skip", "signage.backend = headless")
    if os.environ.get("WAYLAND_DISPLAY") or os.environ.get("DISPLAY"):
        return Result("display", "ok", "a desktop session is available")
    cards = sorted(Path("/dev/dri").glob("card*"))
    if cards:
        return Result("display", "ok", f"KMS/DRM device {cards[0]}")
    return Result(
        "display",
        "fail" if config is not None else "warn",
        "no display: neither a desktop session nor a KMS/DRM device (/dev/dri/card*)",
        "connect the screen and enable KMS (dtoverlay=vc4-kms-v3d in /boot/firmware/config.txt), "
        'or set signage.backend = "headless"',
    )


# --- zones ------------------------------------------------------------------------------------------


def check_zones(config: Config) -> Result:
    """A valid config can still do nothing: no zone places nobody; a radio in no zone places nobody. With a
    ``[floor]`` plan, every zone and positioned scanner must lie on it (edge.floor.off_floor)."""
    if not config.zones:
        return Result(
            "zones",
            "warn",
            "no [[zones]]: nobody is ever placed, so no presence, shelf or signage event is emitted",
            'add a [[zones]] table per area with its scanner ids: id = "entrance", scanners = ["gw-1"]',
        )
    off = off_floor(
        config.floor,
        ((zone.id, zone.area_m, zone.radius_m, zone.scanners) for zone in config.zones),
        ((scanner.id, scanner.x_m, scanner.y_m) for scanner in config.scanners),
    )
    if off:
        more = f" (and {len(off) - 3} more)" if len(off) > 3 else ""
        return Result(
            "zones",
            "fail",
            "not on the [floor] plan: " + "; ".join(off[:3]) + more,
            "move the zone's area_m or the scanner's x_m, y_m onto a [[floor.area]] rectangle, or add the floor there",
        )
    scanners = {scanner for zone in config.zones for scanner in zone.scanners}
    own = config.ble.scanner or config.gateway.gateway
    if config.ble.backend == "bleak" and own not in scanners:
        return Result(
            "zones",
            "warn",
            f"this box's scanner id {own!r} is in no zone's scanners: its own radio places nobody",
            f"add {own!r} to a zone's scanners (or set ble.scanner to the id the zones use)",
        )
    counts = f"{len(config.zones)} zone(s), {len(scanners)} scanner id(s)"
    return Result("zones", "ok", f"{counts}, the presence engine {engine_said(config)}")


# --- the learned radio ------------------------------------------------------------------------------


def check_radio(config: Config, root: Path, now: float | None = None) -> Result:
    """What the presence engine learned of the radio and keeps (edge.radio_keeper): the grid engine's radio in
    ``{state_dir}/radio.json``, the threshold engine's scanner offsets in ``{state_dir}/offsets.json``, or why the next
    start will not use it. Never a failure: a gateway without it starts from the configured radio."""
    engine = chosen_engine(config)
    if engine == "grid":
        from edge.presence_grid_memory import GRID_KEPT

        configured = f"the configured radio (path-loss exponent {config.presence.path_loss_exponent:g})"
        return _kept_radio(config, root, GRID_KEPT, configured, now)
    if engine == "threshold":
        from edge.presence_offsets import OffsetLearner
        from edge.presence_offsets_memory import OFFSETS_KEPT

        told = config.presence
        learner = OffsetLearner(
            config.zones, config.scanners, told.path_loss_exponent, told.measured_power_1m_dbm, told.learn_offsets
        )
        if not learner.learning:
            why = (
                "[presence] learn_offsets = false"
                if not told.learn_offsets
                else "no [[scanners]] positions with zones 4.5-16 m from other zones' scanners"
            )
            return Result("radio", "skip", f"the threshold engine learns no scanner offsets here ({why})")
        return _kept_radio(config, root, OFFSETS_KEPT, "the configured scanner offsets", now)
    return Result("radio", "skip", f"the {engine} engine keeps no learned radio")


def _kept_radio(config: Config, root: Path, kept: Kept[M], configured: str, now: float | None) -> Result:
    from edge.radio_keeper import read_kept

    path = rooted(root, config.state_path()) / kept.file
    found = read_kept(path, kept.layout(config), config.scanners, kept)
    if found is None:
        return Result("radio", "ok", f"nothing learned yet: the engine starts from {configured}")
    if isinstance(found, str):
        fix = "nothing to do: the engine learns again and replaces it (or remove it)"
        return Result("radio", "warn", f"{path}: {found}: the next start uses {configured}", fix)
    age = ((time.time() if now is None else now) - found.saved_at) / 60
    return Result("radio", "ok", f"learned: {kept.describe(found.radio)}; saved {age:.0f} min ago")


# --- roster ---------------------------------------------------------------------------------------


def check_roster(config: Config, root: Path, now: float | None = None) -> Result:
    from edge.laststate import read_last_good
    from edge.roster import parse_roster
    from edge.topics import Topics

    now = time.time() if now is None else now
    topic = Topics(config.gateway.store, config.gateway.gateway).roster
    payload: bytes | None = None
    received: float | None = None
    origin = "the stored roster"
    try:
        stored = read_last_good(rooted(root, config.state_path()))  # the last-good store's read-only API
        payload, received = stored.payloads.get(topic), stored.received.get(topic)
    except sqlite3.Error:
        payload = None
    if payload is None and config.gateway.roster_file:
        path = rooted(root, config.gateway.roster_file)
        origin = str(path)
        try:
            payload, received = path.read_bytes(), path.stat().st_mtime
        except OSError as err:
            detail = f"{path}: cannot read gateway.roster_file: {err.strerror}"
            return Result("roster", "fail", detail, "check the path")
    fix = f"check that the CDP publishes {topic} (retained) and the broker ACL"
    if payload is None or received is None:
        return Result("roster", "warn", "no roster received yet: nobody is recognised", fix)
    try:
        roster = parse_roster(payload)
    except EdgeError as err:
        return Result("roster", "fail", f"{origin} is invalid: {err}", fix)
    age = now - received
    if roster.expired(now):
        return Result("roster", "fail", f"version {roster.version} has expired: nobody is recognised", fix)
    if age > c.DOCTOR_ROSTER_MAX_AGE_S:
        return Result("roster", "fail", f"version {roster.version} is {age / 3600:.0f} h old", fix)
    return Result("roster", "ok", f"version {roster.version}, {age / 60:.0f} min old")
