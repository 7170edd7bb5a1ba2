"""Repeat the fleet fault test's sequence (tests/test_central_fleet.py) many times, shorter and with
randomised fault times, to catch a rare loss and say where the missing events are.

Each run: a 3-node NATS cluster, mosquitto (persistence on), two ingest processes, then ``edge central
fleet-sim`` once both bridges say ``online`` (``--race``: at once, as the test did before session 24);
faults at random times within the fleet's production: the stream leader's node killed -9 (restarted
after the broker), ingest ``i1`` killed -9 and restarted, mosquitto stopped (SIGTERM) and started --
sometimes right after ``i1``'s restart, sometimes just before it, sometimes twice. Optional busy loops
load the CPU. A run that comes up short keeps its directory and writes ``diagnosis.json`` there: the
missing (source, sequence), each ingest's stats at its stop (``held``: awaiting their JetStream ack),
and which missing events the broker still held (a probe takes over each ingest's MQTT session after
the ingests stopped and reads what the broker sends).

    .venv/bin/python benchmarks/fleet_faults.py --runs 20 --seconds 8 --load 1 --out /tmp/ff
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
ROOT = Path(__file__).resolve().parent.parent

import nats  # noqa: E402
import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.packettypes import PacketTypes  # noqa: E402
from paho.mqtt.properties import Properties  # noqa: E402

from central import constants as c  # noqa: E402
from central.cluster import NatsCluster  # noqa: E402
from tests.mosquitto import Mosquitto, until_bridges_online  # noqa: E402
from tests.test_central_fleet import (  # noqa: E402 - the test's own (its stream limits, its bounds)
    ONLINE_WITHIN_S,
    _stream_leader,
    count_stored,
)

STORE_WAIT_S = 30.0
"""How long a run waits after the fleet for the stream to hold every event (the test allows 60 s)."""
PROBE_S = 3.0
"""How long a probe listens on an ingest's MQTT session for messages the broker still held."""


def _busy(stop: Any) -> None:
    while not stop.is_set():
        sum(range(10_000))


def _ingest(mqtt: str, servers: str, name: str, log: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "edge", "central", "ingest", "--mqtt", mqtt, "--nats", servers, "--name", name]
    with log.open("ab") as err:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, cwd=ROOT)


def _stop_stats(proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=20)
        return dict(json.loads(out.decode().strip().splitlines()[-1]))
    except (subprocess.TimeoutExpired, ValueError, IndexError) as err:
        proc.kill()
        proc.communicate(timeout=10)
        return {"error": repr(err)}


def _stored(servers: list[str], expected: int, within_s: float) -> int:
    """The stream's count once it holds ``expected`` or after ``within_s`` (a failed request asked again; 0
    when none was answered)."""
    stored, _error = asyncio.run(count_stored(servers, expected, within_s))
    return stored or 0


async def _stream_events(servers: list[str]) -> list[tuple[str, int, int]]:
    """(source, sequence, stream seq) of every message in the stream."""
    nc = await nats.connect(servers=servers)
    out: list[tuple[str, int, int]] = []
    try:
        js = nc.jetstream()
        total = (await js.stream_info(c.EVENTS_STREAM)).state.last_seq
        for seq in range(1, total + 1):
            try:
                msg = await js.get_msg(c.EVENTS_STREAM, seq)
            except Exception:  # a deleted one
                continue
            event = json.loads(msg.data or b"{}")
            out.append((str(event.get("source")), int(event.get("sequence", 0)), seq))
    finally:
        await nc.close()
    return out


def _probe(port: int, client_id: str, within_s: float) -> list[tuple[str, int]]:
    """Take over ``client_id``'s session and read what the broker sends (source, sequence)."""
    got: list[tuple[str, int]] = []
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)

    def on_message(_c: Any, _u: Any, message: paho.MQTTMessage) -> None:
        try:
            event = json.loads(message.payload)
            got.append((str(event.get("source")), int(event.get("sequence", 0))))
        except ValueError:
            got.append((message.topic, -1))

    client.on_message = on_message
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600
    client.connect("127.0.0.1", port, 30, clean_start=False, properties=props)
    client.loop_start()
    time.sleep(within_s)
    client.disconnect()
    client.loop_stop()
    return got


def _schedule(rng: random.Random, seconds: float) -> list[tuple[float, str]]:
    """(time after the fleet's start, action); the broker's restart placed against i1's."""
    kill_leader = rng.uniform(0.5, seconds * 0.5)
    kill_i1 = rng.uniform(0.5, seconds * 0.8)
    back_i1 = kill_i1 + rng.uniform(0.2, 1.5)
    mode = rng.choice(("free", "after-i1", "before-i1", "with-burst"))
    if mode == "after-i1":
        broker = back_i1 + rng.uniform(0.0, 1.0)  # the ingest starting up (its CONNECT, its backlog)
    elif mode == "before-i1":
        broker = max(0.3, back_i1 - rng.uniform(0.0, 0.6))
    elif mode == "with-burst":
        broker = rng.uniform(0.5, seconds)  # and a second restart soon after (a burst of reconnects)
    else:
        broker = rng.uniform(0.5, seconds)
    plan = [
        (kill_leader, "kill-leader"),
        (kill_i1, "kill-i1"),
        (back_i1, "start-i1"),
        (broker, "restart-broker"),
        (max(broker, kill_leader) + 1.0, "restart-leader"),
    ]
    if mode == "with-burst":
        plan.append((broker + rng.uniform(0.3, 1.5), "restart-broker"))
    return sorted(plan)


def one_run(directory: Path, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    plan = _schedule(rng, args.seconds) if args.faults else []
    result: dict[str, Any] = {"dir": str(directory), "plan": [(round(t, 2), a) for t, a in plan]}
    (directory / "plan.json").write_text(json.dumps(result["plan"]))
    with NatsCluster(directory / "nats") as cluster, Mosquitto(directory / "mosquitto") as broker:
        leader = asyncio.run(_stream_leader(cluster.urls))
        victim = next(i for i, n in enumerate(cluster.nodes) if n.name == leader)
        log = directory / "ingest.log"
        ingests = {name: _ingest(broker.url, cluster.servers, name, log) for name in ("i1", "i2")}
        if not args.race:  # the fleet waits for both bridges' subscriptions, as the test does
            until_bridges_online(broker, ingests, ONLINE_WITHIN_S)
        cmd = [sys.executable, "-m", "edge", "central", "fleet-sim", "--mqtt", broker.url]
        cmd += ["--gateways", str(args.gateways), "--rate", str(args.rate), "--seconds", str(args.seconds)]
        cmd += ["--state-dir", str(directory / "fleet")]
        with (directory / "fleet.log").open("ab") as err:
            fleet = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, cwd=ROOT)
        try:
            started = time.monotonic()
            for at, action in plan:
                time.sleep(max(0.0, started + at - time.monotonic()))
                if action == "kill-leader":
                    cluster.kill(victim)
                elif action == "restart-leader":
                    cluster.restart(victim)
                elif action == "kill-i1":
                    ingests["i1"].send_signal(signal.SIGKILL)
                    ingests["i1"].communicate(timeout=10)
                elif action == "start-i1":
                    ingests["i1"] = _ingest(broker.url, cluster.servers, "i1", log)
                elif action == "restart-broker":
                    broker.stop()
                    broker.start()
            out, _ = fleet.communicate(timeout=200)
            summary = json.loads(out.decode().strip().splitlines()[-1])
            made = int(summary["made"])
            stored = _stored(cluster.urls, made, STORE_WAIT_S)
            result.update(
                made=made, unsent=summary["unsent"], stored=stored, wall_s=round(time.monotonic() - started, 1)
            )
            stats = {name: _stop_stats(p) for name, p in ingests.items()}
            result["ingests"] = stats
            if stored < made:
                result["late_stored"] = _stored(cluster.urls, made, 0.0)
                have = {(src, s) for src, s, _ in asyncio.run(_stream_events(cluster.urls))}
                want = {
                    (f"urn:edge:{g['store']}:{g['gateway']}", n)
                    for g in summary["gateways"]
                    for n in range(1, g["made"] + 1)
                }
                sources = {src for src, _ in have}
                missing = sorted(want - have)
                result["sources_seen"] = sorted(sources)[:3]
                result["missing"] = missing[:500]
                held: dict[str, list[tuple[str, int]]] = {}
                for name in ("i1", "i2"):
                    got = _probe(broker.port, f"cdp-ingest-{name}", PROBE_S)
                    held[name] = sorted(set(got))
                result["broker_sent_to_probe"] = {k: len(v) for k, v in held.items()}
                result["missing_found_in_broker"] = {k: [m for m in v if m in set(missing)] for k, v in held.items()}
        finally:
            for proc in (fleet, *ingests.values()):
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate(timeout=20)
    return result


def _ranges(missing: list[tuple[str, int]]) -> dict[str, str]:
    """The missing sequences per gateway, as ``first-last`` runs (compact for a log line)."""
    per: dict[str, list[int]] = {}
    for source, seq in missing:
        per.setdefault(source.rsplit(":", 2)[-2] + "/" + source.rsplit(":", 1)[-1], []).append(seq)
    out = {}
    for gw, seqs in per.items():
        runs: list[str] = []
        start = prev = seqs[0]
        for s in [*seqs[1:], None]:
            if s is not None and s == prev + 1:
                prev = s
                continue
            runs.append(f"{start}-{prev}" if prev != start else str(start))
            if s is not None:
                start = prev = s
        out[gw] = ",".join(runs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=8.0, help="the fleet's production time per run")
    parser.add_argument("--gateways", type=int, default=10)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--load", type=int, default=0, help="busy-loop processes beside the runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-faults", dest="faults", action="store_false", help="only the start (no faults)")
    parser.add_argument(
        "--race",
        action="store_true",
        help="start the fleet with the bridges, not once they are online (its first events may beat every SUBSCRIBE)",
    )
    parser.add_argument("--out", type=Path, default=Path("/tmp/fleet-faults"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(args.seed)  # fault times, not secrets
    stop = multiprocessing.Event()
    busy = [multiprocessing.Process(target=_busy, args=(stop,), daemon=True) for _ in range(args.load)]
    for p in busy:
        p.start()
    short = 0
    try:
        for i in range(args.runs):
            directory = args.out / f"run-{args.seed}-{i:03d}"
            shutil.rmtree(directory, ignore_errors=True)
            directory.mkdir(parents=True)
            try:
                result = one_run(directory, args, rng)
            except Exception as err:  # a harness failure is reported, the next run goes on
                result = {"dir": str(directory), "error": repr(err), "trace": traceback.format_exc()[-1500:]}
            lost = result.get("made", 0) - result.get("stored", 0)
            if lost > 0 or "error" in result:
                short += lost > 0
                (directory / "diagnosis.json").write_text(json.dumps(result, indent=1))
            else:
                shutil.rmtree(directory, ignore_errors=True)
            line = {k: result.get(k) for k in ("made", "stored", "unsent", "wall_s", "error")}
            line["plan"] = result.get("plan")
            line["held"] = {k: v.get("held") for k, v in result.get("ingests", {}).items()}
            line["missing"] = _ranges(result.get("missing", []))
            print(json.dumps({"run": i, **line, "lost": lost}), flush=True)
    finally:
        stop.set()
        for p in busy:
            p.join(timeout=5)
    print(json.dumps({"runs": args.runs, "short": short}), flush=True)


if __name__ == "__main__":
    threading.current_thread().name = "fleet-faults"
    main()
