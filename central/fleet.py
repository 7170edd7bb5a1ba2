"""The fleet simulator: many gateways in one process, each with the ``edge`` package's own outbox
(:class:`edge.outbox.Outbox`, its SQLite file), drain (:class:`edge.sync.drain.Drain`) and MQTT
connection (:class:`edge.mqtt_link.Link`), publishing ``edge.shelf.interaction`` events at a set
rate. After ``seconds`` it stops producing, waits (bounded) until every outbox is drained, and
reports per gateway how many events it made: the ``sequence`` numbers 1..n the stream must hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from central.mqtt_link import link_settings
from edge.events import SHELF_INTERACTION, EventFactory
from edge.mqtt_link import Link, LinkError
from edge.outbox import Outbox
from edge.sync.drain import Drain
from edge.sync.policy import Backoff
from edge.sync.topics import Topics
from edge.tasks import cancel_and_wait

log = logging.getLogger(__name__)

GATEWAYS_PER_STORE = 4
"""A store has a few boxes (entrance, aisles, tills): four is the sizing assumption of docs/central.md."""

TICK_S = 1.0
"""Events are committed to each outbox in batches every tick (one SQLite transaction each), as the
pipeline batches a burst; 10 ev/s per gateway is then 10 events per commit, made at the tick (their
``time`` is the commit's, so the batching adds no lag to the figures). Each gateway's ticks start at a
random phase, so the fleet's load is spread over the second. A shorter tick costs the simulator
(not the central side) one more SQLite transaction, claim and PUBACK commit per gateway per tick:
at 0.25 s the simulator alone used ~1.5x the CPU for 200 gateways."""

DRAIN_TIMEOUT_S = 120.0
"""How long the end of a run waits for the outboxes to empty (a broker restart late in the run)."""


@dataclass(frozen=True, slots=True)
class FleetSpec:
    mqtt_url: str
    gateways: int
    rate: float
    """Events per second per gateway."""
    seconds: float
    state_dir: Path
    first: int = 0
    """Index of the first gateway (several processes split one fleet)."""
    mqtt5: bool = True
    seed: int = 1


def gateway_ids(index: int) -> tuple[str, str]:
    return f"store-{index // GATEWAYS_PER_STORE:04d}", f"gw-{index % GATEWAYS_PER_STORE}"


class SimGateway:
    def __init__(self, index: int, spec: FleetSpec, rng: random.Random) -> None:
        self.store, self.gateway = gateway_ids(index)
        self.spec = spec
        self.topics = Topics(self.store, self.gateway)
        directory = spec.state_dir / f"{self.store}-{self.gateway}"
        directory.mkdir(parents=True, exist_ok=True)
        self.factory = EventFactory(self.store, self.gateway, random.Random(rng.getrandbits(64)))  # noqa: S311
        self.outbox = Outbox(directory, self.factory.source)
        self.drain = Drain(self.outbox, self.topics)
        self.settings = link_settings(spec.mqtt_url, f"edge-{self.store}-{self.gateway}", mqtt5=spec.mqtt5)
        self.backoff = Backoff(0.5, 5.0, 0.5, random.Random(rng.getrandbits(64)))  # noqa: S311 - jitter
        self.made = 0
        self.connections = 0
        self.link: Link | None = None

    async def produce(self, started: float, stop_at: float, phase_s: float) -> None:
        """``rate`` events per second from ``started`` to ``stop_at``, committed at ticks (absolute
        times ``started + phase_s + k * TICK_S``, so a late tick catches up instead of drifting)."""
        tick = started + phase_s
        while True:
            await asyncio.sleep(max(0.0, tick - time.monotonic()))
            now = min(time.monotonic(), stop_at)
            n = int((now - started) * self.spec.rate) - self.made
            if n > 0:
                at = time.time()
                events = [
                    self.factory.make(
                        SHELF_INTERACTION, at, "shelf-1", {"shelf": "shelf-1", "action": "pickup", "n": self.made + i}
                    )
                    for i in range(n)
                ]
                await self.outbox.append(events)
                self.made += n
                self.drain.notify()
            if now >= stop_at:
                return
            tick = min(tick + TICK_S, stop_at)

    async def connection_loop(self) -> None:
        """Connect, drain until the link drops, back off, again (edge.sync.service's loop, minus downlinks)."""
        while True:
            await self.outbox.next_session()
            link = Link(self.settings, on_message=lambda _link, _msg: None, on_puback=self.drain.on_puback)
            try:
                _present, window = await link.connect(will_topic=self.topics.status, will=b'{"state":"offline"}')
            except LinkError as err:
                delay = self.backoff.next_delay()
                log.debug("%s: %s; retrying in %.1f s", self.topics.up, err, delay)
                await asyncio.sleep(delay)
                continue
            self.backoff.reset()
            self.link = link
            self.connections += 1
            await self.drain.run(link, window)
            await link.closed
            await asyncio.sleep(self.backoff.next_delay())

    async def unsent(self) -> int:
        return await self.outbox.depth() + self.drain.inflight

    def summary(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "gateway": self.gateway,
            "made": self.made,
            "published": self.drain.published,
            "acked": self.drain.acked,
            "dropped": self.outbox.dropped,
            "connections": self.connections,
        }


async def run_fleet(spec: FleetSpec) -> dict[str, Any]:
    """Run the fleet slice; the summary (per gateway and totals) once every outbox is drained."""
    rng = random.Random(spec.seed * 1_000_003 + spec.first)  # noqa: S311 - simulation, not secrets
    gateways = [SimGateway(i, spec, rng) for i in range(spec.first, spec.first + spec.gateways)]
    started = time.monotonic()
    async with contextlib.AsyncExitStack() as stack:
        for gw in gateways:
            await stack.enter_async_context(gw.outbox)
        links = [asyncio.create_task(gw.connection_loop()) for gw in gateways]
        stop_at = started + spec.seconds
        await asyncio.gather(*(gw.produce(started, stop_at, rng.uniform(0, TICK_S)) for gw in gateways))
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while time.monotonic() < deadline:
            left = sum([await gw.unsent() for gw in gateways])
            if left == 0:
                break
            await asyncio.sleep(0.2)
        for gw in gateways:
            await gw.drain.commit_acks()
        await cancel_and_wait(*links)  # a cancellation of the run itself is never swallowed
        unsent = sum([await gw.unsent() for gw in gateways])
        for gw in gateways:
            if gw.link is not None:
                await gw.link.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    per = [gw.summary() for gw in gateways]
    return {
        "gateways": per,
        "made": sum(g["made"] for g in per),
        "published": sum(g["published"] for g in per),
        "acked": sum(g["acked"] for g in per),
        "dropped": sum(g["dropped"] for g in per),
        "unsent": unsent,
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
        "wall_s": round(time.monotonic() - started, 3),
    }
