"""``edge run`` as a systemd service: the gateway, with the notify protocol, the watchdog, the
metrics endpoint and remote config overrides around it.

- ``READY=1`` once capture (the source), the outbox and the broker link are up. The broker gets
  ``READY_BROKER_WAIT_S``: a store whose uplink is down must still capture into the outbox, so
  after that the gateway reports ready with a status saying it is buffering.
- ``WATCHDOG=1`` every ``WatchdogSec`` × ``WATCHDOG_PING_FRACTION``, but only while the pipeline's
  real-time loop turns (:attr:`edge.pipeline.Pipeline.beats`): a wedged loop stops the pings and
  systemd restarts the service.
- ``STOPPING=1`` the moment SIGTERM (or SIGINT) arrives; the pipeline commits its last batch and
  the outbox closes (each batch is one SQLite transaction, so nothing committed is lost).
- Files named in ``mqtt.*_file`` are taken from ``$CREDENTIALS_DIRECTORY`` when a credential of the
  same file name was passed with ``LoadCredential=`` (the device key, readable by no one else).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from contextlib import AsyncExitStack
from pathlib import Path

import msgspec

from edge import constants as c
from edge.app import Gateway
from edge.beacons.source import open_source
from edge.config import Config, load
from edge.ops.notify import Notifier, watchdog_interval_s
from edge.ops.overrides import OverrideHandler, OverrideStore
from edge.shutdown import Shutdown, handling
from edge.sync.topics import Topics

log = logging.getLogger("edge")

EXIT_RESTART = 75
"""Exit code after a remote config override was accepted (EX_TEMPFAIL): systemd's
``Restart=on-failure`` starts the gateway again with it."""


def with_credentials(config: Config, env: Mapping[str, str] | None = None) -> Config:
    """The config with ``mqtt.*_file`` paths replaced by systemd credentials of the same name."""
    env = os.environ if env is None else env
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        return config
    changes: dict[str, str] = {}
    for key in ("password_file", "ca_file", "cert_file", "key_file"):
        value = getattr(config.mqtt, key)
        if value:
            candidate = Path(directory) / Path(value).name
            if candidate.is_file():
                changes[key] = str(candidate)
    if not changes:
        return config
    return msgspec.structs.replace(config, mqtt=msgspec.structs.replace(config.mqtt, **changes))


async def _announce_ready(gateway: Gateway, notifier: Notifier, overrides: OverrideStore) -> None:
    while gateway.pipeline.beats == 0:  # noqa: ASYNC110 - no event for the loop's first turn; a few ms at most
        await asyncio.sleep(0.01)
    status = "capturing; no broker configured: events stay in the outbox"
    if gateway.sync is not None:
        try:
            async with asyncio.timeout(c.READY_BROKER_WAIT_S):
                await gateway.sync.connected.wait()
            status = "capturing; broker connected"
        except TimeoutError:
            status = "capturing; broker unreachable: buffering in the outbox"
            log.warning("no broker connection after %.0f s: ready anyway, buffering", c.READY_BROKER_WAIT_S)
    notifier.ready(status)
    overrides.confirm()
    log.info("ready: %s", status)


async def _watchdog(gateway: Gateway, notifier: Notifier, interval_s: float) -> None:
    period = interval_s * c.WATCHDOG_PING_FRACTION
    last = -1
    stalled = False
    while True:
        await asyncio.sleep(period)
        beats = gateway.pipeline.beats
        if beats != last:
            notifier.watchdog()
            last, stalled = beats, False
        elif not stalled:
            stalled = True
            log.error("the main loop made no progress for %.1f s: withholding the watchdog ping", period)


async def serve(
    base: Config, config: Config, overrides: OverrideStore, notifier: Notifier, shutdown: Shutdown | None = None
) -> int:
    """Run the gateway until SIGTERM/SIGINT (``shutdown``) or the source ends; the exit code."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()

    def on_signal() -> None:
        if not stop.is_set():
            notifier.stopping("stopping: committing the last batch")
            log.info("stopping")
        stop.set()

    if shutdown is not None:
        # From the signal handler: only schedule; the notification and the log line run in the loop.
        def schedule() -> None:
            if not loop.is_closed():
                loop.call_soon_threadsafe(on_signal)

        shutdown.on_request(schedule)
    signage = config.signage if config.signage.enabled and config.screens else None
    gateway = Gateway(config, open_source(config), signage=signage)
    handler = OverrideHandler(base, overrides, on_restart=on_signal)
    gateway.core.downlink_handlers[Topics(config.gateway.store, config.gateway.gateway).config] = handler
    log.info("gateway %s/%s starting (ble: %s)", config.gateway.store, config.gateway.gateway, config.ble.backend)
    notifier.status("starting: capture and outbox")
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(gateway)
        gateway.pipeline.health_extra.append(handler.health)
        if config.metrics.listen:
            from edge.ops.metrics import MetricsServer

            await stack.enter_async_context(MetricsServer(config.metrics.listen, gateway))
        if config.vision.enabled:
            from edge.vision.service import VisionService

            await stack.enter_async_context(VisionService(config, gateway.core, gateway.pipeline, gateway.source.clock))
        runner = asyncio.create_task(gateway.run(stop=stop), name="edge-gateway")
        helpers = [asyncio.create_task(_announce_ready(gateway, notifier, overrides), name="edge-ready")]
        interval = watchdog_interval_s()
        if interval is not None and notifier.enabled:
            helpers.append(asyncio.create_task(_watchdog(gateway, notifier, interval), name="edge-watchdog"))
        try:
            await runner
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            if not stop.is_set():
                notifier.stopping("stopping: the source ended")
    log.info("gateway stopped")
    return EXIT_RESTART if handler.restart_requested else 0


def run_gateway(path: Path) -> int:
    """``edge run --config FILE``."""
    base = load(path)
    overrides = OverrideStore(base.state_path())
    config = with_credentials(overrides.effective(base))
    notifier = Notifier.from_env()
    try:
        with handling() as shutdown:
            return asyncio.run(serve(base, config, overrides, notifier, shutdown))
    finally:
        notifier.close()
