"""A fake BlueZ on a private D-Bus, for running bleak's real BlueZ backend in tests.

A private ``dbus-daemon`` (a system-bus-like config) and python-dbusmock's ``bluez5`` template
in a subprocess; bleak connects to it because the fixture exports the bus as
``DBUS_SYSTEM_BUS_ADDRESS``. Nothing of bleak is patched: its manager, scanner and signal parsing
run unmodified against this fake.

What the fake does that the template alone does not, so that it behaves like bluetoothd:

- Devices are created with ``AddObject`` for ``org.bluez.Device1`` plus an ``InterfacesAdded``
  signal, with ``ManufacturerData`` as ``a{qv}`` (variant ``ay``) and ``ServiceData`` as
  ``a{sv}``; the template's own ``AddDevice`` sends ``ManufacturerData`` as ``aa{qv}`` and bleak
  silently drops it.
- ``StartDiscovery`` on a powered-off adapter fails with ``org.bluez.Error.NotReady``, as
  bluetoothd's does (the template starts discovery regardless).
- ``deny_bluez=True`` installs a D-Bus policy that denies the BlueZ API to everyone, as
  bluetoothd's ``bluetooth.conf`` does for users outside the ``bluetooth`` group.
- ``monitor_api=False`` leaves out ``AdvertisementMonitorManager1`` (BlueZ without
  ``--experimental``), so passive scanning is not available.

The mock's stdout goes to DEVNULL: it logs every call there, and a full pipe freezes it after a
few hundred calls. Its stderr goes to a file in the work directory (shown when it fails).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pytest

try:
    import dbus
except ImportError:  # pragma: no cover - depends on the machine
    dbus = None

BLUEZ_BUS_NAME = "org.bluez"
MOCK_IFACE = "org.freedesktop.DBus.Mock"
BLUEZ_MOCK_IFACE = "org.bluez.Mock"
OBJECT_MANAGER_IFACE = "org.freedesktop.DBus.ObjectManager"
ADAPTER_IFACE = "org.bluez.Adapter1"
DEVICE_IFACE = "org.bluez.Device1"

START_TIMEOUT_S = 10.0
"""Bound on the daemon and the mock coming up (about 0.1 s on an idle machine; CI is slower)."""

CALL_TIMEOUT_S = 5.0
"""Bound on each D-Bus call the helper makes to the mock."""

_SOCKET_DIR_MAX = 80
"""Longest work directory that still leaves room for the socket's name in sun_path (108 bytes)."""

_INSTALL_HINT = "`make test` installs it (apt-get install dbus; dbus-python comes with the test extra)"

_POLICY_OPEN = """
    <policy context="default">
      <allow send_destination="*" eavesdrop="true"/>
      <allow eavesdrop="true"/>
      <allow own="*"/>
    </policy>"""

_POLICY_DENY_BLUEZ = """
    <policy context="default">
      <allow send_destination="*" eavesdrop="true"/>
      <allow eavesdrop="true"/>
      <allow own="*"/>
      <!-- bluetooth.conf style: the BlueZ API is off limits (the mock's own control
           interfaces stay reachable so the test can set it up) -->
      <deny send_destination="org.bluez" send_interface="org.freedesktop.DBus.ObjectManager"/>
      <deny send_destination="org.bluez" send_interface="org.bluez.Adapter1"/>
      <deny send_destination="org.bluez" send_interface="org.bluez.AdvertisementMonitorManager1"/>
      <deny send_destination="org.bluez" send_interface="org.freedesktop.DBus.Properties"/>
    </policy>"""

# bluetoothd answers StartDiscovery on a powered-off adapter with NotReady; the template's
# version does not look at Powered. Same body as the template's otherwise, plus two knobs the
# tests turn through org.edge.FakeBlueZ: fail the next N starts, or stall each start.
_START_DISCOVERY = """
if getattr(self, "edge_stall_s", 0.0) > 0:
    if os.environ.get("EDGE_FAKE_BLUEZ_STALLED"):
        open(os.environ["EDGE_FAKE_BLUEZ_STALLED"], "w").close()  # FakeBlueZ.wait_stalled
    time.sleep(self.edge_stall_s)
if getattr(self, "edge_fail_starts", 0) > 0:
    self.edge_fail_starts -= 1
    raise dbus.exceptions.DBusException("Operation failed", name="org.bluez.Error.Failed")
props = self.props["org.bluez.Adapter1"]
if not props["Powered"]:
    raise dbus.exceptions.DBusException("Resource Not Ready", name="org.bluez.Error.NotReady")
props["Discovering"] = True
self.EmitSignal(
    "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as",
    ["org.bluez.Adapter1", {"Discovering": dbus.Boolean(True)}, []],
)
"""
_KNOBS_IFACE = "org.edge.FakeBlueZ"
_KNOBS = [
    ("FailStartDiscovery", "u", "", "self.edge_fail_starts = int(args[0])"),
    ("StallStartDiscovery", "d", "", "self.edge_stall_s = float(args[0])"),
]


def _require_tools() -> None:
    """Fail (never skip) when what the fake needs is missing."""
    if shutil.which("dbus-daemon") is None:
        pytest.fail(f"dbus-daemon is not installed: {_INSTALL_HINT}", pytrace=False)
    if dbus is None:
        pytest.fail(f"dbus-python is not installed: {_INSTALL_HINT}", pytrace=False)


def device_path(address: str, adapter: str = "hci0") -> str:
    return f"/org/bluez/{adapter}/dev_{address.upper().replace(':', '_')}"


def _manufacturer_data(data: Mapping[int, bytes]) -> Any:
    return dbus.Dictionary(
        {dbus.UInt16(cid): dbus.ByteArray(payload, variant_level=1) for cid, payload in data.items()},
        signature="qv",
    )


def _service_data(data: Mapping[str, bytes]) -> Any:
    return dbus.Dictionary(
        {dbus.String(uuid): dbus.ByteArray(payload, variant_level=1) for uuid, payload in data.items()},
        signature="sv",
    )


class FakeBlueZ:
    """A private D-Bus with (optionally) a mocked bluetoothd on it; a context manager.

    ``address`` is the bus address to export as ``DBUS_SYSTEM_BUS_ADDRESS``.
    """

    def __init__(
        self, workdir: Path, *, bluez: bool = True, monitor_api: bool = True, deny_bluez: bool = False
    ) -> None:
        self._workdir = workdir
        self._bluez = bluez
        self._monitor_api = monitor_api
        self._deny_bluez = deny_bluez
        self._daemon: subprocess.Popen[bytes] | None = None
        self._mock: subprocess.Popen[bytes] | None = None
        self._conn: Any = None
        # a unix socket path must fit in 108 bytes: a deep pytest tmp_path in CI may not
        self._socket_dir = workdir if len(str(workdir)) <= _SOCKET_DIR_MAX else Path(tempfile.mkdtemp(dir="/tmp"))
        self._socket = self._socket_dir / "system_bus_socket"
        self._mock_log = workdir / "dbusmock.stderr"
        self._daemon_log = workdir / "dbus-daemon.stderr"
        self._stalled = workdir / "stalled"
        """Written by the mock as a stalled StartDiscovery begins (:meth:`wait_stalled`)."""
        self.address = f"unix:path={self._socket}"

    # --- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        _require_tools()
        self._start_daemon()
        self._conn = dbus.bus.BusConnection(self.address)
        if self._bluez:
            self._start_mock()

    def _start_daemon(self) -> None:
        config = self._workdir / "system_bus.conf"
        config.write_text(
            '<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"\n'
            ' "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">\n'
            "<busconfig>\n"
            "  <type>system</type>\n"
            "  <keep_umask/>\n"
            f"  <listen>unix:path={self._socket}</listen>\n"
            "  <auth>EXTERNAL</auth>\n"
            f"{_POLICY_DENY_BLUEZ if self._deny_bluez else _POLICY_OPEN}\n"
            "</busconfig>\n"
        )
        with self._daemon_log.open("wb") as stderr:
            self._daemon = subprocess.Popen(
                ["dbus-daemon", f"--config-file={config}", "--nofork", "--print-address=1"],
                stdout=subprocess.PIPE,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
            )
        assert self._daemon.stdout is not None
        # the address line means the daemon is listening; nothing else is printed after it
        line = self._daemon.stdout.readline()
        self._daemon.stdout.close()
        if not line.strip():
            self._daemon.wait(timeout=START_TIMEOUT_S)
            pytest.fail(
                f"dbus-daemon did not start (exit code {self._daemon.returncode}):\n{self._daemon_log.read_text()}",
                pytrace=False,
            )

    def _start_mock(self) -> None:
        argv = [sys.executable, "-m", "dbusmock", "--system", "--template", "bluez5"]
        if not self._monitor_api:
            argv += ["--parameters", json.dumps({"enable_monitor_api": False})]
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.address, "EDGE_FAKE_BLUEZ_STALLED": str(self._stalled)}
        with self._mock_log.open("wb") as stderr:
            self._mock = subprocess.Popen(
                argv, stdout=subprocess.DEVNULL, stderr=stderr, stdin=subprocess.DEVNULL, env=env
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._conn.name_has_owner(BLUEZ_BUS_NAME):
            if self._mock.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the BlueZ mock did not start:\n{self._mock_log.read_text()}", pytrace=False)
            time.sleep(0.01)

    def stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        for proc in (self._mock, self._daemon):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=CALL_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self._mock = self._daemon = None
        if self._socket_dir != self._workdir:
            shutil.rmtree(self._socket_dir, ignore_errors=True)

    # --- calls to the mock -----------------------------------------------------------------

    def _iface(self, path: str, interface: str) -> Any:
        assert self._conn is not None, "the fake BlueZ is not running"
        return dbus.Interface(self._conn.get_object(BLUEZ_BUS_NAME, path, introspect=False), interface)

    def _call(self, path: str, interface: str, method: str, signature: str, *args: Any) -> Any:
        proxy = getattr(self._iface(path, interface), method)
        return proxy(*args, signature=signature, timeout=CALL_TIMEOUT_S)

    def add_adapter(self, name: str = "hci0", *, powered: bool = True) -> str:
        """Adds adapter ``name`` (``hciN``), powered or not; returns its object path."""
        path = str(self._call("/", BLUEZ_MOCK_IFACE, "AddAdapter", "ss", name, "edge-test"))
        self._call(path, MOCK_IFACE, "AddMethod", "sssss", ADAPTER_IFACE, "StartDiscovery", "", "", _START_DISCOVERY)
        self._call(path, MOCK_IFACE, "AddMethods", "sa(ssss)", _KNOBS_IFACE, _KNOBS)
        if not powered:
            self.set_powered(name, powered=False)
        return path

    def set_powered(self, name: str = "hci0", *, powered: bool) -> None:
        self._call(
            f"/org/bluez/{name}",
            MOCK_IFACE,
            "UpdateProperties",
            "sa{sv}",
            ADAPTER_IFACE,
            {"Powered": dbus.Boolean(powered)},
        )

    def fail_start_discovery(self, times: int, name: str = "hci0") -> None:
        """The next ``times`` StartDiscovery calls on ``name`` fail with org.bluez.Error.Failed."""
        self._call(f"/org/bluez/{name}", _KNOBS_IFACE, "FailStartDiscovery", "u", times)

    def stall_start_discovery(self, seconds: float, name: str = "hci0") -> None:
        """Each StartDiscovery on ``name`` hangs the whole mock for ``seconds`` (a wedged bluetoothd)."""
        self._stalled.unlink(missing_ok=True)
        self._call(f"/org/bluez/{name}", _KNOBS_IFACE, "StallStartDiscovery", "d", seconds)

    def wait_stalled(self, within_s: float = START_TIMEOUT_S) -> None:
        """Until a stalled StartDiscovery has begun: the mock is wedged from now on (for the stall's
        length). A fixed sleep after sending the StartDiscovery raced it on a loaded machine."""
        deadline = time.monotonic() + within_s
        while not self._stalled.exists():
            if time.monotonic() > deadline:
                pytest.fail(f"the BlueZ mock did not begin its stall within {within_s} s", pytrace=False)
            time.sleep(0.01)

    def remove_adapter(self, name: str = "hci0") -> None:
        self._call("/", BLUEZ_MOCK_IFACE, "RemoveAdapter", "s", name)

    def add_device(
        self,
        address: str,
        rssi: int,
        manufacturer_data: Mapping[int, bytes] | None = None,
        service_data: Mapping[str, bytes] | None = None,
        name: str | None = None,
        *,
        tx_power: int | None = None,
        service_uuids: tuple[str, ...] = (),
        adapter: str = "hci0",
    ) -> str:
        """A device BlueZ has just heard for the first time (``InterfacesAdded``); returns its path."""
        path = device_path(address, adapter)
        props: dict[str, Any] = {
            "Address": dbus.String(address.upper()),
            "AddressType": dbus.String("random"),
            "Alias": dbus.String(name if name is not None else address.upper().replace(":", "-")),
            "Adapter": dbus.ObjectPath(f"/org/bluez/{adapter}"),
            "Paired": dbus.Boolean(False),
            "Bonded": dbus.Boolean(False),
            "Trusted": dbus.Boolean(False),
            "Blocked": dbus.Boolean(False),
            "Connected": dbus.Boolean(False),
            "LegacyPairing": dbus.Boolean(False),
            "ServicesResolved": dbus.Boolean(False),
            "UUIDs": dbus.Array(list(service_uuids), signature="s"),
            "RSSI": dbus.Int16(rssi),
            "ManufacturerData": _manufacturer_data(manufacturer_data or {}),
            "ServiceData": _service_data(service_data or {}),
        }
        if name is not None:
            props["Name"] = dbus.String(name)
        if tx_power is not None:
            props["TxPower"] = dbus.Int16(tx_power)
        self._call(
            "/",
            MOCK_IFACE,
            "AddObject",
            "ssa{sv}a(ssss)",
            path,
            DEVICE_IFACE,
            props,
            dbus.Array([], signature="(ssss)"),
        )
        self._call(
            "/",
            MOCK_IFACE,
            "EmitSignal",
            "sssav",
            OBJECT_MANAGER_IFACE,
            "InterfacesAdded",
            "oa{sa{sv}}",
            [dbus.ObjectPath(path), dbus.Dictionary({DEVICE_IFACE: props}, signature="sa{sv}")],
        )
        return path

    def stop_foreign_discovery(self, address: str, *, adapter: str = "hci0") -> None:
        """What bluetoothd sends when some client stops discovering: RSSI and TxPower invalidated."""
        self._call(
            device_path(address, adapter),
            MOCK_IFACE,
            "EmitSignal",
            "sssav",
            "org.freedesktop.DBus.Properties",
            "PropertiesChanged",
            "sa{sv}as",
            [
                DEVICE_IFACE,
                dbus.Dictionary({}, signature="sv"),
                dbus.Array(["RSSI", "TxPower"], signature="s"),
            ],
        )

    def advertise(
        self,
        address: str,
        rssi: int,
        manufacturer_data: Mapping[int, bytes] | None = None,
        service_data: Mapping[str, bytes] | None = None,
        *,
        adapter: str = "hci0",
    ) -> None:
        """A further advertisement from a known device: ``PropertiesChanged`` as bluetoothd sends it."""
        changed: dict[str, Any] = {"RSSI": dbus.Int16(rssi)}
        if manufacturer_data is not None:
            changed["ManufacturerData"] = _manufacturer_data(manufacturer_data)
        if service_data is not None:
            changed["ServiceData"] = _service_data(service_data)
        self._call(device_path(address, adapter), MOCK_IFACE, "UpdateProperties", "sa{sv}", DEVICE_IFACE, changed)


class FakeBlueZFactory:
    """Starts fake BlueZes for one test and stops them all after it (the conftest fixtures)."""

    def __init__(self, workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self._workdir = workdir
        self._monkeypatch = monkeypatch
        self._started: list[FakeBlueZ] = []

    def __call__(
        self,
        *,
        adapter: str | None = "hci0",
        powered: bool = True,
        bluez: bool = True,
        monitor_api: bool = True,
        deny_bluez: bool = False,
    ) -> FakeBlueZ:
        """A running fake, exported as ``DBUS_SYSTEM_BUS_ADDRESS``, with ``adapter`` (if any)."""
        workdir = self._workdir / f"fake-bluez-{len(self._started)}"
        workdir.mkdir(parents=True)
        fake = FakeBlueZ(workdir, bluez=bluez, monitor_api=monitor_api, deny_bluez=deny_bluez)
        self._started.append(fake)
        fake.start()
        self._monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", fake.address)
        if adapter is not None and bluez:
            fake.add_adapter(adapter, powered=powered)
        return fake

    def close(self) -> None:
        for fake in reversed(self._started):
            fake.stop()
        self._started.clear()
