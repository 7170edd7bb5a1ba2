"""``edge run`` with bleak's callback cut short, for benchmarks/realtime/split.py: what each part of the
gateway's work per advert costs inside its own process.

``python benchmarks/realtime/variant.py VARIANT edge-run-args...`` (a script, so that ``edge`` comes
from ``PYTHONPATH``: another checkout's, for a before and after), VARIANT one of:

- ``noop``: the callback counts the advert and returns (the gateway process, its tasks, timers, heap
  and threads, doing nothing per advert: what is left is the "process-level" cost);
- ``pre``: the callback's lines before the admission question (the RSSI check, the count, the
  service data's keys, the clock), then return;
- ``admit``: the callback asks the core's admission question of every advert, then returns (nothing is
  built, queued or handled);
- ``late``: the whole gateway, but the question asked in bleak's callback, after bleak built its
  ``AdvertisementData`` and ``BLEDevice`` (as before the seventh pass: ``BleakSource.ASK_FIRST``);
- ``full``: the gateway as it is (the question asked before bleak's own handling of the advert).

``noop``, ``pre`` and ``admit`` run with ``ASK_FIRST`` off too: their callback sees every advert.

Only this benchmark uses it: the gateway's own code is not patched anywhere else."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from edge.beacons import bleak_backend
from edge.cli import main

RSSI_UNAVAILABLE_DBM = bleak_backend.RSSI_UNAVAILABLE_DBM


def _noop(self: bleak_backend.BleakSource, _device: Any, _data: Any) -> None:
    self.counters.adverts += 1


def _before_the_question(self: bleak_backend.BleakSource, data: Any) -> tuple[Any, float] | None:
    """bleak_backend.BleakSource._on_advertisement's lines before its admission question: (the
    service data, the time), or None (no RSSI: not an advertisement)."""
    if data.rssi == RSSI_UNAVAILABLE_DBM:
        return None
    self.counters.adverts += 1
    service_data = data.service_data
    if service_data:
        for uuid in service_data:
            if not uuid.islower():
                service_data = {key.lower(): payload for key, payload in service_data.items()}
                break
    return service_data, self._now()


def _pre(self: bleak_backend.BleakSource, _device: Any, data: Any) -> None:
    _before_the_question(self, data)


def _admit_only(self: bleak_backend.BleakSource, _device: Any, data: Any) -> None:
    """The callback up to its admission question, and the question; then return."""
    asked = _before_the_question(self, data)
    feed = self._feed
    if asked is not None and feed is not None and feed.admit is not None:
        feed.admit(data.manufacturer_data, *asked)


VARIANTS: dict[str, Callable[..., None] | None] = {
    "noop": _noop,
    "pre": _pre,
    "admit": _admit_only,
    "late": None,
    "full": None,
}


def run(variant: str, argv: list[str]) -> int:
    callback = VARIANTS[variant]
    if variant != "full":
        bleak_backend.BleakSource.ASK_FIRST = False
    if callback is not None:
        bleak_backend.BleakSource._on_advertisement = callback  # type: ignore[method-assign]
    return main(argv)


if __name__ == "__main__":
    raise SystemExit(run(sys.argv[1], sys.argv[2:]))
