"""Bluetooth SIG identifiers of the frames the gateway reads, and the advertisement value.

:class:`Advertisement` lives in :mod:`edge.inputs` (with the other values that enter the pipeline,
so that the trace format and the pipeline's inputs need nothing from this package); it is
imported here too because most readers of BLE payloads look for it beside the company ids.
"""

from __future__ import annotations

from edge.inputs import Advertisement as Advertisement

EDDYSTONE_UUID = "0000feaa-0000-1000-8000-00805f9b34fb"
"""Eddystone's 16-bit service UUID 0xFEAA, in the 128-bit form bleak uses for service data keys."""

APPLE_COMPANY_ID = 0x004C
"""Bluetooth SIG company identifier of Apple, under which iBeacon frames are sent."""

RUUVI_COMPANY_ID = 0x0499
"""Bluetooth SIG company identifier of Ruuvi Innovations (RuuviTag data formats)."""
