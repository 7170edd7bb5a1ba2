"""The asyncio side of the camera: check-ins in, the camera process driven, events out.

:class:`VisionService` (one service: ``VisionService(ports)``, :mod:`edge.ports`) routes the
``cdp/v1/{store}/checkin`` downlink to itself, runs the :class:`~edge.vision.gate.Gate` and the
camera process (:mod:`edge.vision.worker`), publishes ``edge.identity.verified`` through the
ports, and delivers the shelf regions' readings to the core's writer (attribution is the core's).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
from collections import Counter
from collections.abc import Awaitable, Coroutine
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Self

import msgspec

from edge import constants as c
from edge import events as ev
from edge.errors import DownlinkError, VisionError, VisionFailureReason
from edge.events import Event
from edge.inputs import ShelfReading
from edge.ports import Ports, Ready
from edge.router import Route
from edge.topics import Topics
from edge.vision.gate import Gate, Refusal, Session
from edge.vision.regions import Region
from edge.vision.worker import WorkerSpec, worker_main

log = logging.getLogger(__name__)

INFLIGHT_FINISH_TIMEOUT_S = 1.0
"""How long a stop waits for an event being committed (a commit takes milliseconds; the whole stop
must stay within the 5 s a signal allows, camera process included)."""


class _Checkin(msgspec.Struct, forbid_unknown_fields=False):
    token: str
    screen: str


def checkin_topic(store: str) -> str:
    return Topics(store, "-").checkin


class VisionService:
    """See the module docstring. ``counters`` holds refusals by reason, camera opens and outcomes."""

    name = "vision"

    def __init__(self, ports: Ports) -> None:
        config = ports.config
        self.ports = ports
        self._config = config
        self._vision = config.vision
        self._view = ports.view
        self._clock = ports.clock
        self._topic = ports.topics.checkin
        self._unroute = ports.route(Route(self._topic, self._decode_checkin, self._on_checkin, owner=self.name))
        self.gate = Gate(
            enabled=config.vision.enabled,
            screen=config.vision.screen,
            screen_zones={s.id: s.zone for s in config.screens},
            window_s=config.vision.window_s,
        )
        self.counters: Counter[str] = Counter()
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._ready: asyncio.Future[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        """The ticker and the publish/deliver tasks, while entered: a task that fails cancels the
        service's task and the error ends the gateway naming this service (nothing dies silently)."""
        self._ticker: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        """Publish/deliver tasks not done yet: a stop lets them finish (bounded) before the group ends."""
        self.changed = asyncio.Event()
        """Set whenever a worker message arrived (tests wait on it)."""

    # --- lifecycle ----------------------------------------------------------------------------

    async def run(self, ready: Ready) -> None:
        """The camera process until cancelled."""
        async with self:
            ready()
            await asyncio.Event().wait()

    async def __aenter__(self) -> Self:
        group = asyncio.TaskGroup()
        await group.__aenter__()
        self._group = group
        if self._vision.enabled:
            try:
                await self._start_worker()
            except BaseException as err:
                self._group = None
                await group.__aexit__(type(err), err, err.__traceback__)
                raise
            self._ticker = group.create_task(self._tick(), name="edge-vision-tick")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._unroute()
        group, self._group = self._group, None  # no new tasks from here on
        try:
            if self._ticker is not None:
                self._ticker.cancel()  # the group waits for it (and for the publish tasks left) below
            await self._stop_worker()
            if self._inflight:  # an event being committed is finished, not cancelled
                await asyncio.wait(self._inflight, timeout=INFLIGHT_FINISH_TIMEOUT_S)
        finally:
            if group is not None:
                await group.__aexit__(exc_type, exc, tb)

    async def _start_worker(self) -> None:
        vision = self._vision
        regions = tuple(
            Region(r.id, r.shelf, r.sku, r.rect, r.action, r.motion_fraction, r.debounce_s) for r in vision.regions
        )
        spec = WorkerSpec(vision.source, vision.fps, vision.threshold, c.FACE_MIN_SIZE_PX, vision.shelf_source, regions)
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(target=worker_main, args=(child, spec), name="edge-vision", daemon=True)
        process.start()
        child.close()
        self._conn, self._process = parent, process
        loop = asyncio.get_running_loop()
        self._ready = loop.create_future()
        loop.add_reader(parent.fileno(), self._on_readable)
        try:
            async with asyncio.timeout(c.VISION_WORKER_START_TIMEOUT_S):
                await asyncio.shield(self._ready)
        except TimeoutError:
            await self._stop_worker()
            raise VisionError(
                f"the camera process did not start within {c.VISION_WORKER_START_TIMEOUT_S:g} s",
                reason=VisionFailureReason.WORKER,
            ) from None
        except VisionError:
            await self._stop_worker()
            raise

    async def _stop_worker(self) -> None:
        conn, process = self._conn, self._process
        self._conn = self._process = None
        if conn is not None:
            with contextlib.suppress(OSError, ValueError):
                asyncio.get_running_loop().remove_reader(conn.fileno())
            with contextlib.suppress(OSError, BrokenPipeError):
                conn.send(("stop",))
        if process is not None:
            await asyncio.to_thread(process.join, c.VISION_WORKER_STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join, c.VISION_WORKER_STOP_TIMEOUT_S)
        if conn is not None:
            conn.close()

    # --- check-ins ----------------------------------------------------------------------------

    def _decode_checkin(self, payload: bytes) -> _Checkin:
        try:
            checkin = msgspec.json.decode(payload, type=_Checkin)
        except msgspec.DecodeError as err:
            raise DownlinkError(f"check-in rejected: {err}", topic=self._topic) from None
        if not 0 < len(checkin.token) <= 128 or not 0 < len(checkin.screen) <= 64:
            raise DownlinkError("check-in rejected: token 1..128 and screen 1..64 characters", topic=self._topic)
        return checkin

    def _on_checkin(self, checkin: _Checkin, _at: float) -> list[Event]:
        """The route of ``cdp/v1/{store}/checkin``; events come later, from the worker."""
        view = self._view
        now = self._clock.now()
        result = self.gate.checkin(checkin.token, checkin.screen, now, view.roster, view.zone_of(checkin.token))
        if isinstance(result, Refusal):
            self.counters[f"refused_{result.value}"] += 1
            log.info("check-in at %s refused: %s", checkin.screen[:64], result.value)
            return []
        self._send(("verify", result.id, result.template, result.model, self._vision.window_s, self._vision.roi))
        self.counters["sessions"] += 1
        return []

    def _send(self, message: tuple[Any, ...]) -> None:
        if self._conn is None:
            return
        try:
            self._conn.send(message)
        except (OSError, BrokenPipeError):
            log.error("the camera process is gone; restart the gateway")

    async def _tick(self) -> None:
        view = self._view
        while True:
            await asyncio.sleep(c.VISION_TICK_S)
            session = self.gate.active
            if session is None:
                continue
            now = self._clock.now()
            zone = view.zone_of(session.token)
            ended = self.gate.review(now, view.roster, zone)
            if ended is not None:
                self.counters[f"ended_{self.gate.why_ended(ended, now, view.roster, zone).value}"] += 1
                self._send(("cancel", ended.id))

    # --- the worker's messages ----------------------------------------------------------------

    def _on_readable(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            while conn.poll():
                self._on_message(conn.recv())
        except (EOFError, OSError):
            with contextlib.suppress(OSError, ValueError):
                asyncio.get_running_loop().remove_reader(conn.fileno())
            if self._ready is not None and not self._ready.done():
                self._ready.set_exception(
                    VisionError("the camera process exited while starting", reason=VisionFailureReason.WORKER)
                )
            self.gate.active = None
            self.counters["worker_exited"] += 1
        self.changed.set()

    def _on_message(self, message: tuple[Any, ...]) -> None:
        kind = message[0]
        ready = self._ready
        if kind == "ready" and ready is not None and not ready.done():
            ready.set_result(None)
        elif kind == "failed" and ready is not None and not ready.done():
            ready.set_exception(VisionError(str(message[1]), reason=VisionFailureReason.WORKER))
        elif kind == "opened":
            self.counters["camera_opened"] += 1
        elif kind == "closed":
            self.counters["camera_closed"] += 1
        elif kind == "verified":
            session = self.gate.finish(int(message[1]))
            if session is not None:
                self.counters["verified"] += 1
                self._publish([self._verified_event(session)])
        elif kind == "ended":
            if self.gate.finish(int(message[1])) is not None:
                self.counters[f"ended_{message[2]}"] += 1
            if message[2] == "failed":
                log.error("camera: %s", message[3])
        elif kind == "motion":
            self._on_motion(str(message[2]), str(message[3]), str(message[4]))

    def _verified_event(self, session: Session) -> Event:
        now = self._clock.now()
        data = {"token": session.token, "screen": session.screen}
        return self._view.factory.make(ev.IDENTITY_VERIFIED, now, session.screen, data, token=session.token)

    def _on_motion(self, shelf: str, sku: str, action: str) -> None:
        self.counters["shelf_motion"] += 1
        reading = ShelfReading(self._clock.now(), shelf, "pickup" if action == "pickup" else "touch", sku)
        self._spawn(self.ports.deliver(reading, None))  # the core's writer attributes it

    def _publish(self, events: list[Event]) -> None:
        self._spawn(self.ports.publish(events))

    def _spawn(self, work: Awaitable[object]) -> None:
        group = self._group
        if group is None:  # stopping: the worker's last messages are not acted on
            if isinstance(work, Coroutine):
                work.close()
            return
        task = group.create_task(_awaited(work))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)


async def _awaited(work: Awaitable[object]) -> None:
    """A port's awaitable as a coroutine, for the task group."""
    await work
