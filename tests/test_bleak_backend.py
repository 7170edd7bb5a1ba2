"""The bleak backend for real: bleak's own BlueZ code, unmodified, against a fake BlueZ on a private D-Bus."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from edge.beacons.advert import APPLE_COMPANY_ID, EDDYSTONE_UUID, Advertisement
from edge.beacons.bleak_backend import BleakSource
from edge.beacons.record import AddressPseudonyms, record
from edge.beacons.source import Feed, SourceCounters
from edge.errors import ScannerError, ScannerFailureReason
from edge.tasks import cancel_and_wait
from edge.trace import TraceReader
from tests.fake_bluez import FakeBlueZ, FakeBlueZFactory

CARD = "C4:7C:8D:6A:3B:01"
"""A loyalty card (iBeacon)."""
TAG = "D9:12:34:56:78:02"
"""An Eddystone-UID tag."""
PHONE = "5A:0B:0C:0D:0E:03"
"""Somebody's phone, not on the roster."""

IBEACON = bytes.fromhex("0215f7826da64fa24e988024bc5b71e0893e00010002c5")
EDDYSTONE_UID = bytes.fromhex("00e7edd1ebeac04e5defa0170badc0ffee010000")

RETRY_S = 0.01
"""Back-off for tests: a retry ladder in milliseconds (``retry_initial_s``)."""

pytestmark = [pytest.mark.bluez, pytest.mark.timeout(10)]


async def take(source: BleakSource, count: int, *, within_s: float = 3.0) -> list[Advertisement]:
    """The next ``count`` advertisements, or a failure after ``within_s``."""
    got: list[Advertisement] = []
    async with asyncio.timeout(within_s), contextlib.aclosing(aiter(source)) as items:
        async for item in items:
            got.append(item)
            if len(got) == count:
                break
    return got


async def until(condition: Callable[[], bool], *, within_s: float = 3.0) -> None:
    async with asyncio.timeout(within_s):
        while not condition():  # noqa: ASYNC110 - polling the source's plain int counters
            await asyncio.sleep(0.01)


async def start_error(**kwargs: Any) -> ScannerError:
    with pytest.raises(ScannerError) as caught:
        async with BleakSource(scanner_id="gw-1", retry_initial_s=RETRY_S, **kwargs):
            pass
    return caught.value


# --- advertisements ------------------------------------------------------------------------


async def test_ibeacon_and_eddystone_arrive_with_their_fields(
    fake_bluez: FakeBlueZ, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with BleakSource(scanner_id="gw-1") as source:
        before = time.time()
        fake_bluez.add_device(CARD, -61, {APPLE_COMPANY_ID: IBEACON}, tx_power=4)
        fake_bluez.add_device(
            TAG,
            -70,
            service_data={EDDYSTONE_UUID.upper(): EDDYSTONE_UID},
            name="tag",
            service_uuids=("0000FEAA-0000-1000-8000-00805F9B34FB",),
        )
        card, tag = await take(source, 2)
        after = time.time()

    assert source.mode == "passive"  # the template offers AdvertisementMonitorManager1
    assert card == Advertisement(
        at=card.at,
        scanner="gw-1",
        address=CARD,
        rssi=-61,
        tx_power=4,
        local_name=None,
        manufacturer_data={APPLE_COMPANY_ID: IBEACON},
        service_data={},
        service_uuids=(),
    )
    assert before <= card.at <= tag.at <= after
    assert tag.address == TAG
    assert tag.rssi == -70
    assert tag.local_name == "tag"
    assert tag.manufacturer_data == {}
    assert tag.service_data == {EDDYSTONE_UUID: EDDYSTONE_UID}  # keys lower-case
    assert tag.service_uuids == (EDDYSTONE_UUID,)
    assert source.counters.adverts == 2
    # the device address is never logged, by us or (held at INFO) by bleak
    assert caplog.records, "expected adapter-level log lines"
    for address in (CARD, TAG):
        assert address not in caplog.text
        assert address.replace(":", "_") not in caplog.text


async def test_rssi_updates_arrive_as_new_advertisements(fake_bluez: FakeBlueZ) -> None:
    async with BleakSource(scanner_id="gw-2") as source:
        fake_bluez.add_device(CARD, -80, {APPLE_COMPANY_ID: IBEACON})
        for rssi in (-75, -68, -62):
            fake_bluez.advertise(CARD, rssi)
        adverts = await take(source, 4)

    assert [a.rssi for a in adverts] == [-80, -75, -68, -62]
    assert {a.scanner for a in adverts} == {"gw-2"}
    # BlueZ reports the device's current data with every update: the payload stays
    assert all(a.manufacturer_data == {APPLE_COMPANY_ID: IBEACON} for a in adverts)


async def test_rssi_invalidation_is_not_an_advertisement(fake_bluez: FakeBlueZ) -> None:
    async with BleakSource(scanner_id="gw-1") as source:
        fake_bluez.add_device(CARD, -80, {APPLE_COMPANY_ID: IBEACON}, tx_power=4)
        fake_bluez.stop_foreign_discovery(CARD)
        fake_bluez.advertise(CARD, -75)
        adverts = await take(source, 2)

    assert [(a.rssi, a.tx_power) for a in adverts] == [(-80, 4), (-75, None)]
    assert source.counters.adverts == 2


async def test_changed_payloads_are_reported(fake_bluez: FakeBlueZ) -> None:
    rotated = bytes.fromhex("30e7") + bytes(range(8))  # an Eddystone-EID frame
    async with BleakSource(scanner_id="gw-1") as source:
        fake_bluez.add_device(TAG, -70, service_data={EDDYSTONE_UUID: EDDYSTONE_UID})
        fake_bluez.advertise(TAG, -71, service_data={EDDYSTONE_UUID: rotated})
        first, second = await take(source, 2)

    assert first.service_data == {EDDYSTONE_UUID: EDDYSTONE_UID}
    assert second.service_data == {EDDYSTONE_UUID: rotated}


async def test_active_scanning_when_passive_is_not_available(fake_bluez_factory: FakeBlueZFactory) -> None:
    fake = fake_bluez_factory(monitor_api=False)  # BlueZ without --experimental
    async with BleakSource(scanner_id="gw-1", adapter="hci0") as source:
        assert source.mode == "active"
        fake.add_device(CARD, -60, {APPLE_COMPANY_ID: IBEACON})
        fake.advertise(CARD, -58)
        adverts = await take(source, 2)

    assert [a.rssi for a in adverts] == [-60, -58]


async def test_active_only_when_asked(fake_bluez: FakeBlueZ) -> None:
    async with BleakSource(scanner_id="gw-1", passive=False) as source:
        assert source.mode == "active"
        fake_bluez.add_device(CARD, -60, {APPLE_COMPANY_ID: IBEACON})
        assert len(await take(source, 1)) == 1


# --- self-healing --------------------------------------------------------------------------


async def _repeat(fake: FakeBlueZ, address: str, *, every_s: float) -> None:
    while True:
        fake.advertise(address, -60)
        await asyncio.sleep(every_s)


@pytest.mark.parametrize("monitor_api", [True, False], ids=["passive", "active"])
async def test_watchdog_restarts_a_silent_scanner(fake_bluez_factory: FakeBlueZFactory, monitor_api: bool) -> None:
    fake = fake_bluez_factory(monitor_api=monitor_api)
    async with BleakSource(scanner_id="gw-1", watchdog_s=0.2, retry_initial_s=RETRY_S) as source:
        await until(lambda: source.counters.restarts >= 2)
        # the restarted scanner still hears (a beacon repeats itself: an advert that falls into
        # the gap between a stop and the next start is lost, as with a real adapter)
        fake.add_device(CARD, -60, {APPLE_COMPANY_ID: IBEACON})
        beacon = asyncio.create_task(_repeat(fake, CARD, every_s=0.05))
        try:
            assert {a.address for a in await take(source, 3)} == {CARD}
        finally:
            beacon.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beacon
        assert source.mode == ("passive" if monitor_api else "active")


async def test_watchdog_leaves_a_busy_scanner_alone(fake_bluez: FakeBlueZ) -> None:
    # an advert every 0.05 s for two watchdog periods; the period is 1 s, not 0.5 s, so a loaded
    # machine's pause between two of the (blocking) D-Bus calls that send them is no silence
    async with BleakSource(scanner_id="gw-1", watchdog_s=1.0) as source:
        fake_bluez.add_device(CARD, -60, {APPLE_COMPANY_ID: IBEACON})
        deadline = time.monotonic() + 2.2
        while time.monotonic() < deadline:
            fake_bluez.advertise(CARD, -60)
            await asyncio.sleep(0.05)
        assert source.counters.restarts == 0
        assert source.counters.adverts >= 10


async def test_transient_start_failures_are_retried(fake_bluez_factory: FakeBlueZFactory) -> None:
    fake = fake_bluez_factory(monitor_api=False)
    fake.fail_start_discovery(2)
    async with BleakSource(scanner_id="gw-1", start_attempts=3, retry_initial_s=RETRY_S) as source:
        assert source.mode == "active"
        fake.add_device(CARD, -60, {APPLE_COMPANY_ID: IBEACON})
        assert len(await take(source, 1)) == 1


async def test_transient_failures_give_up_after_the_attempts(fake_bluez_factory: FakeBlueZFactory) -> None:
    fake = fake_bluez_factory(monitor_api=False)
    fake.fail_start_discovery(5)
    err = await start_error(start_attempts=2)
    assert err.reason is ScannerFailureReason.OTHER
    assert "org.bluez.Error.Failed" in str(err)


async def test_start_is_bounded(fake_bluez_factory: FakeBlueZFactory) -> None:
    fake = fake_bluez_factory(monitor_api=False)
    fake.stall_start_discovery(3.0)  # a wedged bluetoothd
    started = time.monotonic()
    err = await start_error(start_timeout_s=0.2, start_attempts=1)
    assert time.monotonic() - started < 1.5
    assert err.reason is ScannerFailureReason.START_TIMEOUT
    assert "restart bluetooth.service" in str(err)


# --- failures that need a person -----------------------------------------------------------


async def test_powered_off_adapter(fake_bluez_factory: FakeBlueZFactory) -> None:
    fake_bluez_factory(powered=False)
    err = await start_error()
    assert err.reason is ScannerFailureReason.POWERED_OFF
    assert "bluetoothctl power on" in str(err)
    assert "rfkill unblock bluetooth" in str(err)


@pytest.mark.parametrize("passive", [True, False])
async def test_powered_off_named_adapter(fake_bluez_factory: FakeBlueZFactory, passive: bool) -> None:
    fake_bluez_factory(powered=False)
    err = await start_error(adapter="hci0", passive=passive)
    assert err.reason is ScannerFailureReason.POWERED_OFF
    assert "hci0" in str(err)
    assert "bluetoothctl power on" in str(err)


async def test_no_adapter(fake_bluez_factory: FakeBlueZFactory) -> None:
    fake_bluez_factory(adapter=None)
    err = await start_error()
    assert err.reason is ScannerFailureReason.NO_ADAPTER
    assert "plug in a USB adapter" in str(err)
    assert "`bluetoothctl list`" in str(err)


async def test_named_adapter_missing(fake_bluez: FakeBlueZ) -> None:
    err = await start_error(adapter="hci1")
    assert err.reason is ScannerFailureReason.NO_ADAPTER
    assert "hci1" in str(err)
    assert "`bluetoothctl list`" in str(err)


async def test_denied_by_dbus_policy(fake_bluez_factory: FakeBlueZFactory) -> None:
    fake_bluez_factory(deny_bluez=True)
    err = await start_error()
    assert err.reason is ScannerFailureReason.PERMISSION
    assert "`bluetooth` group" in str(err)
    assert "SupplementaryGroups=bluetooth" in str(err)


async def test_bluez_not_running(fake_bluez_factory: FakeBlueZFactory) -> None:
    fake_bluez_factory(bluez=False)
    err = await start_error()
    assert err.reason is ScannerFailureReason.NO_BLUEZ
    assert "start bluetooth.service" in str(err)


async def test_no_system_bus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/edge-test/system_bus_socket")
    err = await start_error()
    assert err.reason is ScannerFailureReason.NO_BLUEZ
    assert "dbus.service" in str(err)


# --- back-pressure -------------------------------------------------------------------------


async def test_queue_overflow_is_counted(fake_bluez: FakeBlueZ) -> None:
    async with BleakSource(scanner_id="gw-1", queue_max=5) as source:
        fake_bluez.add_device(CARD, -60, {APPLE_COMPANY_ID: IBEACON})
        for i in range(19):
            fake_bluez.advertise(CARD, -61 - i)
        await until(lambda: source.counters.adverts == 20)
        kept = await take(source, 5)

    assert source.counters.queue_drops == 15
    assert [a.rssi for a in kept] == [-60, -61, -62, -63, -64]  # the oldest are kept, the rest dropped


async def test_a_feed_that_refuses_an_advert_gets_nothing_built_for_it(fake_bluez: FakeBlueZ) -> None:
    """The pipeline's feed asks before an advertisement is built (edge.core.Core.admits): a refused
    one (a phone nobody rostered) is counted by the source as heard and goes no further."""
    asked: list[tuple[dict[int, bytes], dict[str, bytes]]] = []

    def admit(manufacturer_data: Any, service_data: Any, at: float) -> bool:
        asked.append((dict(manufacturer_data), dict(service_data)))
        assert abs(at - time.time()) < 5.0  # the time it was heard
        return APPLE_COMPANY_ID in manufacturer_data

    feed = Feed(nudge=lambda: None, wake=lambda: None, counters=SourceCounters(), limit=100, admit=admit)
    async with BleakSource(scanner_id="gw-1") as source:
        pump = asyncio.create_task(source.pump(feed))
        await until(lambda: source._feed is feed)
        fake_bluez.add_device(PHONE, -70, {0x0075: bytes.fromhex("1005010203")})
        fake_bluez.add_device(CARD, -60, {APPLE_COMPANY_ID: IBEACON})
        await until(lambda: len(asked) >= 2 and len(feed) >= 1)
        await cancel_and_wait(pump)

    assert [a.address for a in feed.take() if isinstance(a, Advertisement)] == [CARD]
    assert ({0x0075: bytes.fromhex("1005010203")}, {}) in asked
    assert source.counters.adverts == len(asked)


async def test_the_feeds_question_is_asked_before_bleak_builds_anything(fake_bluez: FakeBlueZ) -> None:
    """With a feed asking, the question comes before bleak's own handling (BleakSource._ask_first,
    on bleak's BlueZ handler: the pinned bleak has it where this expects): a refused phone is
    counted as heard but bleak builds and records nothing for it; an admitted card or tag is asked
    once and arrives as before (service data keys lower case); an RSSI invalidation is neither
    asked about nor counted."""
    asked: list[tuple[dict[int, bytes], dict[str, bytes]]] = []

    def admit(manufacturer_data: Any, service_data: Any, at: float) -> bool:
        asked.append((dict(manufacturer_data), dict(service_data)))
        return APPLE_COMPANY_ID in manufacturer_data or EDDYSTONE_UUID in service_data

    feed = Feed(nudge=lambda: None, wake=lambda: None, counters=SourceCounters(), limit=100, admit=admit)
    async with BleakSource(scanner_id="gw-1") as source:
        assert source.asks_first
        pump = asyncio.create_task(source.pump(feed))
        await until(lambda: source._feed is feed)
        fake_bluez.add_device(PHONE, -70, {0x0075: bytes.fromhex("1005010203")})
        fake_bluez.add_device(CARD, -60, {APPLE_COMPANY_ID: IBEACON})
        fake_bluez.add_device(TAG, -65, service_data={EDDYSTONE_UUID.upper(): EDDYSTONE_UID})
        await until(lambda: len(feed) == 2 and len(asked) == 3)
        fake_bluez.stop_foreign_discovery(PHONE)
        fake_bluez.stop_foreign_discovery(CARD)
        fake_bluez.advertise(PHONE, -71)
        await until(lambda: len(asked) == 4)
        assert source._scanner is not None
        built = {device.address for device in source._scanner.discovered_devices}
        await cancel_and_wait(pump)

    items = [a for a in feed.take() if isinstance(a, Advertisement)]
    assert [a.address for a in items] == [CARD, TAG]
    assert items[1].service_data == {EDDYSTONE_UUID: EDDYSTONE_UID}
    assert asked.count(({0x0075: bytes.fromhex("1005010203")}, {})) == 2
    assert ({}, {EDDYSTONE_UUID: EDDYSTONE_UID}) in asked
    assert source.counters.adverts == len(asked) == 4  # the invalidations: not adverts
    assert built == {CARD, TAG}  # bleak built nothing for the phone


@pytest.mark.parametrize("ask_first", [True, False])
async def test_a_feeds_question_asked_first_or_in_the_callback_hands_over_the_same(
    fake_bluez: FakeBlueZ, monkeypatch: pytest.MonkeyPatch, ask_first: bool
) -> None:
    """The question asked before bleak's handling or in bleak's callback (BleakSource.ASK_FIRST, the
    split benchmark's variants): the same adverts handed over, the same counts."""
    monkeypatch.setattr(BleakSource, "ASK_FIRST", ask_first)
    feed = Feed(
        nudge=lambda: None,
        wake=lambda: None,
        counters=SourceCounters(),
        limit=100,
        admit=lambda manufacturer_data, _service, _at: APPLE_COMPANY_ID in manufacturer_data,
    )
    async with BleakSource(scanner_id="gw-1") as source:
        assert source.asks_first is ask_first
        pump = asyncio.create_task(source.pump(feed))
        await until(lambda: source._feed is feed)
        fake_bluez.add_device(PHONE, -70, {0x0075: bytes.fromhex("1005010203")})
        fake_bluez.add_device(CARD, -60, {APPLE_COMPANY_ID: IBEACON})
        for rssi in (-61, -62):
            fake_bluez.advertise(PHONE, rssi)
            fake_bluez.advertise(CARD, rssi)
        await until(lambda: source.counters.adverts == 6)
        await cancel_and_wait(pump)

    assert [(a.address, a.rssi) for a in feed.take() if isinstance(a, Advertisement)] == [
        (CARD, -60),
        (CARD, -61),
        (CARD, -62),
    ]


# --- edge record ---------------------------------------------------------------------------


def test_pseudonyms_are_stable_per_key_and_look_random_static() -> None:
    one, other = AddressPseudonyms(b"k" * 32), AddressPseudonyms(b"j" * 32)
    assert one(CARD) == one(CARD.lower())
    assert one(CARD) != one(TAG)
    assert one(CARD) != other(CARD)
    assert re.fullmatch(r"[C-F][0-9A-F](:[0-9A-F]{2}){5}", one(CARD))  # top two bits set


async def _advertise_for(fake: FakeBlueZ, seconds: float) -> None:
    fake.add_device(CARD, -60, {APPLE_COMPANY_ID: IBEACON})
    fake.add_device(PHONE, -50, {0x0006: b"\x01\x09\x20\x02"})
    deadline = time.monotonic() + seconds
    rssi = -60
    while time.monotonic() < deadline:
        rssi = -60 if rssi < -70 else rssi - 1
        fake.advertise(CARD, rssi)
        fake.advertise(PHONE, rssi)
        await asyncio.sleep(0.02)


async def test_record_writes_a_trace_without_real_addresses(fake_bluez: FakeBlueZ, tmp_path: Path) -> None:
    out = tmp_path / "store.jsonl"
    source = BleakSource(scanner_id="gw-7")
    producer = asyncio.create_task(_advertise_for(fake_bluez, 0.8))
    lines = await record(out, 1.0, source, keep=lambda a: APPLE_COMPANY_ID in a.manufacturer_data)
    await producer

    raw = out.read_bytes()
    assert raw.count(b"\n") == lines
    for address in (CARD, PHONE):
        for form in (address, address.lower(), address.replace(":", "_"), address.replace(":", "")):
            assert form.encode() not in raw
    # TraceReader.open() leaves its file to the garbage collector (a ResourceWarning here)
    reader = TraceReader(iter(raw.splitlines(keepends=True)), path=str(out))
    start = reader.read_header()
    items = list(reader)
    assert len(items) == lines - 1 >= 10
    adverts = [item for item in items if isinstance(item, Advertisement)]
    assert adverts == items
    assert {a.scanner for a in adverts} == {"gw-7"}
    assert {a.manufacturer_data[APPLE_COMPANY_ID] for a in adverts} == {IBEACON}  # the phone was not kept
    (pseudonym,) = {a.address for a in adverts}  # one device, one stable pseudonym
    assert re.fullmatch(r"[C-F][0-9A-F](:[0-9A-F]{2}){5}", pseudonym)
    assert all(0 <= a.at - start <= 1.5 for a in adverts)
    assert source.counters.adverts > len(adverts)


async def test_record_fails_with_the_scanner_error(fake_bluez_factory: FakeBlueZFactory, tmp_path: Path) -> None:
    fake_bluez_factory(powered=False)
    out = tmp_path / "never.jsonl"
    with pytest.raises(ScannerError, match="bluetoothctl power on"):
        await record(out, 1.0, BleakSource(scanner_id="gw-1"), keep=lambda a: True)
    assert not out.exists()
