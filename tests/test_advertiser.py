"""The store's iBeacon for real: dbus-fast exports it, python-dbusmock's bluez5 registers it on a private D-Bus.

The installed python-dbusmock's bluez5 template implements ``LEAdvertisingManager1``
(``RegisterAdvertisement`` / ``UnregisterAdvertisement``, ``ActiveInstances`` /
``SupportedInstances``: 5 instances, ``NotPermitted`` beyond) with the experimental
``SupportedCapabilities`` / ``SupportedFeatures`` properties; nothing is added to it here. Like
bluetoothd, the test reads the advertisement back from the gateway's connection over the bus.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import dbus
import pytest
from dbus_fast import BusType, Message, MessageType
from dbus_fast.aio import MessageBus

from edge.beacons.advert import APPLE_COMPANY_ID
from edge.beacons.advertiser import (
    ADVERT_IFACE,
    MANAGER_IFACE,
    AdvertiseFailureReason,
    AdvertiserError,
    BeaconAdvertiser,
)
from edge.beacons.bleak_backend import BleakSource
from edge.beacons.ibeacon_adv import judge_support, parse_version
from edge.beacons.parse import parse_ibeacon
from edge.config_ios import AdvertiseConfig
from tests.fake_bluez import BLUEZ_BUS_NAME, FakeBlueZ, FakeBlueZFactory
from tests.test_bleak_backend import CARD, IBEACON, take

pytestmark = [pytest.mark.bluez, pytest.mark.timeout(15)]

CONFIG = AdvertiseConfig(uuid="8e1f3c52-6a4d-4b7e-9f10-2c5d7a3b9e41", major=7, minor=1, measured_power_dbm=-61)
TUNABLE = ((5, 66), (6, 1))
"""BlueZ 5.66 on kernel 6.1 (Debian 12): interval and TX power can be set."""
FAST = {"retry_initial_s": 0.02, "retry_max_s": 0.1, "call_timeout_s": 2.0}


def advertiser(**kwargs: Any) -> BeaconAdvertiser:
    return BeaconAdvertiser(kwargs.pop("config", CONFIG), versions=kwargs.pop("versions", TUNABLE), **FAST, **kwargs)


async def bus_call(
    address: str, destination: str, path: str, interface: str, member: str, sig: str, body: list[Any]
) -> Any:
    bus = await MessageBus(bus_address=address, bus_type=BusType.SYSTEM).connect()
    try:
        async with asyncio.timeout(2.0):
            reply = await bus.call(
                Message(
                    destination=destination, path=path, interface=interface, member=member, signature=sig, body=body
                )
            )
    finally:
        bus.disconnect()
    assert reply.message_type is MessageType.METHOD_RETURN, reply.body
    return reply.body[0]


async def exported(fake: FakeBlueZ, adv: BeaconAdvertiser) -> dict[str, Any]:
    """The advertisement's properties, read over the bus from the gateway's connection (as bluetoothd does)."""
    props = await bus_call(
        fake.address, adv.bus_name, adv.path, "org.freedesktop.DBus.Properties", "GetAll", "s", [ADVERT_IFACE]
    )
    return {name: variant.value for name, variant in props.items()}


async def manager(fake: FakeBlueZ) -> dict[str, Any]:
    props = await bus_call(
        fake.address,
        BLUEZ_BUS_NAME,
        "/org/bluez/hci0",
        "org.freedesktop.DBus.Properties",
        "GetAll",
        "s",
        [MANAGER_IFACE],
    )
    return {name: variant.value for name, variant in props.items()}


async def until(condition: Any, within_s: float = 5.0) -> None:
    async with asyncio.timeout(within_s):
        while not condition():  # noqa: ASYNC110 - polling plain attributes
            await asyncio.sleep(0.01)


def restart_bluetoothd(fake: FakeBlueZ) -> None:
    """bluetoothd dies and comes back (a new owner of org.bluez, with its adapter, and no registrations)."""
    mock = fake._mock
    assert mock is not None
    mock.terminate()
    mock.wait(timeout=5)
    conn = dbus.bus.BusConnection(fake.address)
    try:
        deadline = time.monotonic() + 5
        while conn.name_has_owner(BLUEZ_BUS_NAME) and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        conn.close()
    fake._start_mock()
    fake.add_adapter("hci0")


# --- registering --------------------------------------------------------------------------------


async def test_registers_an_ibeacon_the_projects_parser_reads_and_unregisters_on_exit(fake_bluez: FakeBlueZ) -> None:
    async with advertiser() as adv:
        assert adv.registered
        props = await exported(fake_bluez, adv)
        assert props["Type"] == "broadcast"
        assert "LocalName" not in props
        assert "Includes" not in props
        (cid,) = props["ManufacturerData"]
        frame = parse_ibeacon(props["ManufacturerData"][cid].value)
        assert cid == APPLE_COMPANY_ID
        assert (str(frame.uuid), frame.major, frame.minor, frame.measured_power) == (CONFIG.uuid, 7, 1, -61)
        assert (props["MinInterval"], props["MaxInterval"]) == (100, 100)
        assert "TxPower" not in props  # none configured
        assert (await manager(fake_bluez))["ActiveInstances"] == 1
        assert adv.support is not None
        assert adv.support.can_set_interval
        assert "interval and TX power can be set" in adv.support.summary()
    assert not adv.registered
    assert (await manager(fake_bluez))["ActiveInstances"] == 0


async def test_tx_power_where_bluez_allows_it(fake_bluez: FakeBlueZ) -> None:
    async with advertiser(config=AdvertiseConfig(uuid=CONFIG.uuid, major=7, tx_power_dbm=-8)) as adv:
        assert (await exported(fake_bluez, adv))["TxPower"] == -8


@pytest.mark.parametrize(
    ("versions", "why"),
    [
        (((5, 64), (6, 1)), "BlueZ 5.64 is broken"),
        (((5, 63), (6, 1)), "BlueZ 5.63 is broken"),
        (((5, 55), (6, 1)), "older than 5.65"),
        (((5, 66), (5, 10)), "kernel 5.10 is older than 5.11"),
        ((None, (6, 1)), "version is unknown"),
    ],
)
async def test_interval_and_power_left_out_where_bluez_would_not_apply_them(
    fake_bluez: FakeBlueZ, versions: Any, why: str
) -> None:
    config = AdvertiseConfig(uuid=CONFIG.uuid, major=7, tx_power_dbm=-8)
    async with advertiser(config=config, versions=versions) as adv:
        props = await exported(fake_bluez, adv)
        assert not {"MinInterval", "MaxInterval", "TxPower"} & props.keys()
        assert adv.support is not None
        assert why in adv.support.why_fixed
        assert parse_ibeacon(props["ManufacturerData"][APPLE_COMPANY_ID].value).major == 7


def test_support_without_the_experimental_flag_or_a_manager() -> None:
    plain = judge_support({"ActiveInstances": 0, "SupportedInstances": 5}, (5, 66), (6, 1))
    assert not plain.can_set_interval
    assert "--experimental" in plain.why_fixed
    assert not judge_support(None, (5, 66), (6, 1)).manager
    assert parse_version("bluetoothctl: 5.66") == (5, 66)
    assert parse_version("6.1.0-rpi7-rpi-v8") == (6, 1)


# --- scanning and advertising on one adapter ----------------------------------------------------


async def test_scanning_keeps_working_while_advertising(fake_bluez: FakeBlueZ) -> None:
    async with BleakSource(scanner_id="gw-1", adapter="hci0") as source, advertiser() as adv:
        fake_bluez.add_device(CARD, -60, {APPLE_COMPANY_ID: IBEACON})
        for rssi in (-61, -62):
            fake_bluez.advertise(CARD, rssi)
        got = await take(source, 3)
        assert [a.rssi for a in got] == [-60, -61, -62]
        assert adv.registered
        assert (await manager(fake_bluez))["ActiveInstances"] == 1
    # and the other way round: advertising first, then scanning
    async with advertiser() as adv, BleakSource(scanner_id="gw-1") as source:
        fake_bluez.advertise(CARD, -59)
        assert [a.rssi for a in await take(source, 1)] == [-59]
        assert adv.registered


# --- healing ----------------------------------------------------------------------------------


async def test_registers_again_after_bluetoothd_restarts(fake_bluez: FakeBlueZ) -> None:
    async with advertiser() as adv:
        await asyncio.to_thread(restart_bluetoothd, fake_bluez)
        await until(lambda: adv.registrations >= 2 and adv.registered)
        assert (await manager(fake_bluez))["ActiveInstances"] == 1
        props = await exported(fake_bluez, adv)
        assert parse_ibeacon(props["ManufacturerData"][APPLE_COMPANY_ID].value).minor == 1


async def test_registers_again_when_the_adapter_comes_back(fake_bluez: FakeBlueZ) -> None:
    async with advertiser() as adv:
        await asyncio.to_thread(fake_bluez.remove_adapter, "hci0")
        await asyncio.to_thread(fake_bluez.add_adapter, "hci0")
        await until(lambda: adv.registrations >= 2 and adv.registered)
        assert (await manager(fake_bluez))["ActiveInstances"] == 1


# --- failures -------------------------------------------------------------------------------------


def _fill_instances(fake: FakeBlueZ, count: int) -> None:
    conn = dbus.bus.BusConnection(fake.address)
    try:
        manager_iface = dbus.Interface(conn.get_object(BLUEZ_BUS_NAME, "/org/bluez/hci0"), MANAGER_IFACE)
        for i in range(count):
            manager_iface.RegisterAdvertisement(dbus.ObjectPath(f"/other/adv{i}"), dbus.Dictionary({}, signature="sv"))
    finally:
        conn.close()


async def test_no_free_instance_is_reported_with_its_cause(fake_bluez: FakeBlueZ) -> None:
    _fill_instances(fake_bluez, 5)  # another program holds all five
    with pytest.raises(AdvertiserError) as caught:
        async with advertiser(attempts=2):
            pass
    err = caught.value
    assert err.reason is AdvertiseFailureReason.NO_FREE_INSTANCE
    assert "NotPermitted" in str(err)
    assert "second adapter" in str(err)


async def test_no_bluez_and_no_adapter(fake_bluez_factory: FakeBlueZFactory) -> None:
    fake_bluez_factory(bluez=False)
    with pytest.raises(AdvertiserError) as caught:
        async with advertiser(attempts=2):
            pass
    assert caught.value.reason is AdvertiseFailureReason.NO_BLUEZ
    assert "systemctl start bluetooth" in str(caught.value)


async def test_a_named_adapter_that_is_missing(fake_bluez: FakeBlueZ) -> None:
    with pytest.raises(AdvertiserError) as caught:
        async with advertiser(adapter="hci1", attempts=1):
            pass
    assert caught.value.reason is AdvertiseFailureReason.NO_ADAPTER
    assert "hci1" in str(caught.value)


def _wedge(fake: FakeBlueZ, seconds: float) -> None:
    """A StartDiscovery that hangs the whole (single-threaded) mock for ``seconds``: a wedged bluetoothd."""
    fake.stall_start_discovery(seconds)
    conn = dbus.bus.BusConnection(fake.address)
    try:
        adapter = dbus.Interface(conn.get_object(BLUEZ_BUS_NAME, "/org/bluez/hci0"), "org.bluez.Adapter1")
        with contextlib.suppress(dbus.exceptions.DBusException):
            adapter.StartDiscovery(timeout=seconds + 2)
    finally:
        conn.close()


async def test_a_wedged_bluetoothd_is_a_bounded_wait(fake_bluez: FakeBlueZ) -> None:
    wedge = asyncio.create_task(asyncio.to_thread(_wedge, fake_bluez, 2.0))
    await asyncio.to_thread(fake_bluez.wait_stalled)
    started = time.monotonic()
    with pytest.raises(AdvertiserError) as caught:
        async with BeaconAdvertiser(CONFIG, versions=TUNABLE, call_timeout_s=0.3, attempts=1):
            pass
    assert time.monotonic() - started < 1.5
    assert caught.value.reason is AdvertiseFailureReason.TIMEOUT
    assert "restart bluetooth" in str(caught.value)
    await wedge


_REFUSE_WHILE_SCANNING = """
if self.props["org.bluez.Adapter1"]["Discovering"]:
    raise dbus.exceptions.DBusException("Operation failed", name="org.bluez.Error.Failed")
"""


async def test_a_controller_that_cannot_scan_and_advertise_at_once_is_named(
    fake_bluez_factory: FakeBlueZFactory,
) -> None:
    fake = fake_bluez_factory(monitor_api=False)  # active scanning: the adapter is Discovering
    conn = dbus.bus.BusConnection(fake.address)
    try:  # this controller refuses to advertise while it scans (the template's RegisterAdvertisement replaced)
        mock = dbus.Interface(conn.get_object(BLUEZ_BUS_NAME, "/org/bluez/hci0"), "org.freedesktop.DBus.Mock")
        mock.AddMethod(MANAGER_IFACE, "RegisterAdvertisement", "oa{sv}", "", _REFUSE_WHILE_SCANNING)
    finally:
        conn.close()
    async with BleakSource(scanner_id="gw-1", passive=False):
        with pytest.raises(AdvertiserError) as caught:
            async with advertiser(attempts=1):
                pass
    assert caught.value.reason is AdvertiseFailureReason.SCAN_CONFLICT
    assert '[advertise] adapter = "hci1"' in str(caught.value)
    async with advertiser() as adv:  # not scanning: it advertises
        assert adv.registered


# --- edge doctor ----------------------------------------------------------------------------------


async def test_doctor_reports_advertising(fake_bluez: FakeBlueZ) -> None:
    from edge.config import BleConfig, Config
    from edge.ops.checks import check_advertising

    assert (await check_advertising(Config())).status == "skip"
    result = await check_advertising(Config(advertise=CONFIG))
    # bluetoothctl is not the fake's: the version is whatever this machine has, or unknown
    assert result.status in ("ok", "warn")
    assert "5 free advertising instance(s), 0 active" in result.detail
    _fill_instances(fake_bluez, 5)
    full = await check_advertising(Config(advertise=CONFIG))
    assert full.status == "fail"
    assert "0 free" in full.detail
    assert "second adapter" in full.fix
    missing = await check_advertising(Config(advertise=AdvertiseConfig(uuid=CONFIG.uuid, major=7, adapter="hci9")))
    assert (missing.status, missing.detail) == ("fail", "hci9: cannot advertise (no-adapter)")
    replay = Config(advertise=CONFIG, ble=BleConfig(backend="replay", trace="t.jsonl"))
    assert (await check_advertising(replay)).status == "skip"  # as edge run, which does not try without a radio
