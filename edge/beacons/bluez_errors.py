"""What a failure of bleak, BlueZ or D-Bus means, in words that say what to do, and the adapter probe.

:func:`scanner_error` turns any exception of a scanner's start (bleak's "Bluetooth not available",
a D-Bus error name, a refused socket, a timeout) into a :class:`~edge.errors.ScannerError` with a
:class:`~edge.errors.ScannerFailureReason` and a message naming the command that fixes it;
:func:`probe_adapter` checks that a named adapter exists and is powered, which bleak checks only for
the default one. Used by the bleak backend (:mod:`edge.beacons.bleak_backend`) and ``edge doctor``.
"""

from __future__ import annotations

from bleak.exc import (
    BleakBluetoothNotAvailableError,
    BleakBluetoothNotAvailableReason,
    BleakDBusError,
)
from dbus_fast import AuthError, BusType, Message, MessageType
from dbus_fast.aio import MessageBus

from edge.errors import ScannerError, ScannerFailureReason

_DBUS_ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
_DBUS_NO_SERVICE = frozenset({"org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NameHasNoOwner"})
_DBUS_NO_OBJECT = frozenset({"org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownMethod"})
_BLUEZ_NOT_READY = "org.bluez.Error.NotReady"


def adapter_label(adapter: str | None) -> str:
    """How messages name the adapter: ``adapter hci1``, or ``the default adapter``."""
    return f"adapter {adapter}" if adapter else "the default adapter"


def scanner_error(err: BaseException, *, adapter: str | None, start_timeout_s: float) -> ScannerError:
    """The :class:`ScannerError` for a failure of bleak, BlueZ or D-Bus, with what to do about it."""
    label = adapter_label(adapter)
    reason = ScannerFailureReason.OTHER
    detail = str(err) or type(err).__name__
    if isinstance(err, BleakBluetoothNotAvailableError):
        reason = {
            BleakBluetoothNotAvailableReason.NO_BLUETOOTH: ScannerFailureReason.NO_ADAPTER,
            BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE: ScannerFailureReason.NO_ADAPTER,
            BleakBluetoothNotAvailableReason.POWERED_OFF: ScannerFailureReason.POWERED_OFF,
            BleakBluetoothNotAvailableReason.DENIED_BY_SYSTEM: ScannerFailureReason.PERMISSION,
            BleakBluetoothNotAvailableReason.DENIED_BY_USER: ScannerFailureReason.PERMISSION,
            BleakBluetoothNotAvailableReason.DENIED_BY_UNKNOWN: ScannerFailureReason.PERMISSION,
        }.get(err.reason, ScannerFailureReason.OTHER)
        detail = str(err.args[0])
        if err.reason is BleakBluetoothNotAvailableReason.NO_BLE_CENTRAL_ROLE:
            return ScannerError(
                "no Bluetooth adapter that can scan for BLE (central role): plug in a Bluetooth 4.0+ USB "
                "adapter or enable the on-board one (dtoverlay), then `bluetoothctl list`",
                reason=reason,
            )
    elif isinstance(err, BleakDBusError):
        detail = err.dbus_error
        if err.dbus_error == _DBUS_ACCESS_DENIED:
            reason = ScannerFailureReason.PERMISSION
        elif err.dbus_error in _DBUS_NO_SERVICE:
            reason = ScannerFailureReason.NO_BLUEZ
        elif err.dbus_error == _BLUEZ_NOT_READY:
            reason = ScannerFailureReason.POWERED_OFF
        elif err.dbus_error in _DBUS_NO_OBJECT:
            reason = ScannerFailureReason.NO_ADAPTER
    elif isinstance(err, AuthError | PermissionError):
        reason = ScannerFailureReason.PERMISSION
    elif isinstance(err, FileNotFoundError | ConnectionRefusedError):
        return ScannerError(
            f"cannot reach the D-Bus system bus ({detail}): start dbus.service, then bluetooth.service "
            "(`sudo systemctl start bluetooth`)",
            reason=ScannerFailureReason.NO_BLUEZ,
        )
    elif isinstance(err, TimeoutError):
        return ScannerError(
            f"BlueZ did not start scanning on {label} within {start_timeout_s:g} s: restart "
            "bluetooth.service (`sudo systemctl restart bluetooth`) or replug the adapter",
            reason=ScannerFailureReason.START_TIMEOUT,
        )
    message = {
        ScannerFailureReason.NO_ADAPTER: (
            f"no Bluetooth adapter found ({label}): plug in a USB adapter or enable the on-board one "
            "(dtoverlay), then `bluetoothctl list`"
        ),
        ScannerFailureReason.POWERED_OFF: (
            f"the Bluetooth adapter is powered off ({label}): run `bluetoothctl power on`, and "
            "`rfkill unblock bluetooth` if it is blocked"
        ),
        ScannerFailureReason.PERMISSION: (
            f"not allowed to use BlueZ ({detail}): run as a user in the `bluetooth` group or add the D-Bus "
            "policy; under systemd add SupplementaryGroups=bluetooth"
        ),
        ScannerFailureReason.NO_BLUEZ: (
            "BlueZ (bluetoothd) is not running: start bluetooth.service (`sudo systemctl start bluetooth`)"
        ),
    }.get(reason, f"BLE scanning on {label} failed: {detail}")
    return ScannerError(message, reason=reason)


async def probe_adapter(adapter: str) -> None:
    """Fails unless ``/org/bluez/{adapter}`` exists and is powered.

    bleak checks this only for the default adapter; for a named one it would start scanning on a
    powered-off adapter (passive: silently nothing) or fail with a bare "not found".
    """
    from bleak.backends.bluezdbus.utils import get_dbus_authenticator

    bus = MessageBus(bus_type=BusType.SYSTEM, auth=get_dbus_authenticator())
    try:
        await bus.connect()
        reply = await bus.call(
            Message(
                destination="org.bluez",
                path=f"/org/bluez/{adapter}",
                interface="org.freedesktop.DBus.Properties",
                member="Get",
                signature="ss",
                body=["org.bluez.Adapter1", "Powered"],
            )
        )
    finally:
        bus.disconnect()
    if reply.message_type is MessageType.ERROR:
        raise BleakDBusError(reply.error_name or "org.freedesktop.DBus.Error.Failed", reply.body)
    if not reply.body[0].value:
        raise BleakBluetoothNotAvailableError(
            f"adapter {adapter} is powered off", BleakBluetoothNotAvailableReason.POWERED_OFF
        )
