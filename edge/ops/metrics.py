"""The Prometheus endpoint (``[metrics] listen = "127.0.0.1:9464"``), with prometheus-client.

Every series is read at scrape time from the running gateway: core and source counters, outbox
depth and drops, shoppers per zone, MQTT counters (``edge_mqtt_connections`` counts reconnects too),
the publish → PUBACK latency histogram the drain keeps (:class:`edge.histogram.Histogram`), and the
signage decisions by screen and kind. Nothing is added to the hot paths but a few integer
increments; the snapshot is taken on the event loop (the HTTP server's thread asks for it with
``run_coroutine_threadsafe``), so it never sees a dict the loop is changing.

No label ever carries a person: zones, screens, kinds, never a token or an address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from edge import constants as c
from edge.config import Config, split_listen

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer


class Gateway(Protocol):
    """What the endpoint reads of the running gateway (:class:`edge.app.Gateway` is one)."""

    @property
    def config(self) -> Config: ...
    @property
    def core(self) -> Any: ...
    @property
    def source(self) -> Any: ...
    @property
    def outbox(self) -> Any: ...
    @property
    def sync(self) -> Any: ...
    @property
    def signage(self) -> Any: ...


log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)
"""The gateway's registry (not the global one: no process/platform collectors of the test runner)."""


@dataclass(slots=True)
class Snapshot:
    """What a scrape reports from the gateway, taken on the event loop."""

    core: dict[str, int] = field(default_factory=dict)
    source: dict[str, int] = field(default_factory=dict)
    zones: dict[str, int] = field(default_factory=dict)
    outbox_rows: int = 0
    outbox_dropped: int = 0
    mqtt: dict[str, int] = field(default_factory=dict)
    publish_latency: tuple[list[tuple[str, float]], float] | None = None
    """Cumulative buckets and the sum, in seconds (None without MQTT)."""
    decisions: dict[tuple[str, str], int] = field(default_factory=dict)
    """(screen, kind) → plays decided."""


def snapshot(gateway: Gateway) -> Snapshot:
    """Read the gateway's counters (call on the loop's thread)."""
    shot = Snapshot(
        core=dict(asdict(gateway.core.counters)),
        source=dict(asdict(gateway.source.counters)),
        zones={zone.id: 0 for zone in gateway.config.zones},
    )
    for occupant in gateway.core.occupants():
        shot.zones[occupant.zone] = shot.zones.get(occupant.zone, 0) + 1
    outbox = getattr(gateway, "outbox", None)
    if outbox is not None:
        shot.outbox_rows = outbox.rows
        shot.outbox_dropped = outbox.dropped
    if gateway.sync is not None:
        shot.mqtt = gateway.sync.health()
        latency = gateway.sync.drain.latency
        shot.publish_latency = (latency.cumulative(), latency.sum_s)
    signage = gateway.signage
    if signage is not None:
        for kind, count in signage.decisions.items():
            shot.decisions[signage.place.screen, kind] = count
    return shot


class GatewayCollector(Collector):
    """Reads a :class:`Snapshot` from the loop at each scrape."""

    def __init__(self, gateway: Gateway, loop: asyncio.AbstractEventLoop) -> None:
        self.gateway = gateway
        self.loop = loop

    async def _snapshot(self) -> Snapshot:
        return snapshot(self.gateway)

    def collect(self) -> Iterator[Metric]:
        future = asyncio.run_coroutine_threadsafe(self._snapshot(), self.loop)
        try:
            shot = future.result(timeout=c.METRICS_SNAPSHOT_TIMEOUT_S)
        except TimeoutError:
            future.cancel()
            log.warning("metrics: the event loop did not answer within %.1f s", c.METRICS_SNAPSHOT_TIMEOUT_S)
            return
        yield from _families(shot)


def _families(shot: Snapshot) -> Iterator[Metric]:
    for name, value in shot.core.items():
        yield CounterMetricFamily(f"edge_{name}", f"core counter {name} (edge.gateway.health)", value=value)
    for name, value in shot.source.items():
        yield CounterMetricFamily(f"edge_source_{name}", f"BLE source counter {name}", value=value)
    shoppers = GaugeMetricFamily("edge_shoppers", "Opted-in shoppers present, per zone", labels=["zone"])
    for zone, count in sorted(shot.zones.items()):
        shoppers.add_metric([zone], count)
    yield shoppers
    yield GaugeMetricFamily("edge_outbox_depth", "Events in the outbox (sent rows kept included)", shot.outbox_rows)
    yield CounterMetricFamily("edge_outbox_dropped", "Unsent events dropped by the outbox bound", shot.outbox_dropped)
    for name, value in shot.mqtt.items():
        if name.startswith("mqtt_"):
            yield CounterMetricFamily(f"edge_{name}", f"MQTT sync counter {name}", value=value)
    if shot.publish_latency is not None:
        buckets, total_s = shot.publish_latency
        yield HistogramMetricFamily(
            "edge_publish_latency_seconds", "From an event's publish to its PUBACK", buckets=buckets, sum_value=total_s
        )
    decisions = CounterMetricFamily(
        "edge_decisions", "Signage plays decided, by screen and kind", labels=["screen", "kind"]
    )
    for (screen, kind), count in sorted(shot.decisions.items()):
        decisions.add_metric([screen, kind], count)
    yield decisions


class MetricsServer:
    """The HTTP endpoint as an async context manager (prometheus-client's server thread)."""

    def __init__(self, listen: str, gateway: Gateway) -> None:
        self.host, self.port = split_listen(listen)
        self.gateway = gateway
        self._server: WSGIServer | None = None
        self._collector: GatewayCollector | None = None

    async def __aenter__(self) -> Self:
        self._collector = GatewayCollector(self.gateway, asyncio.get_running_loop())
        REGISTRY.register(self._collector)
        try:
            server, _thread = start_http_server(self.port, addr=self.host, registry=REGISTRY)
        except OSError as err:
            REGISTRY.unregister(self._collector)
            log.error("metrics: cannot listen on %s:%d (%s); running without metrics", self.host, self.port, err)
            return self
        self._server = server
        self.port = server.server_address[1]
        log.info("metrics on http://%s:%d/metrics", self.host, self.port)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server.shutdown)
            server.server_close()
            assert self._collector is not None
            REGISTRY.unregister(self._collector)
