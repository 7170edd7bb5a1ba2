"""What the gateway's iBeacon advertisement carries, and what this BlueZ lets it set: pure values.

BlueZ's ``LEAdvertisement1`` has ``MinInterval``, ``MaxInterval`` and ``TxPower`` only as
experimental properties (bluetoothd ``--experimental``), which reach the controller only through
the kernel's extended advertising parameters (MGMT "Add Ext Adv Params", kernel >= 5.11), and
only BlueZ >= 5.65 applies them correctly: 5.63 and 5.64 register the advertisement but drop the
interval (and with it the TX power). Elsewhere the gateway leaves them out and the controller's
default applies (BlueZ's is 100 ms … 150 ms for a broadcaster, close to Apple's 100 ms anyway).
:func:`judge_support` decides from the manager's properties, BlueZ's and the kernel's versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from edge.beacons.advert import APPLE_COMPANY_ID
from edge.beacons.build import ibeacon_payload
from edge.config_ios import AdvertiseConfig

Version = tuple[int, int]

BLUEZ_TUNABLE_MIN: Version = (5, 65)
"""First BlueZ that applies MinInterval / MaxInterval / TxPower."""
BLUEZ_BROKEN: frozenset[Version] = frozenset({(5, 63), (5, 64)})
"""Accept the interval properties but do not apply them."""
KERNEL_TUNABLE_MIN: Version = (5, 11)
"""First kernel with the MGMT extended advertising parameter commands."""
EXPERIMENTAL_PROPERTIES = ("SupportedCapabilities", "SupportedFeatures")
"""Manager properties bluetoothd exports only with ``--experimental``: their presence tells us the flag is on."""


def parse_version(text: str) -> Version | None:
    """``5.66`` / ``bluetoothctl: 5.66`` / ``6.1.0-rpi7-rpi-v8`` → (major, minor); None if there is none."""
    match = re.search(r"(\d+)\.(\d+)", text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _text(version: Version | None) -> str:
    return "unknown" if version is None else f"{version[0]}.{version[1]}"


@dataclass(frozen=True, slots=True)
class AdvertisingSupport:
    """What the adapter's ``LEAdvertisingManager1`` and the system allow; ``why_fixed`` says why not tunable."""

    manager: bool
    free_instances: int
    active_instances: int
    bluez: Version | None
    kernel: Version | None
    experimental: bool
    can_set_interval: bool
    can_set_tx_power: bool
    why_fixed: str

    def summary(self) -> str:
        if not self.manager:
            return "no LEAdvertisingManager1 on the adapter"
        tunable = (
            "interval and TX power can be set"
            if self.can_set_interval and self.can_set_tx_power
            else "interval can be set, TX power cannot"
            if self.can_set_interval
            else f"interval/TX power fixed ({self.why_fixed})"
        )
        return (
            f"{self.free_instances} free advertising instance(s), {self.active_instances} active; "
            f"BlueZ {_text(self.bluez)}, kernel {_text(self.kernel)}; {tunable}"
        )


def judge_support(
    manager_props: dict[str, Any] | None, bluez: Version | None, kernel: Version | None
) -> AdvertisingSupport:
    """From the manager's properties (plain values; None: no manager) and the two versions."""
    if manager_props is None:
        return AdvertisingSupport(False, 0, 0, bluez, kernel, False, False, False, "no advertising manager")
    experimental = all(name in manager_props for name in EXPERIMENTAL_PROPERTIES)
    features = set(manager_props.get("SupportedFeatures", ()))
    why = ""
    if not experimental:
        why = "bluetoothd runs without --experimental"
    elif bluez is None:
        why = "the BlueZ version is unknown (bluetoothctl --version)"
    elif bluez in BLUEZ_BROKEN:
        why = f"BlueZ {_text(bluez)} is broken for advertising intervals: upgrade to >= {_text(BLUEZ_TUNABLE_MIN)}"
    elif bluez < BLUEZ_TUNABLE_MIN:
        why = f"BlueZ {_text(bluez)} is older than {_text(BLUEZ_TUNABLE_MIN)}"
    elif kernel is None or kernel < KERNEL_TUNABLE_MIN:
        why = f"kernel {_text(kernel)} is older than {_text(KERNEL_TUNABLE_MIN)}"
    interval = not why
    return AdvertisingSupport(
        manager=True,
        free_instances=int(manager_props.get("SupportedInstances", 0)),
        active_instances=int(manager_props.get("ActiveInstances", 0)),
        bluez=bluez,
        kernel=kernel,
        experimental=experimental,
        can_set_interval=interval,
        can_set_tx_power=interval and "CanSetTxPower" in features,
        why_fixed=why,
    )


@dataclass(frozen=True, slots=True)
class BeaconAdvertisement:
    """The advertisement to register: its manufacturer data and the tunables that apply (None: left out)."""

    manufacturer_data: dict[int, bytes]
    min_interval_ms: int | None
    max_interval_ms: int | None
    tx_power_dbm: int | None

    @classmethod
    def build(cls, config: AdvertiseConfig, support: AdvertisingSupport) -> BeaconAdvertisement:
        payload = ibeacon_payload(config.proximity_uuid, config.major, config.minor, config.measured_power_dbm)
        interval = config.interval_ms if support.can_set_interval else None
        tx_power = config.tx_power_dbm if support.can_set_tx_power else None
        return cls({APPLE_COMPANY_ID: payload}, interval, interval, tx_power)
