"""The operations services of ``edge run`` under systemd (:mod:`edge.ports` services), and the
small helpers the command (:mod:`edge.ops.run`) builds them with.

- :class:`Systemd`: ``READY=1`` once capture (the source), the outbox and the broker link are up.
  The broker gets ``READY_BROKER_WAIT_S``: a store whose uplink is down must still capture into
  the outbox, so after that the gateway reports ready with a status saying it is buffering.
  ``WATCHDOG=1`` every ``WatchdogSec`` × ``WATCHDOG_PING_FRACTION``, but only while the
  pipeline's real-time loop turns (:attr:`edge.pipeline.Pipeline.beats`): a wedged loop stops
  the pings and systemd restarts the service.
- :class:`ConfigOverrides`: the route of ``cdp/v1/{store}/{gateway}/config``
  (:mod:`edge.ops.overrides`), retained and restored after the roster, offers and rules.
- Files named in ``mqtt.*_file`` are taken from ``$CREDENTIALS_DIRECTORY`` when a credential of
  the same file name was passed with ``LoadCredential=`` (the device key, readable by no one else).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import msgspec

from edge import constants as c
from edge.config import Config
from edge.events import Event
from edge.inputs import Downlink
from edge.ops.notify import Notifier
from edge.ops.overrides import OverrideHandler, OverrideStore
from edge.ports import Ports, Ready
from edge.router import ORDER_CONFIG, Route

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


class ConfigOverrides:
    """The remote config override route as a service; ``handler`` holds its counters."""

    name = "config-override"

    def __init__(self, ports: Ports, handler: OverrideHandler) -> None:
        self.handler = handler
        topic = ports.topics.config
        self._unroute = ports.route(Route(topic, bytes, self._apply, retain=True, order=ORDER_CONFIG, owner=self.name))
        self._unreport = ports.report(handler.health)
        self._topic = topic

    def _apply(self, payload: bytes, at: float) -> list[Event]:
        return self.handler(Downlink(at, self._topic, payload))

    async def run(self, ready: Ready) -> None:
        try:
            ready()
            await asyncio.Event().wait()
        finally:
            self._unroute()
            self._unreport()


class Systemd:
    """READY=1 and the watchdog; see the module docstring."""

    name = "systemd"

    def __init__(
        self,
        notifier: Notifier,
        overrides: OverrideStore,
        *,
        turning: asyncio.Event,
        beats: Callable[[], int],
        connected: asyncio.Event | None,
        watchdog_s: float | None,
    ) -> None:
        self.notifier = notifier
        self.overrides = overrides
        self.turning = turning
        self.beats = beats
        self.connected = connected
        self.watchdog_s = watchdog_s

    async def run(self, ready: Ready) -> None:
        ready()  # the gateway does not wait for systemd's READY=1 (that waits for the gateway)
        async with asyncio.TaskGroup() as group:
            group.create_task(self._announce_ready(), name="edge-ready")
            if self.watchdog_s is not None and self.notifier.enabled:
                group.create_task(self._watchdog(self.watchdog_s), name="edge-watchdog")
        await asyncio.Event().wait()  # READY=1 sent, no watchdog: nothing more to do until the stop

    async def _announce_ready(self) -> None:
        await self.turning.wait()
        status = "capturing; no broker configured: events stay in the outbox"
        if self.connected is not None:
            try:
                async with asyncio.timeout(c.READY_BROKER_WAIT_S):
                    await self.connected.wait()
                status = "capturing; broker connected"
            except TimeoutError:
                status = "capturing; broker unreachable: buffering in the outbox"
                log.warning("no broker connection after %.0f s: ready anyway, buffering", c.READY_BROKER_WAIT_S)
        self.notifier.ready(status)
        self.overrides.confirm()
        log.info("ready: %s", status)

    async def _watchdog(self, interval_s: float) -> None:
        period = interval_s * c.WATCHDOG_PING_FRACTION
        stall_s = max(period, c.WATCHDOG_STALL_MIN_S)
        last = -1
        moved_at = time.monotonic()
        stalled = False
        while True:
            await asyncio.sleep(period)
            beats, now = self.beats(), time.monotonic()
            if beats != last:
                last, moved_at = beats, now
            if now - moved_at < stall_s:
                self.notifier.watchdog()
                stalled = False
            elif not stalled:
                stalled = True
                log.error("the main loop made no progress for %.1f s: withholding the watchdog ping", now - moved_at)
