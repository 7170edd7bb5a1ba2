"""Assembles the gateway: config → source → core → outbox → sinks, as one async context."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from edge import unknown
from edge.beacons.source import Source
from edge.config import Config, SignageConfig
from edge.core import Core
from edge.events import EventFactory
from edge.outbox import Outbox
from edge.pipeline import Pipeline, Sink
from edge.roster import load_roster_file as read_roster_file

if TYPE_CHECKING:
    from edge.signage.service import Signage
    from edge.sync.service import MqttSync

log = logging.getLogger(__name__)


def setup_logging(verbose: bool = False) -> None:
    """Logs to stderr; under systemd (JOURNAL_STREAM set) without timestamps, journald adds them."""
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=fmt, stream=sys.stderr)
    # aiosqlite logs every statement with its parameters at debug: event bodies, not for a journal.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def load_roster_file(core: Core, path: Path, now: float) -> None:
    """Put ``gateway.roster_file`` in force; :class:`~edge.errors.InputFileError` (exit 2) if rejected."""
    core.set_roster(read_roster_file(path), now)


def build_core(config: Config, rng: random.Random | None = None) -> Core:
    return Core(config, EventFactory(config.gateway.store, config.gateway.gateway, rng))


class Gateway:
    """The assembled gateway as an async context manager: entering opens the source and the outbox
    and loads the starting roster; :meth:`run` runs the pipeline. Other parts (MQTT sync, signage,
    vision) attach between the two through ``core`` (state, downlink handlers) and ``pipeline``
    (``publish`` for their events, ``sinks`` for committed events)."""

    def __init__(
        self,
        config: Config,
        source: Source,
        *,
        sinks: list[Sink] | None = None,
        state_dir: Path | None = None,
        rng: random.Random | None = None,
        core: Core | None = None,
        signage: SignageConfig | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self._signage_config = signage
        self.signage: Signage | None = None
        """The screen (edge.signage) when ``signage`` is given: entered after sync, left before it."""
        self.core = core or build_core(config, rng)
        self.state_dir = state_dir or config.state_path()
        self._sinks = list(sinks or [])
        self._stack = AsyncExitStack()
        self._pipeline: Pipeline | None = None
        self.sync: MqttSync | None = None
        """The MQTT link to the CDP when ``mqtt.url`` is configured (entered with the gateway)."""

    @property
    def pipeline(self) -> Pipeline:
        if self._pipeline is None:
            raise RuntimeError("enter the gateway first (async with)")
        return self._pipeline

    async def __aenter__(self) -> Self:
        async with AsyncExitStack() as stack:
            await stack.enter_async_context(self.source)
            mqtt = self.config.mqtt
            outbox = await stack.enter_async_context(
                Outbox(
                    self.state_dir,
                    self.core.factory.source,
                    max_rows=mqtt.outbox_max_rows,
                    max_bytes=mqtt.outbox_max_bytes,
                )
            )
            self.outbox = outbox
            if self.config.gateway.roster_file:
                load_roster_file(self.core, Path(self.config.gateway.roster_file), self.source.clock.now())
            self._pipeline = Pipeline(self.core, outbox, self._sinks)
            self._pipeline.health_extra.append(unknown.health)  # unknown CDP fields and scopes, ignored
            if mqtt.url:
                from edge.sync.service import MqttSync

                self.sync = await stack.enter_async_context(MqttSync(self))
                self._pipeline.health_extra.append(self.sync.health)
            if self._signage_config is not None:
                from edge.signage.service import Signage

                self.signage = await stack.enter_async_context(Signage(self, self._signage_config))
            self._stack = stack.pop_all()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._stack.aclose()

    async def run(self, *, fast: bool = False, stop: asyncio.Event | None = None) -> None:
        """Until the source ends (or ``stop`` is set); ``fast``: as fast as possible (a replay)."""
        if fast:
            await self.pipeline.run_fast(self.source, stop)
        else:
            await self.pipeline.run_live(self.source, stop or asyncio.Event())


async def run(
    config: Config,
    source: Source,
    *,
    sinks: list[Sink] | None = None,
    fast: bool = False,
    stop: asyncio.Event | None = None,
    state_dir: Path | None = None,
    rng: random.Random | None = None,
    core: Core | None = None,
    signage: SignageConfig | None = None,
) -> Core:
    """Run the gateway until the source ends (or ``stop`` is set); returns the core for its counters.

    ``state_dir`` None: the config's state directory. ``core``: one built by :func:`build_core`
    when the caller wants to watch it while it runs (the demo's summary).
    """
    gateway = Gateway(config, source, sinks=sinks, state_dir=state_dir, rng=rng, core=core, signage=signage)
    async with gateway:
        await gateway.run(fast=fast, stop=stop)
    return gateway.core


def temporary_state() -> tempfile.TemporaryDirectory[str]:
    """A fresh state directory for a replay or a demo that names none."""
    return tempfile.TemporaryDirectory(prefix="edge-state-")
