"""The bridge's JetStream publishes (batched ``publish_async`` since session 25), on a real mosquitto and a
real three-node NATS cluster: a publish that gets no ack in time is retried with the same ``Nats-Msg-Id``
(JetStream stores the event once); no MQTT PUBACK goes out for a failed publish (a bridge killed while
JetStream refuses its publishes loses nothing: the broker sends the events again to its successor); a clean
stop lets the publishes in flight finish and acknowledges them; a repeated event id is counted as a
duplicate."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import paho.mqtt.client as paho
import pytest

from central import constants as c
from central.cluster import NatsCluster
from central.ingest import Ingest
from central.stream import ensure
from edge.mqtt_link import Link
from tests.mosquitto import Collector, Mosquitto, until_retained
from tests.test_central_ingest import LIMITS, TOPIC, _event, _until

pytestmark = pytest.mark.slow

EVENTS = 60


@contextlib.asynccontextmanager
async def _parts(tmp_path: Path) -> AsyncIterator[tuple[NatsCluster, Mosquitto, nats.NATS]]:
    """A real three-node NATS cluster with the events stream, a real mosquitto, and a NATS client."""
    with NatsCluster(tmp_path / "nats") as cluster, Mosquitto(tmp_path / "mosquitto") as broker:
        nc = await nats.connect(servers=cluster.urls)
        try:
            await ensure(nc.jetstream(), LIMITS)
            yield cluster, broker, nc
        finally:
            await nc.close()


async def _stored(nc: nats.NATS) -> int:
    return int((await nc.jetstream().stream_info(c.EVENTS_STREAM)).state.messages)


async def _until_stored(nc: nats.NATS, count: int, within_s: float) -> int:
    deadline = time.monotonic() + within_s
    while True:
        try:
            stored = await _stored(nc)
        except (nats.errors.Error, TimeoutError):  # no leader yet after the cluster resumed
            stored = -1
        if stored >= count or time.monotonic() > deadline:
            return stored
        await asyncio.sleep(0.2)


async def test_a_publish_without_an_ack_in_time_is_retried_with_its_id_and_stored_once(tmp_path: Path) -> None:
    """JetStream stalls (every node SIGSTOPped) for longer than two publish timeouts while events arrive:
    the bridge holds them all (no PUBACK), retries each; once the nodes resume, the first publishes (still
    in the servers' sockets) and the retries both arrive, and JetStream stores each event once because the
    retry carried the same Nats-Msg-Id. Every event counted once, as forwarded or duplicate."""
    async with _parts(tmp_path) as (cluster, broker, nc):
        ingest = Ingest(broker.url, cluster.urls, name="retry", limits=LIMITS)
        stop = asyncio.Event()
        task = asyncio.create_task(ingest.run(stop))
        publisher = None
        try:
            await asyncio.to_thread(until_retained, broker, {ingest.status_topic: c.INGEST_ONLINE}, 30.0)
            publisher = await asyncio.to_thread(Collector, broker, ("nothing/here",))
            for node in cluster.nodes:
                assert node.proc is not None
                os.kill(node.proc.pid, signal.SIGSTOP)
            try:
                for i in range(EVENTS):
                    await asyncio.to_thread(publisher.publish, TOPIC, _event(i))
                await asyncio.sleep(c.JS_PUBLISH_TIMEOUT_S * 2.5)
                held, retries = ingest.inflight, ingest.stats.retries
            finally:
                for node in cluster.nodes:
                    assert node.proc is not None
                    os.kill(node.proc.pid, signal.SIGCONT)
            await _until(lambda: ingest.stats.forwarded + ingest.stats.duplicates == EVENTS, 60)
            stored = await _until_stored(nc, EVENTS, 30)
        finally:
            if publisher is not None:
                publisher.close()
            stop.set()
            await asyncio.wait_for(task, 15)
    print(f"held {held}, {retries} retries during the stall; stats {ingest.stats}")
    assert held == EVENTS  # none acknowledged on MQTT while JetStream did not answer
    assert retries >= EVENTS  # each timed out at least once
    assert stored == EVENTS
    assert ingest.stats.forwarded + ingest.stats.duplicates == EVENTS
    assert ingest.inflight == 0


def _bridge(broker: Mosquitto, cluster: NatsCluster, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "edge", "central", "ingest", "--mqtt", broker.url, "--nats", cluster.servers]
    with log.open("ab") as out:
        return subprocess.Popen([*cmd, "--name", "killed"], stdout=out, stderr=subprocess.STDOUT)


async def test_no_puback_for_a_failed_publish_so_a_killed_bridge_loses_nothing(tmp_path: Path) -> None:
    """The stream is deleted under a running bridge: every publish fails (no stream answers) and is
    retried. The bridge is killed (-9), the stream made again, the bridge started again: the broker sends
    it every event again (none was PUBACKed), so all are stored. Had a failed publish been acknowledged
    on MQTT, its event would be gone."""
    log = tmp_path / "ingest.log"
    async with _parts(tmp_path) as (cluster, broker, nc):
        js = nc.jetstream()
        status = {c.INGEST_STATUS_TOPIC.format(name="killed"): c.INGEST_ONLINE}
        bridge = _bridge(broker, cluster, log)
        try:
            await asyncio.to_thread(until_retained, broker, status, 30.0)
            await js.delete_stream(c.EVENTS_STREAM)
            publisher = await asyncio.to_thread(Collector, broker, ("nothing/here",))
            try:
                for i in range(EVENTS):
                    await asyncio.to_thread(publisher.publish, TOPIC, _event(i))
            finally:
                publisher.close()
            await asyncio.sleep(1.5)  # each publish failed, and was retried, a few times
            bridge.send_signal(signal.SIGKILL)
            bridge.wait(10)
            await ensure(js, LIMITS)
            assert await _stored(nc) == 0
            bridge = _bridge(broker, cluster, log)
            stored = await _until_stored(nc, EVENTS, 30)
        finally:
            bridge.terminate()
            bridge.wait(15)
    assert "JetStream publish failed" in log.read_text()
    assert stored == EVENTS


async def test_a_clean_stop_finishes_the_publishes_in_flight_and_counts_duplicates(tmp_path: Path) -> None:
    """A burst (every event twice, the second copy a duplicate by id) and a clean stop the moment the bridge
    holds some of it: the stop publishes what the bridge gathered, waits for the acks and PUBACKs them, so
    nothing is left held; each event counted once as forwarded and its repeat as a duplicate."""
    async with _parts(tmp_path) as (cluster, broker, nc):
        ingest = Ingest(broker.url, cluster.urls, name="clean", limits=LIMITS)
        stop = asyncio.Event()
        held_at_stop: list[int] = []
        take = ingest._on_message

        def taking(link: Link, message: paho.MQTTMessage) -> None:
            take(link, message)
            if ingest.stats.forwarded == EVENTS and not stop.is_set():  # a repeat, just taken: stop now
                held_at_stop.append(ingest.inflight)
                stop.set()

        setattr(ingest, "_on_message", taking)  # noqa: B010 - before run() hands it to the MQTT link
        task = asyncio.create_task(ingest.run(stop))
        try:
            await asyncio.to_thread(until_retained, broker, {ingest.status_topic: c.INGEST_ONLINE}, 30.0)
            publisher = await asyncio.to_thread(Collector, broker, ("nothing/here",))
            try:
                for i in range(EVENTS):
                    await asyncio.to_thread(publisher.publish, TOPIC, _event(i))
                await _until(lambda: ingest.stats.forwarded == EVENTS, 30)
                for i in range(EVENTS):  # the same ids again, unpaced
                    publisher.client.publish(TOPIC, _event(i), qos=1)
                await asyncio.wait_for(task, 15)
            finally:
                publisher.close()
            stored = await _stored(nc)
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
    print(f"held {held_at_stop} at the stop; stats {ingest.stats}")
    assert held_at_stop
    assert held_at_stop[0] >= 1
    assert ingest.inflight == 0
    assert stored == ingest.stats.forwarded == EVENTS
    assert 0 < ingest.stats.duplicates <= EVENTS
