"""Hostile input against a running ``edge run`` on a real mosquitto (issue 15).

1. Flood: ``--bad`` bad downlinks of every kind (deep, out of range, wrong types, malformed, long,
   stale and expired rosters on every downlink topic: tests/hostile_payloads.py) published
   unpaced; ``edge run`` pinned to one core. Figures: rejections per second of wall time and per
   CPU-second of the gateway (/proc/PID/stat), peak RSS (/proc/PID/status VmRSS, sampled every
   20 ms), crashes (the process gone), silent task deaths (``mqtt_downlinks_failed``,
   ``mqtt_handler_failures`` in the health event, and a valid shelf reading sent after the flood
   must still come out as an event), the last good roster still resolving (``adverts_resolved``
   grows in the health events after the flood). Peer: the same number of *valid* shelf readings.
2. Burst: ``--burst`` messages of 2 MB each, unpaced (plus a few over the 4 MiB limit); peak RSS.
3. Trace fuzz: ``--lines`` fuzzed trace lines through the trace reader in-process (every bad line a
   ``TraceError`` naming ``file:line``, never another exception) and ``--cli-samples`` of them
   through ``edge replay`` (exit 2, ``file:2`` on stderr, no traceback).
4. Soak (``--soak-s``, 0: skipped): ``--rate`` shelf readings a second (each one event) with
   ``--bad-share`` bad downlinks beside them, the broker (persistent) restarted every
   ``--restart-s``. It starts once a probe reading has come out as an event (the gateway's session
   and subscription exist: a reading published before them goes to nobody, which is what the
   first soak counted as 37 lost; ``--soak-no-wait`` reproduces it). Every reading the broker
   PUBACKed (also those paho sent after a reconnect) must come out as an event: lost (listed as
   ranges with their publish times), sequence gaps, duplicates, rejections by reason, RSS
   (first minute, peak, last minute) and open fds.

The last stdout line is one JSON object (benchmarks/common.py).
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script (edge bench): the checkout's packages

from benchmarks.common import report
from edge.errors import TraceError
from edge.trace import TraceReader, header_line, item_line
from tests.helpers import card_advert
from tests.hostile_payloads import SECRET, flood, roster
from tests.mosquitto import Collector, Mosquitto

GOAL_REJECTIONS_PER_S = 2000.0
GOAL_FLOOD_RSS_MB = 120.0
GOAL_BURST_RSS_MB = 150.0
SHELF = "edge/v1/store-1/shelf/shelf-a3"
EVENTS = "edge/v1/store-1/gw-1/events/#"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the gateway under test ---------------------------------------------------------------------


class Gateway:
    """``edge run`` in a subprocess (pinned to ``cpu``) with its trace, config and samplers."""

    def __init__(self, directory: Path, port: int, seconds: float, cpu: int | None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        start = time.time()
        with (directory / "trace.jsonl").open("wb") as out:
            out.write(header_line(start))
            for i in range(int(seconds * 2) + 120):
                out.write(item_line(card_advert(start + 1.0 + i * 0.5), start))
        (directory / "edge.toml").write_text(
            '[gateway]\nstore = "store-1"\ngateway = "gw-1"\nstate_dir = "state"\n\n'
            '[ble]\nbackend = "replay"\ntrace = "trace.jsonl"\nspeed = 1.0\n\n'
            '[[zones]]\nid = "baby"\nscanners = ["gw-1"]\n\n[[shelves]]\nid = "shelf-a3"\nzone = "baby"\n\n'
            "[presence]\nhealth_interval_s = 5.0\n\n"
            f'[mqtt]\nurl = "mqtt://127.0.0.1:{port}"\nprotocol = "5"\n'
        )
        self.log = (directory / "edge.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(directory / "edge.toml")],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.sched_setaffinity(0, {cpu})) if cpu is not None else None,
        )
        self.samples: list[tuple[float, int, int]] = []
        self.peak_kb = 0
        self._stop = threading.Event()
        self._every = 0.02
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        last_fd = 0.0
        while not self._stop.wait(self._every) and self.proc.poll() is None:
            rss = self.rss_kb()
            self.peak_kb = max(self.peak_kb, rss)
            now = time.monotonic()
            if now - last_fd >= 5.0:
                last_fd = now
                self.samples.append((now, rss, self.fds()))

    def rss_kb(self) -> int:
        try:
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            pass
        return 0

    def fds(self) -> int:
        try:
            return len(os.listdir(f"/proc/{self.proc.pid}/fd"))
        except OSError:
            return 0

    def cpu_s(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def reset_peak(self) -> None:
        self.peak_kb = self.rss_kb()

    def stop(self) -> int:
        self._stop.set()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()
        return int(self.proc.returncode)


def publisher(port: int) -> tuple[paho.Client, set[int]]:
    acked: set[int] = set()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    client.on_publish = lambda _c, _u, mid, *_: acked.add(mid)
    client.max_queued_messages_set(0)
    client.max_inflight_messages_set(PUBLISH_WINDOW)
    client.connect("127.0.0.1", port, 30)
    client.loop_start()
    return client, acked


PUBLISH_WINDOW = 500
"""Publishes awaiting their PUBACK at once (paho refuses to queue past the broker's limits)."""


def send(client: paho.Client, messages: Iterator[tuple[str, bytes]], timeout_s: float = 600.0) -> int:
    """Publish at QoS 1 as fast as the broker takes them (a window of unacknowledged publishes)."""
    pending: collections.deque[paho.MQTTMessageInfo] = collections.deque()
    count = 0
    for topic, payload in messages:
        while len(pending) >= PUBLISH_WINDOW:
            pending.popleft().wait_for_publish(timeout_s)
        pending.append(client.publish(topic, payload, qos=1))
        count += 1
    for info in pending:
        info.wait_for_publish(timeout_s)
    return count


def events_of(cdp: Collector, type_: str) -> list[dict[str, Any]]:
    return [e for e in cdp.events() if e.get("type") == type_]


def health(cdp: Collector) -> list[dict[str, Any]]:
    return [e["data"] for e in events_of(cdp, "edge.gateway.health")]


def sentinel(cdp: Collector, client: paho.Client, sku: str, timeout_s: float = 600.0) -> float:
    """A valid shelf reading after everything else; the time its event arrived."""
    send(client, iter([(SHELF, json.dumps({"kind": "shelf", "action": "pickup", "sku": sku}).encode())]))
    cdp.wait_for(lambda ms: any(sku.encode() in m.payload for m in ms), timeout_s)
    return time.monotonic()


# --- 1 + 2: flood and burst -----------------------------------------------------------------------


def flood_and_burst(tmp: Path, bad: int, burst: int) -> dict[str, Any]:
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})  # the broker and this process: the other core
    with Mosquitto(tmp / "broker", persistence=False, extra="max_queued_messages 0\n") as broker:
        cdp = Collector(broker, (EVENTS,))
        client, _acked = publisher(broker.port)
        now = time.time()
        good = json.dumps(roster(5, now - 60, now + 86_400)).encode()
        client.publish("cdp/v1/store-1/roster", good, qos=1, retain=True).wait_for_publish(10)
        gateway = Gateway(tmp / "gw", broker.port, 1800, cpu=min(os.sched_getaffinity(0) | {0}))
        out: dict[str, Any] = {}
        try:
            cdp.wait_for(lambda ms: any(b"edge.presence.entered" in m.payload for m in ms), 60)
            # Peer: the same number of valid shelf readings (each an event committed and published).
            valid = (
                (SHELF, json.dumps({"kind": "shelf", "action": "touch", "sku": f"P-{i}"}).encode())
                for i in range(bad // 10)
            )
            cpu0, t0 = gateway.cpu_s(), time.monotonic()
            sent = send(client, valid)
            t1 = sentinel(cdp, client, "PEER-END")
            out["valid_readings_per_s"] = round(sent / (t1 - t0), 1)
            out["valid_readings_per_cpu_s"] = round(sent / max(gateway.cpu_s() - cpu0, 1e-9), 1)
            gateway.reset_peak()
            messages = list(flood("store-1", "gw-1", bad, now=time.time(), version=5, seed=1))
            cpu0, t0 = gateway.cpu_s(), time.monotonic()
            sent = send(client, iter(messages))
            published_s = time.monotonic() - t0
            t1 = sentinel(cdp, client, "FLOOD-END")
            cpu_used = gateway.cpu_s() - cpu0
            out.update(
                bad_downlinks=sent,
                publish_s=round(published_s, 2),
                flood_s=round(t1 - t0, 2),
                rejections_per_s=round(sent / (t1 - t0), 1),
                rejections_per_cpu_s=round(sent / max(cpu_used, 1e-9), 1),
                flood_peak_rss_mb=round(gateway.peak_kb / 1024, 1),
            )
            before = len(health(cdp))
            cdp.wait_for(lambda ms: len(health(cdp)) >= before + 2, 30)
            late = health(cdp)[-2:]
            out["resolving_after_flood"] = late[1]["adverts_resolved"] > late[0]["adverts_resolved"]
            out["downlinks_rejected"] = late[1]["downlinks_rejected"]
            out["rejected_by_reason"] = {k[9:]: v for k, v in late[1].items() if k.startswith("rejected_")}
            out["silent_task_deaths"] = late[1].get("mqtt_downlinks_failed", 0) + late[1].get(
                "mqtt_handler_failures", 0
            )
            # 2: the burst.
            gateway.reset_peak()
            blob = b'{"version": 1, "note": "' + SECRET.encode() + b'", "x": "' + b"x" * (2 * 1024 * 1024) + b'"}'
            over = b'{"x": "' + b"y" * (4 * 1024 * 1024 + 100) + b'"}'
            t0 = time.monotonic()
            send(client, iter([("cdp/v1/store-1/offers", blob)] * burst + [("cdp/v1/store-1/rules", over)] * 5))
            sentinel(cdp, client, "BURST-END")
            out["burst"] = burst
            out["burst_s"] = round(time.monotonic() - t0, 2)
            out["burst_peak_rss_mb"] = round(gateway.peak_kb / 1024, 1)
            out["crashes"] = 0 if gateway.proc.poll() is None else 1
        finally:
            code = gateway.stop()
            client.loop_stop()
            client.disconnect()
            cdp.close()
        out["exit_code"] = code
        out.update(_log_checks(tmp / "gw" / "edge.log"))
        return out


# --- 3: trace fuzz -------------------------------------------------------------------------------


def fuzzed_lines(count: int, seed: int = 3) -> Iterator[bytes]:
    rng = random.Random(seed)
    start = 1_795_428_000.0
    good = [
        item_line(card_advert(start + 1), start),
        b'{"t": 2, "kind": "shelf", "shelf": "shelf-a3", "action": "pickup", "sku": "S-1"}\n',
        b'{"t": 3, "kind": "downlink", "topic": "cdp/v1/store-1/roster", "payload": {"version": 1}}\n',
    ]
    deep = [b'{"t": 1, "kind": "ble", "x": ' + b"[" * n + b"]" * n + b"}\n" for n in (100, 5000, 50_000)]
    structural = [
        *deep,
        b'{"t": 1e309, "kind": "ble", "scanner": "a", "address": "b", "rssi": -60}\n',
        b'{"t": 1, "kind": "ble", "scanner": "a", "address": "b", "rssi": 100000000000000000000000}\n',
        b'{"t": 1, "kind": "shelf", "shelf": "' + b"s" * 5000 + b'", "action": "pickup", "sku": "x"}\n',
        b'{"t": 1, "kind": "downlink", "topic": "x", "payload": ' + b"[" * 20_000 + b"]" * 20_000 + b"}\n",
        b'{"kind": "header", "start": "2026-11-23T10:00:00Z"}\n',
        b'{"t": "' + SECRET.encode() + b'", "kind": "shelf"}\n',
    ]
    for _ in range(count):
        roll = rng.random()
        if roll < 0.1:
            yield rng.choice(good)
        elif roll < 0.2:
            yield rng.choice(structural)
        else:
            line = bytearray(rng.choice(good)[:-1])
            for _ in range(rng.randint(1, 4)):
                at = rng.randrange(len(line))
                action = rng.randrange(3)
                if action == 0:
                    line[at] = rng.randrange(256)
                elif action == 1:
                    line.insert(at, rng.choice(b'[]{}",:0123456789e-'))
                else:
                    del line[at]
            yield bytes(line.replace(b"\n", b" ")) + b"\n"


def trace_fuzz(lines: int, cli_samples: int, tmp: Path) -> dict[str, Any]:
    def source() -> Iterator[bytes]:
        yield header_line(1_795_428_000.0)
        yield from fuzzed_lines(lines)

    reader = TraceReader(source(), path="fuzz.jsonl")
    good = bad = other = named_wrong = 0
    t0 = time.perf_counter()
    while True:
        try:
            next(reader)
            good += 1
        except StopIteration:
            break
        except TraceError as err:
            bad += 1
            if err.line != reader.line_no or not str(err).startswith(f"fuzz.jsonl:{reader.line_no}: "):
                named_wrong += 1
        except Exception:
            other += 1
    seconds = time.perf_counter() - t0
    # A sample through the command line.
    rng = random.Random(5)
    pool = list(fuzzed_lines(20_000, seed=4))
    cli_ok = cli_bad = 0
    for index in range(cli_samples):
        path = tmp / f"fuzz-{index}.jsonl"
        line = rng.choice(pool)
        path.write_bytes(header_line(1_795_428_000.0) + line)
        check = TraceReader(iter([header_line(1_795_428_000.0), line]), path=str(path))
        try:
            list(check)
            continue  # a valid line: not a sample of a bad one
        except TraceError:
            pass
        result = subprocess.run(
            [sys.executable, "-m", "edge", "replay", str(path)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if result.returncode == 2 and f"{path}:2" in result.stderr and "Traceback" not in result.stderr:
            cli_ok += 1
        else:
            cli_bad += 1
    return {
        "trace_lines": lines,
        "trace_good_lines": good,
        "trace_bad_lines": bad,
        "trace_other_exceptions": other,
        "trace_misnamed": named_wrong,
        "trace_lines_per_s": round(lines / seconds),
        "cli_samples_exit_2": cli_ok,
        "cli_samples_wrong": cli_bad,
    }


# --- 4: soak ---------------------------------------------------------------------------------------


class Tally:
    """The CDP side of the soak: a persistent-session QoS 1 subscriber (it survives the broker's
    restarts) that keeps only what the soak checks: each event's ``sequence``, each shelf
    interaction's reading number, the last health counters. (:class:`Collector` keeps every
    message: over an hour, hundreds of MB in this process.)"""

    def __init__(self, port: int, client_id: str = "soak-cdp") -> None:
        self.lock = threading.Lock()
        self.sequences: set[int] = set()
        self.messages = 0
        self.readings: set[int] = set()
        self.probes: set[str] = set()
        self.health: dict[str, Any] = {}
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        self.client.on_connect = lambda c, *_: c.subscribe(EVENTS, qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.1, 0.5)
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = 3600
        self.client.connect("127.0.0.1", port, 30, clean_start=False, properties=props)
        self.client.loop_start()

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        event = json.loads(message.payload)
        with self.lock:
            self.messages += 1
            self.sequences.add(int(event["sequence"]))
            if event.get("type") == "edge.shelf.interaction":
                sku = event["data"]["sku"]
                if sku.startswith("K-"):
                    self.readings.add(int(sku[2:]))
                else:
                    self.probes.add(sku)
            elif event.get("type") == "edge.gateway.health":
                self.health = event["data"]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def ranges(numbers: list[int]) -> list[str]:
    """``[0, 1, 2, 7]`` → ``["K-0..K-2", "K-7"]``."""
    out: list[str] = []
    for _, run in itertools.groupby(enumerate(sorted(numbers)), key=lambda p: p[1] - p[0]):
        values = [v for _, v in run]
        out.append(f"K-{values[0]}" if len(values) == 1 else f"K-{values[0]}..K-{values[-1]}")
    return out


def wait_until_subscribed(client: paho.Client, tally: Tally, timeout_s: float = 120.0) -> float:
    """Publish probe readings until one comes out as an event: the gateway's session and its
    subscription exist from then on (the broker queues for it across disconnects and restarts).
    A reading published before its first SUBSCRIBE goes to nobody: that is MQTT, not a loss."""
    t0 = time.monotonic()
    for index in itertools.count():
        sku = f"READY-{index}"
        client.publish(SHELF, json.dumps({"kind": "shelf", "action": "touch", "sku": sku}).encode(), qos=1)
        deadline = time.monotonic() + 0.5
        while time.monotonic() < deadline:
            with tally.lock:
                if tally.probes:
                    return time.monotonic() - t0
            time.sleep(0.02)
        if time.monotonic() - t0 > timeout_s:
            raise TimeoutError(f"the gateway did not subscribe within {timeout_s} s")
    raise AssertionError("unreachable")


def puback_received(info: paho.MQTTMessageInfo) -> bool:
    """The broker PUBACKed this publish. Not ``is_published()``: it raises for a publish made while
    the broker was down (rc NO_CONN) even after paho has sent it on reconnecting and had its PUBACK."""
    with info._condition:
        return bool(info._published)


KEPT = (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN)
"""A publish paho keeps and sends (NO_CONN: the broker is down; paho sends it after reconnecting)."""


def soak(
    tmp: Path, seconds: float, restart_s: float, rate: float, bad_share: float, *, wait_ready: bool = True
) -> dict[str, Any]:
    broker = Mosquitto(tmp / "soak-broker", extra="max_queued_messages 0\n")
    broker.start()
    tally = Tally(broker.port)
    client, _ = publisher(broker.port)
    now = time.time()
    good = json.dumps(roster(5, now - 60, now + 86_400)).encode()
    client.publish("cdp/v1/store-1/roster", good, qos=1, retain=True).wait_for_publish(10)
    gateway = Gateway(tmp / "soak-gw", broker.port, seconds + 600, cpu=None)
    bad = flood("store-1", "gw-1", 10**9, now=now, version=5, seed=9)
    acked = bytearray()
    """Per reading: 1 once the broker PUBACKed it (paho's ``is_published``)."""
    pending: list[tuple[int, paho.MQTTMessageInfo]] = []
    """Readings paho holds that are not PUBACKed yet (swept as they are)."""

    def sweep() -> None:
        left = []
        for index, info in pending:
            if puback_received(info):
                acked[index] = 1
            else:
                left.append((index, info))
        pending[:] = left

    restarts: list[float] = []
    sent = refused = bad_sent = 0
    try:
        ready_s = wait_until_subscribed(client, tally) if wait_ready else 0.0
        t0 = time.monotonic()
        next_restart = t0 + restart_s
        while (elapsed := time.monotonic() - t0) < seconds:
            due = int(elapsed * rate)
            while sent < due:
                body = json.dumps({"kind": "shelf", "action": "touch", "sku": f"K-{sent}"}).encode()
                info = client.publish(SHELF, body, qos=1)
                acked.append(0)
                if info.rc in KEPT:
                    pending.append((sent, info))
                else:
                    refused += 1
                sent += 1
                if random.random() < bad_share / (1 - bad_share):
                    topic, payload = next(bad)
                    client.publish(topic, payload, qos=1)
                    bad_sent += 1
            if time.monotonic() >= next_restart:
                restarts.append(round(time.monotonic() - t0, 1))
                broker.stop()
                time.sleep(1.0)
                broker.start()
                next_restart += restart_s
            sweep()
            time.sleep(0.01)
        deadline = time.monotonic() + 120
        while pending and time.monotonic() < deadline:  # the publisher's last PUBACKs
            time.sleep(0.5)
            sweep()
        expected = {i for i in range(sent) if acked[i]}

        def missing() -> set[int]:
            with tally.lock:
                return expected - tally.readings

        deadline = time.monotonic() + 120
        while missing() and time.monotonic() < deadline:
            time.sleep(1.0)
        last_health = tally.health
        deadline = time.monotonic() + 30  # one more health event: the counters after everything
        while time.monotonic() < deadline and tally.health is last_health:
            time.sleep(0.5)
        lost = sorted(missing())
        with tally.lock:
            sequences = sorted(tally.sequences)
            messages, health = tally.messages, dict(tally.health)
        gaps = sum(1 for a, b in itertools.pairwise(sequences) if b != a + 1) + (
            1 if sequences and sequences[0] != 1 else 0
        )
        samples = gateway.samples
        minute = max(1, int(60 / 5))
        first, last = samples[:minute], samples[-minute:]
        rejected = {k[9:]: v for k, v in health.items() if k.startswith("rejected_")}
        result = {
            "soak_s": round(seconds),
            "soak_rate_per_s": rate,
            "soak_ready_s": round(ready_s, 2),
            "soak_broker_restarts": len(restarts),
            "soak_restarts_at_s": restarts,
            "soak_readings_sent": sent,
            "soak_readings_acked": len(expected),
            "soak_readings_never_acked": sent - len(expected) - refused,
            "soak_readings_refused_by_paho": refused,
            "soak_bad_downlinks_sent": bad_sent,
            "soak_lost": len(lost),
            "soak_lost_ranges": ranges(lost)[:20],
            "soak_lost_at_s": [round(i / rate, 2) for i in lost[:20]],
            "soak_sequence_gaps": gaps,
            "soak_events": len(sequences),
            "soak_event_messages": messages,
            "soak_duplicate_messages": messages - len(sequences),
            "soak_downlinks_rejected": health.get("downlinks_rejected"),
            "soak_shelf_rejected": health.get("shelf_rejected"),
            "soak_checkin_rejected": sum(v for k, v in health.items() if k.startswith("checkin_rejected")),
            "soak_rejected_by_reason": rejected,
            "soak_silent_task_deaths": health.get("mqtt_downlinks_failed", 0) + health.get("mqtt_handler_failures", 0),
            "soak_outbox_dropped": health.get("outbox_dropped"),
            "soak_rss_mb_first_min": round(statistics.median(s[1] for s in first) / 1024, 1) if first else None,
            "soak_rss_mb_peak": round(gateway.peak_kb / 1024, 1),
            "soak_rss_mb_last_min": round(statistics.median(s[1] for s in last) / 1024, 1) if last else None,
            "soak_fds_first_min": statistics.median(s[2] for s in first) if first else None,
            "soak_fds_max": max((s[2] for s in samples), default=None),
            "soak_fds_last_min": statistics.median(s[2] for s in last) if last else None,
            "soak_crashed": gateway.proc.poll() is not None,
        }
    finally:
        code = gateway.stop()
        client.loop_stop()
        client.disconnect()
        tally.close()
        broker.stop()
    result["soak_exit_code"] = code
    result.update(_log_checks(tmp / "soak-gw" / "edge.log", prefix="soak_"))
    return result


def _log_checks(path: Path, prefix: str = "") -> dict[str, Any]:
    """What the gateway's log must not hold (a traceback, a payload's secret value), and its length."""
    log = path.read_text(errors="replace")
    return {
        f"{prefix}traceback_in_log": "Traceback" in log,
        f"{prefix}secret_in_log": SECRET in log,
        f"{prefix}log_lines": log.count("\n"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bad", type=int, default=100_000, help="bad downlinks in the flood")
    parser.add_argument("--burst", type=int, default=200, help="2 MB messages in the burst")
    parser.add_argument("--lines", type=int, default=1_000_000, help="fuzzed trace lines (in-process)")
    parser.add_argument("--cli-samples", type=int, default=20, help="fuzzed lines through edge replay")
    parser.add_argument("--soak-s", type=float, default=0.0, help="soak duration (0: no soak)")
    parser.add_argument("--restart-s", type=float, default=300.0, help="broker restart period in the soak")
    parser.add_argument("--rate", type=float, default=100.0, help="events per second in the soak")
    parser.add_argument("--bad-share", type=float, default=0.1, help="share of bad downlinks in the soak")
    parser.add_argument("--quick", action="store_true", help="small: 2,000 bad, 20 x 2 MB, 20,000 lines")
    parser.add_argument("--soak-only", action="store_true", help="only the soak (--soak-s)")
    parser.add_argument(
        "--soak-no-wait",
        action="store_true",
        help="start publishing before the gateway has subscribed (the old soak: its first readings go to nobody)",
    )
    args = parser.parse_args()
    if args.quick:
        args.bad, args.burst, args.lines, args.cli_samples = 2000, 20, 20_000, 3
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="edge-hostile-") as name:
        tmp = Path(name)
        if not args.soak_only:
            figures.update(trace_fuzz(args.lines, args.cli_samples, tmp))
            print(f"trace fuzz: {figures}", flush=True)
            figures.update(flood_and_burst(tmp, args.bad, args.burst))
            print(f"flood + burst: {figures}", flush=True)
        if args.soak_s > 0:
            figures.update(
                soak(tmp, args.soak_s, args.restart_s, args.rate, args.bad_share, wait_ready=not args.soak_no_wait)
            )
    figures.update(
        goal_rejections_per_s=GOAL_REJECTIONS_PER_S,
        goal_flood_rss_mb=GOAL_FLOOD_RSS_MB,
        goal_burst_rss_mb=GOAL_BURST_RSS_MB,
    )
    report("hostile", figures)


if __name__ == "__main__":
    main()
