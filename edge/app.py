"""Assembles the gateway: config → source → core → outbox → services, as one async context.

Entering opens the source and the outbox, puts the starting roster in force, restores the last
good state (:mod:`edge.laststate`, in the router's fixed order, before any message), then opens
the gateway's one :class:`asyncio.TaskGroup`: the pipeline's writer task first, then every
service of the list built from the config, each started once the one before it said it is
ready. :meth:`Gateway.run` reads the source on the writer. A service that fails (or ends by
itself) ends the whole gateway: its name and error are logged and :class:`ServiceError` is
raised from the ``async with`` (``edge run`` exits non-zero; systemd restarts it). Leaving stops
the services in reverse order (each finishing its own work: signage its impressions, the sync
its offline status's PUBACK), then the writer, the outbox and the source.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
import tempfile
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import asdict
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from edge import unknown
from edge.beacons.source import Source
from edge.clock import Clock
from edge.config import Config, SignageConfig, chosen_engine
from edge.core import Core
from edge.errors import ServiceError
from edge.events import EventFactory
from edge.laststate import StateStore
from edge.outbox import Outbox
from edge.pipeline import Pipeline, Sink
from edge.ports import Ports, Readings, Service
from edge.presence import PresenceEngine
from edge.roster import load_roster_file as read_roster_file

if TYPE_CHECKING:
    from edge.peers.service import Peers
    from edge.signage.service import Signage
    from edge.sync.service import MqttSync

log = logging.getLogger(__name__)

SERVICE_STOP_TIMEOUT_S = 10.0
"""How long a cancelled service may take to finish before it is cancelled again (and an error is
logged): above the sync's bounded shutdown (2 s for the PUBACKs, 2 s for the offline status,
2 s for the DISCONNECT) with room for a loaded box."""

ServiceFactory = Callable[[Ports], Service]
"""Builds one service from the ports (``lambda ports: Advertiser(ports, config.advertiser)``)."""


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


class _SourceClock:
    """The source's clock, read through the source (a replay swaps its clock when entered)."""

    def __init__(self, source: Source) -> None:
        self._source = source

    def now(self) -> float:
        return self._source.clock.now()

    @property
    def speed(self) -> float:
        """Clock seconds per real second: a replay's or the demo's speed, 1 live (signage converts
        the player's monotonic times with it)."""
        return float(getattr(self._source.clock, "speed", 1.0))


def build_ports(
    config: Config, core: Core, pipeline: Pipeline, clock: Clock, state_dir: Path, readings: Readings | None = None
) -> Ports:
    """The ports over one core and its pipeline (a test builds them without a gateway too)."""
    return Ports(
        config=config,
        topics=core.topics,
        clock=clock,
        state_dir=state_dir,
        view=core,
        publish=pipeline.publish,
        deliver=pipeline.deliver,
        route=core.router.register,
        subscribe=pipeline.subscribe,
        report=pipeline.report,
        outbox=pipeline.outbox,
        checkin_codes=core.app.listen_codes,
        readings=readings,
    )


class _Readings:
    """A gateway's :class:`~edge.ports.Readings`, read at call time (its services are built when it
    is entered, after the ports)."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway

    @property
    def turning(self) -> asyncio.Event:
        return self._gateway.pipeline.turning

    def beats(self) -> int:
        return self._gateway.pipeline.beats

    @property
    def connected(self) -> asyncio.Event | None:
        sync = self._gateway.sync
        return sync.connected if sync is not None else None

    def source_counters(self) -> dict[str, int]:
        return dict(asdict(self._gateway.source.counters))

    def mqtt(self) -> dict[str, int]:
        sync = self._gateway.sync
        return sync.health() if sync is not None else {}

    def publish_latency(self) -> tuple[list[tuple[str, float]], float] | None:
        sync = self._gateway.sync
        if sync is None:
            return None
        latency = sync.drain.latency
        return latency.cumulative(), latency.sum_s

    def decisions(self) -> dict[tuple[str, str], int]:
        signage = self._gateway.signage
        if signage is None:
            return {}
        return {(signage.place.screen, kind): count for kind, count in signage.decisions.items()}


class Gateway:
    """The assembled gateway as an async context manager; see the module docstring.

    ``services``: more services than the config's own (the MQTT sync when ``mqtt.url`` is set,
    the screen when ``signage`` is given), started after them in list order."""

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
        services: Sequence[ServiceFactory] = (),
    ) -> None:
        self.config = config
        self.source = source
        self.core = core or build_core(config, rng)
        self.state_dir = state_dir or config.state_path()
        mqtt = config.mqtt
        self.outbox = Outbox(
            self.state_dir, self.core.factory.source, max_rows=mqtt.outbox_max_rows, max_bytes=mqtt.outbox_max_bytes
        )
        self.pipeline = Pipeline(self.core, self.outbox, sinks)
        self.pipeline.report(unknown.health)  # unknown CDP fields and scopes, ignored
        self.ports = build_ports(
            config, self.core, self.pipeline, _SourceClock(source), self.state_dir, _Readings(self)
        )
        self._signage_config = signage
        self._factories = list(services)
        self.sync: MqttSync | None = None
        """The MQTT link to the CDP when ``mqtt.url`` is configured (built when entered)."""
        self.signage: Signage | None = None
        """The screen (edge.signage) when ``signage`` is given (built when entered)."""
        self.peers: Peers | None = None
        """The store's other gateways (edge.peers) when ``[store] peers`` is set (built when entered)."""
        self.services: list[Service] = []
        """In start order; stopped in reverse."""
        self._stack = AsyncExitStack()
        self._stopping = False

    async def __aenter__(self) -> Self:
        self._stopping = False
        try:
            async with AsyncExitStack() as stack:
                await stack.enter_async_context(self.source)
                outbox = await stack.enter_async_context(self.outbox)
                state = StateStore(outbox.db, outbox.lock)
                await state.open()
                self.pipeline.state = state
                now = self.source.clock.now()
                if self.config.gateway.roster_file:
                    load_roster_file(self.core, Path(self.config.gateway.roster_file), now)
                self._keep_radio(stack)
                self._build_services()  # every route registered before the restore
                await self.pipeline.restore(now)
                group = await stack.enter_async_context(asyncio.TaskGroup())
                stack.push_async_callback(
                    self._stop_writer, group.create_task(self.pipeline.serve(), name="edge-pipeline")
                )
                for service in self.services:
                    await self._start(group, stack, service)
                self._stack = stack.pop_all()
        except BaseExceptionGroup as group:
            raise _unwrap(group) from None
        return self

    def _keep_radio(self, stack: AsyncExitStack) -> None:
        """The grid engine starts from the radio it learned before and keeps what it learns, the threshold engine its
        scanner offsets (edge.radio_keeper)."""
        from edge.radio_keeper import RadioKeeper

        engine = self.core.engine
        keeper: RadioKeeper[Any]
        if isinstance(engine, PresenceEngine):
            if not engine.learns_offsets:
                return  # (no scanner positions: nothing to learn, no file)
            from edge.presence_offsets_memory import OFFSETS_KEPT

            keeper = RadioKeeper(engine, OFFSETS_KEPT, self.config, self.state_dir)
        elif chosen_engine(self.config) == "grid":  # (numpy only for the engine that uses it)
            from edge.presence_grid import GridEstimator
            from edge.presence_grid_memory import GRID_KEPT

            if not isinstance(engine, GridEstimator):
                return
            keeper = RadioKeeper(engine, GRID_KEPT, self.config, self.state_dir)
        else:
            return
        keeper.load()
        self.pipeline.at_health.append(keeper.save)
        stack.callback(self.pipeline.at_health.remove, keeper.save)
        stack.callback(self.pipeline.report(keeper.health))
        stack.callback(lambda: keeper.close(self.source.clock.now()))

    def _build_services(self) -> None:
        self.services = []
        if self.config.mqtt.url:
            from edge.sync.service import MqttSync

            self.sync = MqttSync(self.ports)
            self.services.append(self.sync)
        if self._signage_config is not None:
            from edge.signage.service import Signage

            self.signage = Signage(self.ports, self._signage_config)
            self.services.append(self.signage)
        if self.config.store.enabled and self.config.mqtt.url:
            from edge.peers.service import Peers

            peers = Peers(self.ports, self.config.store)
            self.peers = peers
            self.core.owns, self.core.sighted = peers.owns, peers.sighted  # the ownership filter
            self.services.append(peers)
        self.services.extend(factory(self.ports) for factory in self._factories)

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping = True
        try:
            await self._stack.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            raise _unwrap(group) from None

    async def _start(self, group: asyncio.TaskGroup, stack: AsyncExitStack, service: Service) -> None:
        ready = asyncio.Event()
        task = group.create_task(self._supervise(service, ready), name=f"edge-{service.name}")
        stack.push_async_callback(self._stop_service, service, task)
        waiter = asyncio.ensure_future(ready.wait())
        try:
            await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()
        if not ready.is_set():
            await task  # it failed starting: its error (the task group also ends the gateway)

    async def _supervise(self, service: Service, ready: asyncio.Event) -> None:
        try:
            await service.run(ready.set)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            log.critical("service %s failed: %s: the gateway stops", service.name, err, exc_info=err)
            raise ServiceError(f"the {service.name} service failed: {err}", service=service.name) from err
        if not self._stopping:
            log.critical("service %s ended by itself: the gateway stops", service.name)
            raise ServiceError(f"the {service.name} service ended by itself", service=service.name)

    async def _stop_service(self, service: Service, task: asyncio.Task[None]) -> None:
        self._stopping = True
        while True:
            task.cancel()
            done, _ = await asyncio.wait({task}, timeout=SERVICE_STOP_TIMEOUT_S)
            if done:
                break
            # A cancellation lost inside the service (3.11's wait_for, gh-86296): ask again, loudly.
            log.error(
                "service %s did not stop within %.1f s: cancelling it again (waiting at %s)",
                service.name,
                SERVICE_STOP_TIMEOUT_S,
                _where_tasks_wait(),
            )
        log.debug("service %s stopped", service.name)

    async def _stop_writer(self, task: asyncio.Task[None]) -> None:
        task.cancel()
        await asyncio.wait({task})
        if self.outbox.is_open:
            await self.pipeline.flush()

    async def run(self, *, fast: bool = False, stop: asyncio.Event | None = None) -> None:
        """Until the source ends (or ``stop`` is set); ``fast``: as fast as possible (a replay)."""
        await self.pipeline.run(self.source, fast=fast, stop=stop)


def _where_tasks_wait() -> str:
    """Every unfinished task and the line its innermost coroutine waits at: what a stop is stuck on."""
    places = []
    for task in asyncio.all_tasks():
        coro: Any = task.get_coro()
        where = "?"
        while coro is not None and getattr(coro, "cr_frame", None) is not None:
            frame = coro.cr_frame
            where = f"{Path(frame.f_code.co_filename).name}:{frame.f_lineno}"
            coro = getattr(coro, "cr_await", None)
        places.append(f"{task.get_name()}@{where}")
    return ", ".join(sorted(places))


def _unwrap(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The task group's one error as itself (a service's ServiceError, a source's error)."""
    errors = group.exceptions
    if len(errors) == 1:
        inner = errors[0]
        return _unwrap(inner) if isinstance(inner, BaseExceptionGroup) else inner
    return group


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
    services: Sequence[ServiceFactory] = (),
) -> Core:
    """Run the gateway until the source ends (or ``stop`` is set); returns the core for its counters.

    ``state_dir`` None: the config's state directory. ``core``: one built by :func:`build_core`
    when the caller wants to watch it while it runs (the demo's summary).
    """
    gateway = Gateway(
        config, source, sinks=sinks, state_dir=state_dir, rng=rng, core=core, signage=signage, services=services
    )
    async with gateway:
        await gateway.run(fast=fast, stop=stop)
    return gateway.core


def temporary_state() -> tempfile.TemporaryDirectory[str]:
    """A fresh state directory for a replay or a demo that names none."""
    return tempfile.TemporaryDirectory(prefix="edge-state-")
