"""``edge run`` as a systemd service: the gateway with the operations services around it
(:mod:`edge.ops.service`: the notify protocol and the watchdog, remote config overrides), the
metrics endpoint, the camera and the store's iBeacon (``[advertise]``) when configured.

- ``STOPPING=1`` the moment SIGTERM (or SIGINT) arrives; the pipeline commits its last batch and
  the outbox closes (each batch is one SQLite transaction, so nothing committed is lost).
- A service that fails ends the gateway: the failure is logged naming the service and the exit
  code is :data:`EXIT_SERVICE_FAILED` (systemd's ``Restart=on-failure`` starts it again).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from edge.advertise_service import advertiser_factory
from edge.app import Gateway, ServiceFactory
from edge.beacons.backends import open_source
from edge.config import Config, load
from edge.errors import ServiceError
from edge.ops.notify import Notifier, watchdog_interval_s
from edge.ops.overrides import OverrideHandler, OverrideStore
from edge.ops.service import EXIT_RESTART, ConfigOverrides, Systemd, with_credentials
from edge.ports import Ports, Ready, Service
from edge.shutdown import Shutdown, handling

log = logging.getLogger("edge")

EXIT_SERVICE_FAILED = 70
"""Exit code when a service of the gateway failed (EX_SOFTWARE): systemd restarts the gateway."""


class _Metrics:
    """The Prometheus endpoint (edge.ops.metrics) as a service reading the gateway's counters
    through its ports."""

    name = "metrics"

    def __init__(self, listen: str, ports: Ports) -> None:
        self.listen = listen
        self.ports = ports

    async def run(self, ready: Ready) -> None:
        from edge.ops.metrics import MetricsServer

        async with MetricsServer(self.listen, self.ports):
            ready()
            await asyncio.Event().wait()


def services(
    config: Config, handler: OverrideHandler, notifier: Notifier, overrides: OverrideStore
) -> list[ServiceFactory]:
    """The services ``edge run`` adds to the config's own, in start order; each built from the
    gateway's ports (and its own config), never from the gateway."""

    def config_overrides(ports: Ports) -> Service:
        return ConfigOverrides(ports, handler)

    def systemd(ports: Ports) -> Service:
        readings = ports.readings
        if readings is None:
            raise ServiceError("the systemd service needs a running gateway's ports", service="systemd")
        return Systemd(
            notifier,
            overrides,
            turning=readings.turning,
            beats=readings.beats,
            connected=readings.connected,  # the services before it (the sync) are built by now
            watchdog_s=watchdog_interval_s(),
        )

    factories: list[ServiceFactory] = [config_overrides]
    if config.vision.enabled:

        def vision(ports: Ports) -> Service:
            from edge.vision.service import VisionService

            return VisionService(ports)

        factories.append(vision)
    advertiser = advertiser_factory(config)  # [advertise]: the store's iBeacon
    if advertiser is not None:
        factories.append(advertiser)
    if config.metrics.listen:
        listen = config.metrics.listen
        factories.append(lambda ports: _Metrics(listen, ports))
    factories.append(systemd)
    return factories


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
    handler = OverrideHandler(base, overrides, on_restart=on_signal)
    extra = services(config, handler, notifier, overrides)
    gateway = Gateway(config, open_source(config), signage=signage, services=extra)
    log.info("gateway %s/%s starting (ble: %s)", config.gateway.store, config.gateway.gateway, config.ble.backend)
    notifier.status("starting: capture and outbox")
    try:
        async with gateway:
            await gateway.run(stop=stop)
            if not stop.is_set():
                notifier.stopping("stopping: the source ended")
    except ServiceError as err:
        notifier.stopping(f"stopping: {err}")
        log.critical("gateway stopped: %s", err)
        return EXIT_SERVICE_FAILED
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
