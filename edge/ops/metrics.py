"""The Prometheus endpoint (``[metrics] listen = "127.0.0.1:9464"``), with prometheus-client.

Every series is read at scrape time from the running gateway, through its ports (the core's view,
the outbox and :class:`edge.ports.Readings`; never the gateway object): core and source counters, outbox
depth and drops, shoppers per zone, MQTT counters (``edge_mqtt_connections`` counts reconnects too),
the publish → PUBACK latency histogram the drain keeps (:class:`edge.histogram.Histogram`), the
signage decisions by screen and kind, and what the presence engine learned of the radio (the learned
exponent and sigma, each scanner's learned calibration offset: ``edge_presence_radio{quantity,scanner}``).
Nothing is added to the hot paths but a few integer increments; the snapshot is taken on the event loop (the
HTTP server's thread asks for it with ``run_coroutine_threadsafe``), so it never sees a dict the loop is changing.

No label ever carries a person: zones, screens, kinds, scanners, never a token or an address.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Self

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from edge import constants as c
from edge.config import split_listen
from edge.errors import EdgeError
from edge.ports import Ports

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer


log = logging.getLogger(__name__)


class MetricsError(EdgeError):
    """The endpoint was given ports without a gateway behind them."""


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
    outbox_withdrawn_dropped: int = 0
    mqtt: dict[str, int] = field(default_factory=dict)
    publish_latency: tuple[list[tuple[str, float]], float] | None = None
    """Cumulative buckets and the sum, in seconds (None without MQTT)."""
    decisions: dict[tuple[str, str], int] = field(default_factory=dict)
    """(screen, kind) → plays decided."""
    radio: dict[str, float | None] = field(default_factory=dict)
    """What the presence engine learned of the radio (:meth:`edge.ports.CoreView.radio`)."""


def snapshot(ports: Ports) -> Snapshot:
    """Read the gateway's counters through its ports (call on the loop's thread)."""
    readings = ports.readings
    if readings is None:
        raise MetricsError("the metrics endpoint needs a running gateway's ports (ports.readings)")
    shot = Snapshot(
        core=dict(asdict(ports.view.counters)),
        source=readings.source_counters(),
        zones={zone.id: 0 for zone in ports.config.zones},
    )
    for occupant in ports.view.occupants():
        shot.zones[occupant.zone] = shot.zones.get(occupant.zone, 0) + 1
    shot.outbox_rows = ports.outbox.rows
    shot.outbox_dropped = ports.outbox.dropped
    shot.outbox_withdrawn_dropped = ports.outbox.withdrawn_dropped
    shot.mqtt = readings.mqtt()
    shot.publish_latency = readings.publish_latency()
    shot.decisions = readings.decisions()
    shot.radio = ports.view.radio()
    return shot


class GatewayCollector(Collector):
    """Reads a :class:`Snapshot` from the loop at each scrape."""

    def __init__(self, ports: Ports, loop: asyncio.AbstractEventLoop) -> None:
        self.ports = ports
        self.loop = loop

    async def _snapshot(self) -> Snapshot:
        return snapshot(self.ports)

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
    yield CounterMetricFamily(
        "edge_outbox_withdrawn_dropped",
        "Events about a shopper who withdrew before their commit, neither written nor sent",
        shot.outbox_withdrawn_dropped,
    )
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
    radio = GaugeMetricFamily(
        "edge_presence_radio",
        "What the presence engine learned of the radio (model and grid engines): exponent, sigma_db, ...; "
        "per scanner offset_db (learned), offset_applied_db, offset_se_db",
        labels=["quantity", "scanner"],
    )
    for name, learned in sorted(shot.radio.items()):
        if learned is not None:
            quantity, _, scanner = name.partition(":")
            radio.add_metric([quantity, scanner], learned)
    yield radio


class MetricsServer:
    """The HTTP endpoint as an async context manager (prometheus-client's server thread)."""

    def __init__(self, listen: str, ports: Ports) -> None:
        self.host, self.port = split_listen(listen)
        self.ports = ports
        self._server: WSGIServer | None = None
        self._collector: GatewayCollector | None = None

    async def __aenter__(self) -> Self:
        self._collector = GatewayCollector(self.ports, asyncio.get_running_loop())
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
