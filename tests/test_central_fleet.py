"""The fleet into a real three-node NATS JetStream cluster through a real mosquitto and two ingest
processes, with faults: the stream leader's node killed (-9) mid-run and restarted, one ingest
process killed (-9) and restarted, mosquitto restarted once. Then: 0 events lost, every duplicate
removed by JetStream (and counted), every message a valid CloudEvent, each gateway's events handed
to the CDP in ``sequence`` order with no gap. About a minute: marked slow."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import nats
import nats.errors
import pytest

from central import constants as c
from central.cluster import NatsCluster
from central.consumer import CdpConsumer
from central.stream import StreamLimits, ensure
from tests.mosquitto import Mosquitto, until_bridges_online

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]
"""About 27 s here on a loaded 2-core machine, 60 s and more when another cluster runs beside it: the
default 60 s cut it off before its own bounded waits could say which step was late."""

GATEWAYS = 10
RATE = 10.0
SECONDS = 20.0
TEST_LIMITS = StreamLimits(max_bytes=256 * 1024**2)
ONLINE_WITHIN_S = 60.0
"""An ingest process is subscribed ~1-2 s after its start here; a slow CI hour takes longer."""
STORED_REQUEST_S = 5.0
"""Each request for the stream's count waits this long for its answer (nats-py's default); the wait for the
count as a whole is longer (60 s), and a request that times out meanwhile is made again."""


def _ingest(mqtt: str, servers: str, name: str, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "edge", "central", "ingest", "--mqtt", mqtt, "--nats", servers, "--name", name]
    with log.open("ab") as err:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)


def _stats(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    return dict(json.loads(out.decode().strip().splitlines()[-1]))


async def _stream_leader(servers: list[str]) -> str:
    nc = await nats.connect(servers=servers)
    try:
        js = nc.jetstream()
        await ensure(js, TEST_LIMITS)
        info = await js.stream_info(c.EVENTS_STREAM)
        assert info.cluster is not None
        return str(info.cluster.leader)
    finally:
        await nc.close()


async def count_stored(servers: list[str], expected: int, within_s: float) -> tuple[int | None, str]:
    """The events stream's message count once it reaches ``expected`` or ``within_s`` has passed (JetStream
    removed the copies), and the last failed request's error. Each request has its own bound
    (:data:`STORED_REQUEST_S`); one that fails -- the stream without a leader after its node's kill answers
    nothing for several seconds -- is asked again until the deadline. None: no request was answered."""
    nc = await nats.connect(servers=servers)
    try:
        js = nc.jetstream(timeout=STORED_REQUEST_S)
        deadline = time.monotonic() + within_s
        stored: int | None = None
        error = ""
        while True:
            try:
                stored = int((await js.stream_info(c.EVENTS_STREAM)).state.messages)
            except nats.errors.Error as err:  # a timeout (no leader), no responders, JetStream unavailable
                error = f"{type(err).__name__}: {err}"
            if (stored is not None and stored >= expected) or time.monotonic() >= deadline:
                return stored, error
            await asyncio.sleep(0.2)
    finally:
        await nc.close()


async def _until_stored(servers: list[str], expected: int, within_s: float = 60.0) -> None:
    """Until the events stream holds ``expected`` messages; a shortfall is an AssertionError (never a bare
    TimeoutError of one request), so the test's diagnostics (:func:`_explain`) run."""
    stored, error = await count_stored(servers, expected, within_s)
    last = f" (the last failed request: {error})" if error else ""
    shortfall = f"{stored} of {expected} events in the stream after {within_s} s{last}"
    assert stored is not None, shortfall
    assert stored >= expected, shortfall


def _explain(tmp: Path, servers: list[str], summary: dict[str, Any], ingests: dict[str, Any]) -> None:
    """What a run that came up short leaves for whoever reads CI's log (it failed once there, 1998 of
    2000, and could not be told apart then): the events missing per gateway, whether an ingest still
    held some (awaiting JetStream) or none (the broker never delivered them), and each log's tail."""
    for name, proc in ingests.items():
        try:
            print(f"ingest {name} at its stop: {_stats(proc)}")
        except (subprocess.TimeoutExpired, ValueError, IndexError) as err:
            print(f"ingest {name}: no stats ({err!r})")
    _, delivered, stored = asyncio.run(_consume(servers, summary["made"]))
    missing = {
        f"{g['store']}/{g['gateway']}": sorted(
            set(range(1, g["made"] + 1)) - set(delivered.get((g["store"], g["gateway"]), []))
        )
        for g in summary["gateways"]
    }
    print(f"stored {stored} of {summary['made']}; missing: { ({k: v for k, v in missing.items() if v}) }")
    for log in (tmp / "ingest.log", tmp / "fleet.log", tmp / "mosquitto" / "broker.log"):
        lines = log.read_text(errors="replace").splitlines() if log.exists() else []
        print(f"--- the last lines of {log.name}:", *lines[-40:], sep="\n")


def _end(*procs: subprocess.Popen[bytes]) -> None:
    """Whatever still runs is killed and every pipe closed (also when the test failed midway)."""
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=20)


async def _consume(servers: list[str], expected: int) -> tuple[CdpConsumer, dict[tuple[str, str], list[int]], int]:
    delivered: dict[tuple[str, str], list[int]] = {}

    def deliver(store: str, gateway: str, seq: int, event: dict[str, Any]) -> None:
        delivered.setdefault((store, gateway), []).append(seq)

    nc = await nats.connect(servers=servers)
    try:
        js = nc.jetstream()
        consumer = CdpConsumer(js, deliver, hold_s=2.0)
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        deadline = time.monotonic() + 30
        while sum(map(len, delivered.values())) < expected and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.5)  # anything extra (a duplicate, a gap) shows up now
        stop.set()
        await asyncio.wait_for(task, 10)
        stored = (await js.stream_info(c.EVENTS_STREAM)).state.messages
        return consumer, delivered, stored
    finally:
        await nc.close()


def test_fleet_with_faults(tmp_path: Path) -> None:
    with NatsCluster(tmp_path / "nats") as cluster, Mosquitto(tmp_path / "mosquitto") as broker:
        leader = asyncio.run(_stream_leader(cluster.urls))
        victim = next(i for i, n in enumerate(cluster.nodes) if n.name == leader)
        logs = tmp_path / "ingest.log"
        ingests = {name: _ingest(broker.url, cluster.servers, name, logs) for name in ("i1", "i2")}
        # The fleet starts once both bridges are subscribed: an event published before any subscription
        # matches it is PUBACKed and dropped by the broker. Started together, the fleet's first PUBLISH came
        # before the first SUBSCRIBE in 2 of 12 starts here, and those lost 2 and 5 events: one of the two
        # ways CI's 1998 of 2000 could come about (docs/central.md, "Events that no subscription held").
        until_bridges_online(broker, ingests, ONLINE_WITHIN_S)
        fleet_cmd = [sys.executable, "-m", "edge", "central", "fleet-sim", "--mqtt", broker.url]
        fleet_cmd += ["--gateways", str(GATEWAYS), "--rate", str(RATE), "--seconds", str(SECONDS)]
        fleet_cmd += ["--state-dir", str(tmp_path / "fleet")]
        with (tmp_path / "fleet.log").open("ab") as err:
            fleet = subprocess.Popen(fleet_cmd, stdout=subprocess.PIPE, stderr=err)
        try:
            time.sleep(4)
            cluster.kill(victim)  # the stream leader's node: a Raft election while events flow
            time.sleep(3)
            ingests["i1"].send_signal(signal.SIGKILL)  # un-acknowledged messages stay in its session
            ingests["i1"].communicate(timeout=10)
            time.sleep(1)
            ingests["i1"] = _ingest(broker.url, cluster.servers, "i1", logs)
            time.sleep(2)
            broker.stop()  # a clean restart: persisted sessions and queues come back
            broker.start()
            time.sleep(2)
            cluster.restart(victim)
            out, _ = fleet.communicate(timeout=150)
            summary = json.loads(out.decode().strip().splitlines()[-1])
            # The fleet's outboxes are drained into mosquitto; the ingests forward the rest before they
            # stop (a fixed 1 s raced that after the faults: what they had not taken stays in the broker).
            try:
                asyncio.run(_until_stored(cluster.urls, summary["made"]))
            except AssertionError:
                _explain(tmp_path, cluster.urls, summary, ingests)
                raise
            stats = [_stats(p) for p in ingests.values()]
        finally:
            _end(fleet, *ingests.values())
        consumer, delivered, stored = asyncio.run(_consume(cluster.urls, summary["made"]))

    made = {(g["store"], g["gateway"]): g["made"] for g in summary["gateways"]}
    assert summary["unsent"] == 0
    assert summary["dropped"] == 0
    assert summary["made"] >= GATEWAYS * RATE * SECONDS * 0.8
    # 0 lost, per-gateway order: each gateway's sequence 1..n, in order, exactly once.
    assert delivered == {k: list(range(1, n + 1)) for k, n in made.items()}
    assert stored == summary["made"]  # duplicates never reached the stream
    assert consumer.invalid == 0
    assert consumer.reorder.duplicates == 0
    assert not consumer.reorder.gaps
    duplicates = sum(s["duplicates"] for s in stats)
    # Copies were sent (mosquitto restart, ingest kill) and JetStream dropped them: the count is reported.
    print(f"made {summary['made']}, stored {stored}, duplicates removed by JetStream {duplicates}, ingest {stats}")
    lags = sorted(consumer.lags_s)
    assert lags
