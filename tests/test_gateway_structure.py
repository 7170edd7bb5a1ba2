"""The gateway's structure (issue 14): a failing service ends ``edge run`` with a non-zero exit
and a log line naming it; the last good state is restored in one fixed order whatever the
order parts registered in and however their starts are scheduled; services stop in reverse."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from pathlib import Path

import pytest

from edge import app
from edge.config import load
from edge.errors import ServiceError
from edge.events import Event
from edge.inputs import Downlink
from edge.ops import run as ops_run
from edge.ops.notify import Notifier
from edge.ops.overrides import OverrideStore
from edge.ports import Ports, Ready, Service
from edge.router import Route
from tests.helpers import roster_bytes
from tests.test_mqtt_faults import write_run_config, write_shelf_trace
from tests.test_mqtt_sync import make_config, source

PARTS = 6


class Part:
    """A service that owns one retained topic and records when its payload is applied."""

    def __init__(self, ports: Ports, index: int, order: int, log: list[str], rng: random.Random) -> None:
        self.name = f"part-{index}"
        self.ports = ports
        self.topic = f"cdp/v1/store-1/part-{index}"
        self.log = log
        self.rng = rng
        ports.route(Route(self.topic, bytes, self._apply, retain=True, order=order, owner=self.name))

    def _apply(self, payload: bytes, _at: float) -> list[Event]:
        roster = self.ports.view.roster
        self.log.append(f"{self.topic} roster={roster.version if roster else None}")
        return []

    async def run(self, ready: Ready) -> None:
        await asyncio.sleep(self.rng.uniform(0, 0.02))  # a start that takes its time
        self.log.append(f"started {self.name}")
        ready()
        try:
            await asyncio.Event().wait()
        finally:
            self.log.append(f"stopped {self.name}")


def factories(log: list[str], orders: list[int], rng: random.Random) -> list[app.ServiceFactory]:
    indices = list(range(PARTS))
    rng.shuffle(indices)  # registration order: random

    def make(index: int) -> app.ServiceFactory:
        return lambda ports: Part(ports, index, orders[index], log, rng)

    return [make(i) for i in indices]


@pytest.mark.parametrize("seed", range(4))
async def test_restore_order_is_the_same_whatever_the_scheduling(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    orders = [rng.choice([10, 20, 50]) for _ in range(PARTS)]
    expected = sorted(range(PARTS), key=lambda i: (orders[i], f"cdp/v1/store-1/part-{i}"))
    config = make_config(tmp_path, None)
    first: list[str] = []
    async with app.Gateway(config, source(), services=factories(first, orders, rng)) as gateway:
        now = gateway.ports.clock.now()
        topics = [f"cdp/v1/store-1/part-{i}" for i in range(PARTS)]
        rng.shuffle(topics)
        for topic in topics:  # received in a random order
            assert (await gateway.ports.deliver(Downlink(now, topic, b"{}"), None)).rejected is None
        roster = await gateway.ports.deliver(
            Downlink(now, gateway.ports.topics.roster, roster_bytes(version=4, expires=now + 86_400)), None
        )
        assert roster.rejected is None
    for attempt in range(3):  # each restart: another registration order and other start delays
        log: list[str] = []
        async with app.Gateway(config, source(), services=factories(log, orders, rng)):
            pass
        restored = [line for line in log if line.startswith("cdp/")]
        assert restored == [f"cdp/v1/store-1/part-{i} roster=4" for i in expected], f"restart {attempt}"
        starts = [i for i, line in enumerate(log) if line.startswith("started")]
        assert max(i for i, line in enumerate(log) if line.startswith("cdp/")) < min(starts), "restored first"
        started = [line.split()[1] for line in log if line.startswith("started")]
        stopped = [line.split()[1] for line in log if line.startswith("stopped")]
        assert stopped == started[::-1], "stopped in reverse order"


class Boom:
    name = "boom"

    async def run(self, ready: Ready) -> None:
        ready()
        await asyncio.sleep(0.2)
        raise RuntimeError("the advertiser's adapter vanished")


async def test_a_failing_service_ends_the_gateway_with_its_name(tmp_path: Path) -> None:
    config = make_config(tmp_path, None)
    started = time.monotonic()
    with pytest.raises(ServiceError, match="boom") as raised:
        async with app.Gateway(config, source(), services=[lambda _ports: Boom()]):
            await asyncio.sleep(10)  # whatever the gateway's user awaits is cancelled
    assert raised.value.service == "boom"
    assert time.monotonic() - started < 5


async def test_edge_run_exits_non_zero_naming_the_failed_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """``edge run``'s serve(): a service raising ends it with EXIT_SERVICE_FAILED and says which."""
    # A live replay of 20 s and an unreachable broker: only the failure can end it this soon.
    trace = write_shelf_trace(tmp_path / "trace.jsonl", 2000, 0.01, time.time())
    config = load(write_run_config(tmp_path, "mqtt://127.0.0.1:9", trace))
    real = ops_run.services

    def with_boom(*args: object, **kwargs: object) -> list[app.ServiceFactory]:
        def boom(_ports: Ports) -> Service:
            return Boom()

        return [*real(*args, **kwargs), boom]  # type: ignore[arg-type]

    monkeypatch.setattr(ops_run, "services", with_boom)
    caplog.set_level(logging.INFO)
    started = time.monotonic()
    code = await asyncio.wait_for(
        ops_run.serve(config, config, OverrideStore(tmp_path / "state"), Notifier(None), None), 15
    )
    assert time.monotonic() - started < 10
    assert code == ops_run.EXIT_SERVICE_FAILED != 0
    failed = [r for r in caplog.records if "boom" in r.getMessage() and r.levelno >= logging.CRITICAL]
    assert failed, "no log line names the failed service"
    assert "service boom failed" in failed[0].getMessage()


def test_only_the_last_good_store_knows_its_tables() -> None:
    """One last-good store: the gateway and its tools (edge doctor, edge calibrate) read and write
    the kept downlinks and withdrawals through edge/laststate.py (``read_last_good`` for tools),
    never with SQL of their own."""
    package = Path(app.__file__).resolve().parent
    tables = ("downlink_state", "FROM withdrawals", "INTO withdrawals", "UPDATE withdrawals")
    offenders = [
        f"{path.relative_to(package.parent)}: {table}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "laststate.py" or path.parent != package
        for table in tables
        if table in path.read_text()
    ]
    assert offenders == []


def test_topics_are_built_in_edge_topics_only() -> None:
    """One floor for topic names: no f-string outside edge/topics.py spells out ``cdp/v1/…`` or
    ``edge/v1/…`` (docstrings may name them; code builds them with edge.topics.Topics)."""
    import ast

    package = Path(app.__file__).resolve().parent
    offenders = []
    for path in sorted(package.rglob("*.py")):
        if path == package / "topics.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.JoinedStr):
                text = "".join(v.value for v in node.values if isinstance(v, ast.Constant) and isinstance(v.value, str))
                if "cdp/v1" in text or "edge/v1" in text or text.startswith(("cdp/", "edge/")):
                    offenders.append(f"{path.relative_to(package.parent)}:{node.lineno}")
    assert offenders == []


async def test_the_metrics_endpoint_reads_a_gateway_through_its_ports(tmp_path: Path) -> None:
    """The operations services (metrics, systemd) are handed ports, never the Gateway: the snapshot
    a scrape takes comes from the core's view, the outbox and ``ports.readings``."""
    from edge.beacons.replay import ItemsSource
    from edge.ops.metrics import MetricsError, snapshot
    from tests.helpers import START, card_advert

    config = make_config(tmp_path, None)
    items = [Downlink(START, "cdp/v1/store-1/roster", roster_bytes())]
    items += [card_advert(START + 1 + i * 0.25, -45) for i in range(20)]
    async with app.Gateway(config, ItemsSource(iter(items), start=START, speed=None)) as gateway:
        await gateway.run(fast=True)
        shot = snapshot(gateway.ports)
        assert gateway.ports.readings is not None
        assert gateway.ports.readings.beats() == gateway.pipeline.beats
    assert shot.core["adverts_resolved"] == 20
    assert shot.source["adverts"] == 20
    assert shot.zones == {"baby": 1}
    assert shot.outbox_rows >= 1
    assert (shot.mqtt, shot.publish_latency, shot.decisions) == ({}, None, {})  # no broker, no screen
    bare = app.build_ports(config, gateway.core, gateway.pipeline, gateway.ports.clock, tmp_path)
    with pytest.raises(MetricsError, match="needs a running gateway"):
        snapshot(bare)
