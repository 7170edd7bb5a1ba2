"""The peer: a bare ``BleakScanner`` (the gateway's passive patterns) with a no-op detection callback,
on the same fake BlueZ in the same run: what receiving an advertisement through bleak costs anyway.

``python -m benchmarks.realtime.peer``: prints ``ready``, then the adverts heard so far on each
SIGUSR1; stops on SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from bleak import BleakScanner
from bleak.args.bluez import BlueZScannerArgs

from edge.beacons.bleak_backend import PASSIVE_PATTERNS


def main() -> None:
    heard = 0

    def on_advert(_device: object, _data: object) -> None:
        nonlocal heard
        heard += 1

    async def scan() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGUSR1, lambda: print(heard, flush=True))
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        bluez = BlueZScannerArgs(or_patterns=list(PASSIVE_PATTERNS))
        async with BleakScanner(on_advert, scanning_mode="passive", bluez=bluez):
            print("ready", flush=True)
            await stop.wait()

    asyncio.run(scan())


if __name__ == "__main__":
    main()
