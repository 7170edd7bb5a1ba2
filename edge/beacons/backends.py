"""Opens the source the config names (:class:`~edge.beacons.source.Source`): the backend is
picked here, in one place, with a local import, so D-Bus code is only imported where it is used
(bleak's own habit)."""

from __future__ import annotations

from edge.beacons.source import Source
from edge.config import Config


def open_source(config: Config, *, fast: bool = False, strict: bool = False) -> Source:
    """The source the config names.

    ``fast`` plays a replay as fast as possible (``edge replay``); ``strict`` makes a bad trace line
    an error instead of a counted skip.
    """
    if config.ble.backend == "replay":
        from pathlib import Path

        from edge.beacons.replay import ReplaySource

        assert config.ble.trace is not None  # checked by edge.config
        return ReplaySource(
            Path(config.ble.trace),
            speed=None if fast else config.ble.speed,
            strict=strict,
            start_at=config.ble.start_at,
        )
    from edge.beacons.bleak_backend import BleakSource

    return BleakSource(
        scanner_id=config.ble.scanner or config.gateway.gateway,
        adapter=config.ble.adapter,
        watchdog_s=config.ble.watchdog_s,
        start_timeout_s=config.ble.start_timeout_s,
    )
