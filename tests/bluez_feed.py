"""A crowd of advertisers for the fake BlueZ (tests/fake_bluez.py), and a paced feed of their adverts.

:class:`Crowd` is a store at a given advert rate: rostered shoppers (the simulated store's: the app's
Eddystone-EID at 4 Hz, every fourth one a loyalty card's iBeacon at 2 Hz) making up ~10 % of the
adverts, and unrostered phones at 1 Hz making up the rest (a third each: other companies'
manufacturer data, iBeacons of other UUIDs, Eddystone-EIDs of nobody on the roster). The
population of a lower rate is a prefix of a higher rate's, so one set of fake devices serves every
rate. Its schedule repeats every second; :meth:`Crowd.rssi` is the radio model (a rostered shopper
is near a scanner for 40 s of every minute, then away for 20 s; phones anywhere from -95 to -55 dBm).

``python -m tests.bluez_feed ADDRESS SEED START RATE`` (:func:`feed`) plays the crowd at ``RATE``
adverts/s onto the bus at ``ADDRESS`` as bluetoothd does: one ``PropertiesChanged`` signal (a new
``RSSI``) per advert on the device's object path. It sends the signals itself rather than through
the mock's ``UpdateProperties``: that is a blocking round trip with a ``MethodCalled`` signal and a
log line per advert, about 3,900 a second here on an idle bus, no headroom for 3,000/s; bleak's
match rule for ``PropertiesChanged`` names no sender, so the signal is the same to it. Sent
directly, 3,000/s holds with every advert within ~40 ms of its time. The devices must exist first
(:meth:`Crowd.add_devices`: ``InterfacesAdded`` from the mock, as bleak needs them known).
On SIGUSR1 it prints ``sent elapsed_s max_lag_s`` (adverts sent so far); it stops on SIGTERM.
"""

from __future__ import annotations

import random
import signal
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Any

from edge.beacons.advert import APPLE_COMPANY_ID, EDDYSTONE_UUID
from edge.beacons.build import eddystone_eid_payload, ibeacon_payload
from edge.sim.radio import Device
from edge.sim.store import SimulatedStore

ROSTERED_SHARE = 0.1
"""Share of the adverts that come from rostered shoppers."""
PHONE_HZ = 1
"""An unrostered phone's own traffic (continuity, fast pair): about once a second."""
SHOPPER_HZ = {"eid": 4, "ibeacon": 2}
"""The app in Android's balanced mode, the card at 2 Hz (as edge.sim.radio)."""
ZONES = 4
"""Rostered shopper i is in zone i % ZONES (for a trace with one scanner per zone)."""
_OTHER_COMPANIES = (0x0006, 0x0075, 0x00E0)
"""Microsoft, Samsung, Google."""
_FEED_TICK_S = 0.0005
"""The feed's longest sleep: adverts go out within half a millisecond of their time."""


@dataclass(frozen=True, slots=True)
class Advertiser:
    address: str
    hz: int
    rostered: bool
    zone: int
    phase_s: float
    manufacturer_data: dict[int, bytes]
    service_data: dict[str, bytes]


def _address(rng: random.Random, top: int) -> str:
    raw = bytearray(rng.randbytes(6))
    raw[0] = (raw[0] & 0x3F) | top
    return ":".join(f"{b:02X}" for b in raw)


class Crowd:
    """The advertisers of a store heard at ``rate`` adverts/s (the roster's start is ``start``)."""

    def __init__(self, seed: int, start: float, rate: int) -> None:
        rng = random.Random(f"crowd:{seed}")
        shoppers = 1
        while sum(SHOPPER_HZ["ibeacon" if i % 4 == 3 else "eid"] for i in range(shoppers)) < ROSTERED_SHARE * rate:
            shoppers += 1
        self.store = SimulatedStore(seed, shoppers=shoppers, anonymous=0, start=start)
        self.advertisers: list[Advertiser] = []
        for shopper in self.store.shoppers:
            device = Device(seed, shopper.index, shopper.kind, start)
            device.refresh(start)
            self.advertisers.append(
                Advertiser(
                    _address(rng, 0xC0),
                    SHOPPER_HZ[shopper.kind],
                    True,
                    shopper.index % ZONES,
                    rng.uniform(0.0, 60.0),
                    dict(device.manufacturer),
                    dict(device.service),
                )
            )
        rostered_hz = sum(a.hz for a in self.advertisers)
        for index in range(max(0, rate - rostered_hz) // PHONE_HZ):
            phone = random.Random(f"phone:{seed}:{index}")
            manufacturer: dict[int, bytes] = {}
            service: dict[str, bytes] = {}
            if index % 3 == 0:
                company = _OTHER_COMPANIES[index % len(_OTHER_COMPANIES)]
                manufacturer = {company: bytes([0x10, 0x05]) + phone.randbytes(phone.randint(4, 20))}
            elif index % 3 == 1:
                manufacturer = {APPLE_COMPANY_ID: ibeacon_payload(uuid.UUID(bytes=phone.randbytes(16)), 7, index, -60)}
            else:
                service = {EDDYSTONE_UUID: eddystone_eid_payload(phone.randbytes(8), -20)}
            self.advertisers.append(
                Advertiser(_address(phone, 0x40), PHONE_HZ, False, index % ZONES, 0.0, manufacturer, service)
            )
        slots = [
            ((k + rng.random()) / a.hz, i) for i, a in enumerate(self.advertisers) for k in range(a.hz)
        ]  # fmt: skip
        slots.sort()
        self.schedule: list[tuple[float, int]] = slots
        """(offset in the second, advertiser index), repeated every second."""
        self.rate = len(slots)

    def roster(self) -> bytes:
        return self.store.roster_payload(self.store.start)

    def rssi(self, index: int, at: float, rng: random.Random) -> int:
        advertiser = self.advertisers[index]
        if not advertiser.rostered:
            return rng.randint(-95, -55)
        near = (at + advertiser.phase_s) % 60.0 < 40.0
        return (-58 if near else -88) + rng.randint(-4, 4)

    def add_devices(self, fake: Any) -> None:
        """Every advertiser as a device of ``fake`` (a :class:`tests.fake_bluez.FakeBlueZ`)."""
        for a in self.advertisers:
            fake.add_device(a.address, -80, a.manufacturer_data or None, a.service_data or None)


def feed(address: str, seed: int, start: float, rate: int) -> None:
    """Play ``Crowd(seed, start, rate)`` onto the bus at ``address`` until SIGTERM (see the module)."""
    import dbus
    import dbus.lowlevel

    from tests.fake_bluez import DEVICE_IFACE, device_path

    crowd = Crowd(seed, start, rate)
    paths = [device_path(a.address) for a in crowd.advertisers]
    conn = dbus.bus.BusConnection(address)
    rng = random.Random(seed)
    no_invalidated = dbus.Array([], signature="s")
    schedule, per_cycle = crowd.schedule, len(crowd.schedule)
    sent, max_lag, running = 0, 0.0, True
    began = time.monotonic()
    wall = time.time()

    def report(*_: object) -> None:
        print(sent, f"{time.monotonic() - began:.3f}", f"{max_lag:.4f}", flush=True)

    def stop(*_: object) -> None:
        nonlocal running
        running = False

    signal.signal(signal.SIGUSR1, report)
    signal.signal(signal.SIGTERM, stop)
    print("ready", crowd.rate, flush=True)
    while running:
        now = time.monotonic() - began
        cycle, slot = divmod(sent, per_cycle)
        due = cycle + schedule[slot][0]
        while due <= now:
            index = schedule[slot][1]
            message = dbus.lowlevel.SignalMessage(paths[index], "org.freedesktop.DBus.Properties", "PropertiesChanged")
            rssi = dbus.Int16(crowd.rssi(index, wall + due, rng))
            message.append(DEVICE_IFACE, {"RSSI": rssi}, no_invalidated, signature="sa{sv}as")
            conn.send_message(message)
            max_lag = max(max_lag, now - due)
            sent += 1
            cycle, slot = divmod(sent, per_cycle)
            due = cycle + schedule[slot][0]
        conn.flush()
        time.sleep(min(_FEED_TICK_S, max(0.0, due - (time.monotonic() - began))))
    conn.close()


if __name__ == "__main__":
    feed(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]))
