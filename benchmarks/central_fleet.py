"""The fleet into a three-node NATS JetStream cluster, with faults, beside a bare nats-py publish loop.

(b), shipped: simulated gateways (edge's outbox + drain + MQTT 5 each, `edge central fleet-sim`) →
mosquitto → 2 ingest processes (`edge central ingest`) → the R3 stream, the fleet started once both
bridges say `online`; mid-run the stream leader's node is killed (-9) and restarted, one ingest
process killed (-9) and restarted, mosquitto restarted. A CDP consumer (pull, explicit ack) reads
live: lag p50/p95, lost, duplicates, gaps, invalid. Each bridge forwards every event, so JetStream
removes about (bridges - 1) copies of every event: `duplicates_of_the_bridges` says how many of its
duplicates that is, `duplicates_beyond_the_bridges` the rest (resends, redeliveries after the faults).
(a), evaluated: the same fleet over MQTT 3.1.1 straight into NATS's own MQTT listener, no faults.
Peer: a bare nats-py JetStream publish loop (publish_async, Nats-Msg-Id) of the same events.

    python benchmarks/central_fleet.py [--gateways 50 --rate 10 --seconds 30] [--full] [--no-direct]
    --full = 200 gateways x 10 ev/s x 300 s in 2 fleet processes (the issue's run)

The simulated gateways' outboxes live on /dev/shm when it exists: 200 boxes' SQLite fsyncs on one
disk would measure that disk, not the fleet side (each real gateway has its own storage). The CPU of
every part is reported (fleet, mosquitto, ingest, each NATS node, the consumer with this harness).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import report

try:
    import nats
    import nats.js.errors

    from central import constants as c
    from central.cluster import NatsCluster, free_port
    from central.consumer import CdpConsumer
    from central.stream import StreamLimits, ensure
except ImportError as err:  # the central extra is not installed (e.g. a make-bench environment)
    print(
        json.dumps({"benchmark": "central_fleet", "skipped": f"not installed: {err.name} (pip install -e .[central])"})
    )
    sys.exit(0)

from tests.mosquitto import Mosquitto, until_bridges_online

LIMITS = StreamLimits(max_bytes=2 * 1024**3)
BARE_STREAM_WITHIN_S = 30.0
"""How long the bare loop's R3 stream may wait for its three peers: on a saturated box a node can still be
joining the cluster's meta group after the events stream was made (seen at load 30: "peer offline")."""
ONLINE_WITHIN_S = 120.0
"""How long the bridges may take to subscribe (~1-2 s idle; tens of seconds for a Python start on a saturated box)."""


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


METRICS_PORTS = {f"i{k}": free_port() for k in range(1, 9)}


def ingest(mqtt: str, servers: str, name: str, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "edge", "central", "ingest", "--mqtt", mqtt, "--nats", servers, "--name", name]
    cmd += ["--metrics-port", str(METRICS_PORTS[name])]
    with log.open("ab") as err:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)


def ingest_counters(name: str) -> dict[str, float]:
    """An ingest process's counters from its metrics endpoint (read before it is killed -9)."""
    out: dict[str, float] = {}
    with (
        contextlib.suppress(OSError),
        urllib.request.urlopen(f"http://127.0.0.1:{METRICS_PORTS[name]}/metrics", timeout=2) as reply,
    ):
        for line in reply.read().decode().splitlines():
            for key in ("forwarded", "duplicates"):
                if line.startswith(f"central_ingest_{key}_total "):
                    out[key] = float(line.split()[1])
    return out


def broker_dropping(log: Path) -> dict[str, int]:
    """How often mosquitto said it began dropping a client's messages (its queue at ``max_queued_messages``),
    per client: a bridge that falls that far behind loses events after their PUBACK to the gateway, in the
    broker, and a run that shows it measured a bridge tier too slow for the fleet (or a queue too short)."""
    counts: dict[str, int] = {}
    text = log.read_text(errors="replace") if log.exists() else ""
    for line in text.splitlines():
        if "Outgoing messages are being dropped for client " in line:
            client = line.rsplit(" ", 1)[-1].rstrip(".")
            counts[client] = counts.get(client, 0) + 1
    return counts


def state_dir(name: str) -> Path:
    """A fresh directory for the simulated outboxes: on /dev/shm when there is one (see above)."""
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix=f"central-{name}-", dir=shm if shm.is_dir() else None))


def fleet(
    mqtt: str, args: argparse.Namespace, state: Path, log: Path, *, mqtt3: bool = False
) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "edge", "central", "fleet-sim", "--mqtt", mqtt, "--gateways", str(args.gateways)]
    cmd += ["--rate", str(args.rate), "--seconds", str(args.seconds), "--processes", str(args.processes)]
    cmd += ["--state-dir", str(state)] + (["--mqtt3"] if mqtt3 else [])
    with log.open("ab") as err:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err)


async def bare_loop(servers: list[str], n: int) -> dict[str, float]:
    """The peer: n events published to an R3 stream with Nats-Msg-Id, 1,000 awaiting acks."""
    nc = await nats.connect(servers=servers)
    js = nc.jetstream(publish_async_max_pending=1000)
    from nats.js.api import StorageType, StreamConfig

    config = StreamConfig(
        name="BARE", subjects=["bare.>"], num_replicas=3, storage=StorageType.FILE, duplicate_window=60
    )
    deadline = time.monotonic() + BARE_STREAM_WITHIN_S
    while True:
        try:
            await js.add_stream(config)
            break
        except nats.js.errors.BadRequestError as err:  # "no suitable peers for placement, peer offline"
            if time.monotonic() >= deadline:
                raise
            print(f"the bare loop's stream: {err}; asked again", file=sys.stderr)
            await asyncio.sleep(0.5)
    body = (
        b'{"specversion":"1.0","id":"%s","source":"urn:edge:s:g","type":"edge.shelf.interaction",'
        + b'"x":"'
        + b"y" * 250
        + b'"}'
    )
    t0, c0 = time.perf_counter(), time.process_time()
    futures = [
        await js.publish_async(f"bare.s.g{i % 200}", body % str(i).encode(), headers={"Nats-Msg-Id": str(i)})
        for i in range(n)
    ]
    await asyncio.gather(*futures)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    await js.delete_stream("BARE")
    await nc.close()
    return {"bare_events_per_s": n / wall, "bare_events_per_client_cpu_s": n / max(cpu, 1e-9)}


async def consume_live(
    servers: list[str], expect: asyncio.Future[int], durable: str
) -> tuple[CdpConsumer, dict[tuple[str, str], list[int]]]:
    delivered: dict[tuple[str, str], list[int]] = {}

    def deliver(store: str, gateway: str, seq: int, event: dict[str, Any]) -> None:
        delivered.setdefault((store, gateway), []).append(seq)

    nc = await nats.connect(servers=servers, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    consumer = CdpConsumer(nc.jetstream(), deliver, durable=durable)
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    n = await expect
    deadline = time.monotonic() + 120
    while sum(map(len, delivered.values())) < n and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.5)
    await asyncio.sleep(3)
    stop.set()
    await asyncio.wait_for(task, 30)
    await nc.close()
    return consumer, delivered


def verdict(summary: dict[str, Any], delivered: dict[tuple[str, str], list[int]]) -> dict[str, int]:
    lost = out_of_order = 0  # out of order: handed on late, after the consumer's hold gave up on them
    for g in summary["gateways"]:
        got = delivered.get((g["store"], g["gateway"]), [])
        lost += len(set(range(1, g["made"] + 1)) - set(got))
        out_of_order += sum(1 for a, b in itertools.pairwise(got) if b <= a)
    return {"lost": lost, "out_of_order": out_of_order}


async def run_b(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    fleet_state = state_dir("fleet-b")
    try:
        return await _run_b(args, root, fleet_state)
    finally:
        shutil.rmtree(fleet_state, ignore_errors=True)


async def _run_b(args: argparse.Namespace, root: Path, fleet_state: Path) -> dict[str, Any]:
    with NatsCluster(root / "nats-b") as cluster, Mosquitto(root / "mosquitto") as broker:
        nc = await nats.connect(servers=cluster.urls)
        js = nc.jetstream()
        await ensure(js, LIMITS)
        leader = (await js.stream_info(c.EVENTS_STREAM)).cluster.leader  # type: ignore[union-attr]
        await nc.close()
        victim = next(i for i, n in enumerate(cluster.nodes) if n.name == leader)
        bare = await bare_loop(cluster.urls, args.bare_events)
        ingests = {
            f"i{k}": ingest(broker.url, cluster.servers, f"i{k}", root / "ingest.log")
            for k in range(1, args.ingests + 1)
        }
        # The fleet starts once both bridges are subscribed: an event that reaches mosquitto before any
        # subscription matches it is PUBACKed and dropped, and would count here as a loss of the system.
        await asyncio.to_thread(until_bridges_online, broker, ingests, ONLINE_WITHIN_S)
        expect: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        reader = asyncio.create_task(consume_live(cluster.urls, expect, "cdp-b"))
        nodes_cpu0 = cluster.cpu_s()
        assert broker.proc is not None
        broker_cpu0, harness_cpu0 = cpu_s(broker.proc.pid), time.process_time()
        killed_cpu: dict[str, float] = {}
        killed_counts: dict[str, float] = {}
        t0 = time.monotonic()
        sim = fleet(broker.url, args, fleet_state, root / "fleet.log")
        s = args.seconds
        faults: list[str] = []
        if not args.no_faults:
            await asyncio.sleep(0.3 * s)
            await asyncio.to_thread(cluster.kill, victim)
            faults.append(f"kill -9 {leader} (stream leader) at {time.monotonic() - t0:.0f} s")
            await asyncio.sleep(0.1 * s)
            killed_cpu["i1"] = cpu_s(ingests["i1"].pid)
            killed_counts = ingest_counters("i1")
            ingests["i1"].send_signal(signal.SIGKILL)
            ingests["i1"].communicate(timeout=10)
            await asyncio.sleep(1)
            ingests["i1"] = ingest(broker.url, cluster.servers, "i1", root / "ingest.log")
            faults.append(f"kill -9 ingest i1 at {time.monotonic() - t0:.0f} s, restarted 1 s later")
            await asyncio.sleep(0.1 * s)
            assert broker.proc is not None
            killed_cpu["mosquitto"] = cpu_s(broker.proc.pid) - broker_cpu0
            broker_cpu0 = 0.0
            await asyncio.to_thread(broker.stop)
            await asyncio.to_thread(broker.start)
            faults.append(f"mosquitto restarted at {time.monotonic() - t0:.0f} s")
            await asyncio.sleep(0.1 * s)
            await asyncio.to_thread(cluster.restart, victim)
            faults.append(f"{leader} back at {time.monotonic() - t0:.0f} s")
        out, _ = await asyncio.to_thread(sim.communicate)
        summary = json.loads(out.decode().strip().splitlines()[-1])
        expect.set_result(summary["made"])
        consumer, delivered = await reader
        harness_cpu = time.process_time() - harness_cpu0
        assert broker.proc is not None
        broker_cpu = cpu_s(broker.proc.pid) - broker_cpu0 + killed_cpu.get("mosquitto", 0.0)
        ingest_cpu = {k: cpu_s(p.pid) + killed_cpu.get(k, 0.0) for k, p in ingests.items()}
        stats = []
        for p in ingests.values():
            p.send_signal(signal.SIGTERM)
            o, _ = p.communicate(timeout=30)
            with contextlib.suppress(Exception):
                stats.append(json.loads(o.decode().strip().splitlines()[-1]))
        nodes_cpu = {k: v - nodes_cpu0.get(k, 0.0) for k, v in cluster.cpu_s().items()}
        nc = await nats.connect(servers=cluster.urls)
        stored = (await nc.jetstream().stream_info(c.EVENTS_STREAM)).state.messages
        await nc.close()
        dropping = broker_dropping(broker.dir / "broker.log")
    duration = summary["wall_s"]
    made = summary["made"]
    ingest_cpu_total = sum(ingest_cpu.values())
    central_cpu = ingest_cpu_total + sum(nodes_cpu.values()) + broker_cpu
    # Each bridge forwards every event (its own subscription, since session 24) and JetStream keeps the first
    # copy: (bridges - 1) x events made of the duplicates are the bridges' own copies, by design. What is
    # beyond them are the gateways' resends and the messages redelivered after a kill or a restart (a bridge
    # killed -9 is counted from its metrics read just before the kill, so this can come out a little low).
    duplicates = sum(s_["duplicates"] for s_ in stats) + int(killed_counts.get("duplicates", 0))
    publishes = duplicates + sum(s_["forwarded"] for s_ in stats) + int(killed_counts.get("forwarded", 0))
    bridge_copies = (args.ingests - 1) * made
    return {
        **bare,
        "events_made": made,
        "events_stored": stored,
        "events_per_s": made / duration,
        "ingest_processes": args.ingests,
        "events_per_s_per_ingest": made / duration / args.ingests,
        "events_per_ingest_cpu_s": made / max(ingest_cpu_total, 1e-9),
        "messages_per_ingest_cpu_s": publishes / max(ingest_cpu_total, 1e-9),
        "jetstream_publishes_per_event": publishes / max(made, 1),
        "events_per_node_cpu_s": {k: round(made / max(v, 1e-9)) for k, v in nodes_cpu.items()},
        "nodes_cpu_s": {k: round(v, 1) for k, v in nodes_cpu.items()},
        "ingest_cpu_s": {k: round(v, 1) for k, v in ingest_cpu.items()},
        "fleet_cpu_s": summary["cpu_s"],
        "fleet_events_per_cpu_s": made / max(summary["cpu_s"], 1e-9),
        "mosquitto_cpu_s": round(broker_cpu, 1),
        "consumer_and_harness_cpu_s": round(harness_cpu, 1),
        "central_cpu_s": round(central_cpu, 1),
        "events_per_central_cpu_s": made / max(central_cpu, 1e-9),
        "ingest_inflight_peak": max((s_.get("inflight_peak", 0) for s_ in stats), default=0),
        "duplicates_removed_by_jetstream": duplicates,
        "duplicates_of_the_bridges": bridge_copies,
        "duplicates_beyond_the_bridges": duplicates - bridge_copies,
        "resent_by_gateways": summary["published"] - made,
        "duplicates_reaching_consumer": consumer.reorder.duplicates,
        "gaps": sum(consumer.reorder.gaps.values()),
        "late_after_gap": consumer.reorder.late,
        "invalid": consumer.invalid,
        "lag_p50_s": pct(consumer.lags_s, 0.5),
        "lag_p95_s": pct(consumer.lags_s, 0.95),
        "lag_p99_s": pct(consumer.lags_s, 0.99),
        "faults": faults,
        "broker_dropping_for": dropping,
        "unsent": summary["unsent"],
        **verdict(summary, delivered),
    }


async def run_a(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """MQTT 3.1.1 straight into NATS's MQTT listener; no bridge, no Nats-Msg-Id."""
    with NatsCluster(root / "nats-a", mqtt=True) as cluster:
        nc = await nats.connect(servers=cluster.urls)
        await ensure(nc.jetstream(), LIMITS)
        await nc.close()
        expect: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        reader = asyncio.create_task(consume_live(cluster.urls, expect, "cdp-a"))
        cpu0 = cluster.cpu_s()
        fleet_state = state_dir("fleet-a")
        sim = fleet(
            f"mqtt://127.0.0.1:{cluster.nodes[0].mqtt_port}", args, fleet_state, root / "fleet-a.log", mqtt3=True
        )
        out, _ = await asyncio.to_thread(sim.communicate)
        shutil.rmtree(fleet_state, ignore_errors=True)
        summary = json.loads(out.decode().strip().splitlines()[-1])
        expect.set_result(summary["made"])
        consumer, delivered = await reader
        nodes_cpu = {k: v - cpu0.get(k, 0.0) for k, v in cluster.cpu_s().items()}
        nc = await nats.connect(servers=cluster.urls)
        info = await nc.jetstream().stream_info(c.EVENTS_STREAM)
        await nc.close()
    made = summary["made"]
    return {
        "direct_events_made": made,
        "direct_events_stored": info.state.messages,
        "direct_events_per_s": made / summary["wall_s"],
        "direct_nodes_cpu_s": {k: round(v, 1) for k, v in nodes_cpu.items()},
        "direct_lag_p95_s": pct(consumer.lags_s, 0.95),
        "direct_invalid": consumer.invalid,
        "direct_unsent": summary["unsent"],
        **{f"direct_{k}": v for k, v in verdict(summary, delivered).items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateways", type=int, default=50)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--processes", type=int, default=2, help="fleet-sim processes")
    parser.add_argument("--ingests", type=int, default=2)
    parser.add_argument("--bare-events", type=int, default=20000)
    parser.add_argument("--full", action="store_true", help="200 gateways x 10 ev/s x 300 s")
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--no-direct", action="store_true", help="skip option (a)")
    args = parser.parse_args()
    if args.full:
        args.gateways, args.rate, args.seconds, args.processes = 200, 10.0, 300.0, 2
    with tempfile.TemporaryDirectory(prefix="central-bench-") as tmp:
        root = Path(tmp)
        figures = asyncio.run(run_b(args, root))
        if not args.no_direct:
            figures.update(asyncio.run(run_a(args, root)))
        if args.full is False:
            figures["scale"] = f"{args.gateways} gateways x {args.rate:g} ev/s x {args.seconds:g} s"
        # per message forwarded (what one JetStream publish costs the bridge against the bare loop's)
        figures["ratio_ingest_to_bare"] = figures["messages_per_ingest_cpu_s"] / figures["bare_events_per_client_cpu_s"]
        for log in ("ingest.log", "fleet.log", "fleet-a.log"):
            if (root / log).exists():
                print(f"--- {log} (last lines)", file=sys.stderr)
                print("\n".join((root / log).read_text().splitlines()[-5:]), file=sys.stderr)
    report("central_fleet", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in figures.items()})


if __name__ == "__main__":
    main()
