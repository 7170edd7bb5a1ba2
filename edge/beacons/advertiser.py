"""The store's iBeacon, broadcast by the gateway through BlueZ: an async context manager that heals itself.

:class:`BeaconAdvertiser` exports an ``org.bluez.LEAdvertisement1`` object on the system bus with
dbus-fast (bleak's own D-Bus library) and registers it with the adapter's
``LEAdvertisingManager1``: type ``broadcast`` (non-connectable), Apple manufacturer data
``02 15`` + UUID + major + minor + measured power, no local name; ``MinInterval`` / ``MaxInterval``
/ ``TxPower`` only where :func:`~edge.beacons.ibeacon_adv.judge_support` says BlueZ applies them.
Scanning on the same adapter is unaffected (BlueZ multiplexes; a controller that cannot do both
fails registration while discovering, reported as :attr:`AdvertiseFailureReason.SCAN_CONFLICT`).

Self-healing: bluetoothd forgets registrations when it restarts (``NameOwnerChanged`` for
``org.bluez``) or the adapter goes away and comes back (``InterfacesAdded``); either wakes the
healer, which registers again with a bounded number of attempts and capped exponential back-off.
A failure is an :class:`AdvertiserError` whose reason and message say what to do; the last one is
kept in :attr:`BeaconAdvertiser.last_error` while the healer waits for the next chance. Every
D-Bus call has a timeout.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import platform
import random
from types import TracebackType
from typing import Annotated, Any, Final, Self

from dbus_fast import AuthError, BusType, Message, MessageType, PropertyAccess, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.annotations import DBusSignature
from dbus_fast.service import ServiceInterface, dbus_method, dbus_property

from edge.backoff import Backoff
from edge.beacons.ibeacon_adv import AdvertisingSupport, BeaconAdvertisement, Version, judge_support, parse_version
from edge.config_ios import AdvertiseConfig
from edge.errors import EdgeError
from edge.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# --- constants ------------------------------------------------------------------------------------

CALL_TIMEOUT_S: Final = 5.0
"""Bound on one D-Bus call to bluetoothd (it answers in milliseconds; a wedged one never)."""
ATTEMPTS: Final = 5
"""Registrations tried per start or per heal before the failure is reported (and the healer waits)."""
RETRY_INITIAL_S: Final = 0.5
RETRY_MAX_S: Final = 15.0
"""Back-off between attempts: bluetoothd takes about a second to re-read its adapters after a restart."""
RETRY_JITTER: Final = 0.2
VERSION_TIMEOUT_S: Final = 2.0
"""Bound on ``bluetoothctl --version``."""
ADVERT_PATH: Final = "/org/instore_edge/beacon0"

BLUEZ: Final = "org.bluez"
MANAGER_IFACE: Final = "org.bluez.LEAdvertisingManager1"
ADVERT_IFACE: Final = "org.bluez.LEAdvertisement1"
_MATCH_RULES: Final = (
    "type='signal',sender='org.freedesktop.DBus',interface='org.freedesktop.DBus',"
    "member='NameOwnerChanged',arg0='org.bluez'",
    "type='signal',sender='org.bluez',interface='org.freedesktop.DBus.ObjectManager'",
)


class AdvertiseFailureReason(enum.Enum):
    """Why the gateway cannot advertise (carried by :class:`AdvertiserError`)."""

    NO_BLUEZ = "no-bluez"
    NO_ADAPTER = "no-adapter"
    NOT_SUPPORTED = "not-supported"
    NO_FREE_INSTANCE = "no-free-instance"
    SCAN_CONFLICT = "scan-conflict"
    PERMISSION = "permission"
    TIMEOUT = "timeout"
    OTHER = "other"


class AdvertiserError(EdgeError):
    """The store's beacon is not on the air; the message says what to do."""

    def __init__(self, message: str, *, reason: AdvertiseFailureReason, adapter: str) -> None:
        self.reason = reason
        self.adapter = adapter
        super().__init__(f"advertising on {adapter}: {message}")


_NEEDS_A_PERSON: Final = frozenset({AdvertiseFailureReason.NOT_SUPPORTED, AdvertiseFailureReason.PERMISSION})

_FIXES: Final = {
    AdvertiseFailureReason.NO_BLUEZ: "bluetoothd is not running: `sudo systemctl start bluetooth`",
    AdvertiseFailureReason.NO_ADAPTER: (
        "no such adapter: check `bluetoothctl list` and [advertise] adapter / ble.adapter"
    ),
    AdvertiseFailureReason.NOT_SUPPORTED: (
        "the adapter or BlueZ has no LE advertising (LEAdvertisingManager1): "
        "use a Bluetooth 4.0+ adapter and BlueZ >= 5.43"
    ),
    AdvertiseFailureReason.NO_FREE_INSTANCE: (
        "no free advertising instance (NotPermitted): another program holds them (`bluetoothctl advertise off`, "
        'another gateway process); stop it, or advertise from a second adapter ([advertise] adapter = "hci1")'
    ),
    AdvertiseFailureReason.SCAN_CONFLICT: (
        "the controller refuses to advertise while it scans: advertise from a second adapter "
        '([advertise] adapter = "hci1") and keep ble.adapter for scanning'
    ),
    AdvertiseFailureReason.PERMISSION: (
        "not allowed to use BlueZ: run as a user in the `bluetooth` group (SupplementaryGroups=bluetooth)"
    ),
    AdvertiseFailureReason.TIMEOUT: "bluetoothd did not answer: `sudo systemctl restart bluetooth`",
}


def _reason_of(error_name: str) -> AdvertiseFailureReason:
    return {
        "org.bluez.Error.NotPermitted": AdvertiseFailureReason.NO_FREE_INSTANCE,
        "org.freedesktop.DBus.Error.AccessDenied": AdvertiseFailureReason.PERMISSION,
        "org.freedesktop.DBus.Error.ServiceUnknown": AdvertiseFailureReason.NO_BLUEZ,
        "org.freedesktop.DBus.Error.NameHasNoOwner": AdvertiseFailureReason.NO_BLUEZ,
        "org.freedesktop.DBus.Error.UnknownObject": AdvertiseFailureReason.NO_ADAPTER,
        "org.freedesktop.DBus.Error.UnknownInterface": AdvertiseFailureReason.NOT_SUPPORTED,
        "org.freedesktop.DBus.Error.UnknownMethod": AdvertiseFailureReason.NOT_SUPPORTED,
    }.get(error_name, AdvertiseFailureReason.OTHER)


def failure(reason: AdvertiseFailureReason, adapter: str, detail: str = "") -> AdvertiserError:
    message = _FIXES.get(reason, f"failed ({detail})")
    if detail and reason is not AdvertiseFailureReason.OTHER:
        message = f"{message} [{detail}]"
    return AdvertiserError(message, reason=reason, adapter=adapter)


# --- the exported object --------------------------------------------------------------------------


class _Advertisement(ServiceInterface):
    """``org.bluez.LEAdvertisement1``: what bluetoothd reads when the advertisement is registered."""

    def __init__(self, advert: BeaconAdvertisement, on_release: Any) -> None:
        super().__init__(ADVERT_IFACE)
        self._advert = advert
        self._on_release = on_release

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> Annotated[str, DBusSignature("s")]:  # noqa: N802 - BlueZ's property names
        return "broadcast"

    @dbus_property(access=PropertyAccess.READ)
    def ManufacturerData(self) -> Annotated[dict[int, Variant], DBusSignature("a{qv}")]:  # noqa: N802
        return {cid: Variant("ay", payload) for cid, payload in self._advert.manufacturer_data.items()}

    @dbus_method()
    def Release(self) -> Annotated[None, DBusSignature("")]:  # noqa: N802
        self._on_release()


class _Interval:
    _advert: BeaconAdvertisement

    @dbus_property(access=PropertyAccess.READ)
    def MinInterval(self) -> Annotated[int, DBusSignature("u")]:  # noqa: N802
        return self._advert.min_interval_ms or 0

    @dbus_property(access=PropertyAccess.READ)
    def MaxInterval(self) -> Annotated[int, DBusSignature("u")]:  # noqa: N802
        return self._advert.max_interval_ms or 0


class _TxPower:
    _advert: BeaconAdvertisement

    @dbus_property(access=PropertyAccess.READ)
    def TxPower(self) -> Annotated[int, DBusSignature("n")]:  # noqa: N802
        return self._advert.tx_power_dbm or 0


class _Tuned(_Interval, _Advertisement):
    pass


class _TunedWithPower(_Interval, _TxPower, _Advertisement):
    pass


def exported_object(advert: BeaconAdvertisement, on_release: Any) -> _Advertisement:
    """The object with exactly the properties that apply (a property BlueZ cannot apply is left out)."""
    if advert.min_interval_ms is None:
        return _Advertisement(advert, on_release)
    if advert.tx_power_dbm is None:
        return _Tuned(advert, on_release)
    return _TunedWithPower(advert, on_release)


# --- versions -------------------------------------------------------------------------------------


async def bluez_version() -> Version | None:
    """BlueZ's version from ``bluetoothctl --version`` (same package as bluetoothd); None if unknown."""
    try:
        proc = await asyncio.create_subprocess_exec(
            "bluetoothctl", "--version", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL
        )
    except OSError:
        return None
    try:
        async with asyncio.timeout(VERSION_TIMEOUT_S):
            out, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    return parse_version(out.decode(errors="replace"))


def kernel_version() -> Version | None:
    return parse_version(platform.release())


# --- the advertiser -------------------------------------------------------------------------------


class BeaconAdvertiser:
    """See the module docstring.

    Args:
        config: ``[advertise]``.
        adapter: the BlueZ adapter (``hci0``).
        versions: (BlueZ, kernel); None: detected (``bluetoothctl --version``, ``uname -r``).
    """

    def __init__(
        self,
        config: AdvertiseConfig,
        *,
        adapter: str = "hci0",
        versions: tuple[Version | None, Version | None] | None = None,
        call_timeout_s: float = CALL_TIMEOUT_S,
        attempts: int = ATTEMPTS,
        retry_initial_s: float = RETRY_INITIAL_S,
        retry_max_s: float = RETRY_MAX_S,
    ) -> None:
        if call_timeout_s <= 0 or attempts < 1:
            raise ValueError("call_timeout_s must be > 0 and attempts >= 1")
        self.config = config
        self.adapter = adapter
        self.adapter_path = f"/org/bluez/{adapter}"
        self.path = ADVERT_PATH
        self._versions = versions
        self._call_timeout_s = call_timeout_s
        self._attempts = attempts
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._bus: MessageBus | None = None
        self._exported: _Advertisement | None = None
        self._wake = asyncio.Event()
        self._healer: asyncio.Task[None] | None = None
        self.registered = False
        self.registrations = 0
        """Successful registrations (the first, then one per heal)."""
        self.support: AdvertisingSupport | None = None
        self.last_error: AdvertiserError | None = None
        self.changed = asyncio.Event()
        """Set whenever ``registered`` or ``last_error`` changes (tests and status wait on it)."""

    @property
    def bus_name(self) -> str:
        """This process's unique name on the system bus (where bluetoothd reads the advertisement)."""
        if self._bus is None or self._bus.unique_name is None:
            raise RuntimeError("the advertiser is not running")
        return self._bus.unique_name

    # --- lifecycle ---------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._versions is None:
            self._versions = (await bluez_version(), kernel_version())
        try:
            await self._connect()
            await self._register_with_retries()
        except BaseException:
            await self._close()
            raise
        self._healer = asyncio.create_task(self._heal(), name=f"edge-advertise-{self.adapter}")
        log.info(
            "advertising the store's iBeacon on %s (%s)", self.adapter, self.support.summary() if self.support else ""
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        healer, self._healer = self._healer, None
        if healer is not None:
            await cancel_and_wait(healer)
        if self.registered:
            try:
                await self._call(self.adapter_path, MANAGER_IFACE, "UnregisterAdvertisement", "o", [self.path])
            except AdvertiserError as err:
                log.info("unregistering the advertisement: %s", err)  # bluetoothd may be gone already
            self._set_registered(False)
        await self._close()

    async def _connect(self) -> None:
        from bleak.backends.bluezdbus.utils import get_dbus_authenticator

        bus = MessageBus(bus_type=BusType.SYSTEM, auth=get_dbus_authenticator())
        try:
            async with asyncio.timeout(self._call_timeout_s):
                await bus.connect()
        except (AuthError, PermissionError) as err:
            raise failure(AdvertiseFailureReason.PERMISSION, self.adapter, type(err).__name__) from err
        except (OSError, TimeoutError) as err:
            raise failure(AdvertiseFailureReason.NO_BLUEZ, self.adapter, f"no system bus: {err}") from err
        self._bus = bus
        bus.add_message_handler(self._on_message)
        for rule in _MATCH_RULES:
            await self._call(
                "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s", [rule], "org.freedesktop.DBus"
            )

    async def _close(self) -> None:
        bus, self._bus = self._bus, None
        if bus is None:
            return
        bus.remove_message_handler(self._on_message)
        if self._exported is not None:
            bus.unexport(self.path)
            self._exported = None
        bus.disconnect()

    # --- D-Bus -------------------------------------------------------------------------------------

    async def _call(
        self, path: str, interface: str, member: str, signature: str, body: list[Any], destination: str = BLUEZ
    ) -> list[Any]:
        bus = self._bus
        if bus is None:
            raise RuntimeError("the advertiser is not connected")
        message = Message(
            destination=destination, path=path, interface=interface, member=member, signature=signature, body=body
        )
        try:
            async with asyncio.timeout(self._call_timeout_s):
                reply = await bus.call(message)
        except TimeoutError:
            raise failure(AdvertiseFailureReason.TIMEOUT, self.adapter, f"{member} timed out") from None
        if reply.message_type is MessageType.ERROR:
            name = reply.error_name or "org.freedesktop.DBus.Error.Failed"
            detail = f"{name}: {reply.body[0] if reply.body else ''}"
            raise failure(_reason_of(name), self.adapter, detail)
        return list(reply.body)

    def _on_message(self, message: Message) -> None:
        if message.message_type is not MessageType.SIGNAL:
            return
        if message.member == "NameOwnerChanged" and message.body and message.body[0] == BLUEZ:
            self._set_registered(False)  # a new (or no) bluetoothd has no registration of ours
            if message.body[2]:
                log.info("bluetoothd (re)started: registering the advertisement again")
                self._wake.set()
        elif message.member == "InterfacesAdded" and message.body and message.body[0] == self.adapter_path:
            log.info("adapter %s appeared: registering the advertisement again", self.adapter)
            self._set_registered(False)
            self._wake.set()
        elif message.member == "InterfacesRemoved" and message.body and message.body[0] == self.adapter_path:
            self._set_registered(False)

    def _on_release(self) -> None:
        log.info("bluetoothd released the advertisement on %s", self.adapter)
        self._set_registered(False)

    def _set_registered(self, registered: bool) -> None:
        if self.registered != registered:
            self.registered = registered
            self.changed.set()

    # --- registering -------------------------------------------------------------------------------

    async def read_support(self) -> AdvertisingSupport:
        """The manager's properties judged with the versions (no manager: ``manager`` False)."""
        try:
            (props,) = await self._call(
                self.adapter_path, "org.freedesktop.DBus.Properties", "GetAll", "s", [MANAGER_IFACE]
            )
        except AdvertiserError as err:
            if err.reason not in (AdvertiseFailureReason.OTHER, AdvertiseFailureReason.NOT_SUPPORTED):
                raise
            props = None  # GetAll of an interface the adapter lacks: InvalidArgs (bluetoothd), UnknownInterface
        plain = {name: value.value for name, value in props.items()} if props else None
        bluez, kernel = self._versions or (None, None)
        return judge_support(plain, bluez, kernel)

    async def _register_once(self) -> None:
        support = await self.read_support()
        if not support.manager:
            raise failure(AdvertiseFailureReason.NOT_SUPPORTED, self.adapter)
        advert = BeaconAdvertisement.build(self.config, support)
        bus = self._bus
        assert bus is not None
        if self._exported is not None:
            bus.unexport(self.path)
        self._exported = exported_object(advert, self._on_release)
        bus.export(self.path, self._exported)
        fresh = True
        try:
            await self._call(self.adapter_path, MANAGER_IFACE, "RegisterAdvertisement", "oa{sv}", [self.path, {}])
        except AdvertiserError as err:
            if "org.bluez.Error.AlreadyExists" not in str(err):
                if err.reason is AdvertiseFailureReason.OTHER and await self._discovering():
                    raise failure(AdvertiseFailureReason.SCAN_CONFLICT, self.adapter, str(err)) from err
                raise
            fresh = False  # two wake-ups for one restart: bluetoothd has it already
        self.support = support
        self.registrations += fresh
        self.last_error = None
        self._set_registered(True)

    async def _discovering(self) -> bool:
        try:
            (value,) = await self._call(
                self.adapter_path, "org.freedesktop.DBus.Properties", "Get", "ss", ["org.bluez.Adapter1", "Discovering"]
            )
        except AdvertiserError:
            return False
        return bool(value.value)

    async def _register_with_retries(self) -> None:
        backoff = Backoff(self._retry_initial_s, self._retry_max_s, RETRY_JITTER, random.Random())  # noqa: S311 - jitter
        for attempt in range(1, self._attempts + 1):
            try:
                await self._register_once()
            except AdvertiserError as err:
                self.last_error = err
                self.changed.set()
                if attempt == self._attempts or err.reason in _NEEDS_A_PERSON:
                    raise
                pause = backoff.next_delay()
                log.warning(
                    "advertising attempt %d on %s failed: %s; retrying in %.1f s", attempt, self.adapter, err, pause
                )
                await asyncio.sleep(pause)
            else:
                return

    async def _heal(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._register_with_retries()
            except AdvertiserError as err:
                log.error("%s (waiting for bluetoothd or the adapter to come back)", err)
            else:
                log.info("advertising again on %s (registration %d)", self.adapter, self.registrations)


async def probe_support(
    config: AdvertiseConfig, adapter: str, *, timeout_s: float = CALL_TIMEOUT_S
) -> AdvertisingSupport:
    """What the adapter allows, without registering anything (``edge doctor``); raises :class:`AdvertiserError`."""
    probe = BeaconAdvertiser(config, adapter=adapter, call_timeout_s=timeout_s)
    probe._versions = (await bluez_version(), kernel_version())
    try:
        await probe._connect()
        return await probe.read_support()
    finally:
        await probe._close()
