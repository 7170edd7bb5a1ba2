"""Real MQTT brokers for the tests: mosquitto (and amqtt) on free ports, TLS certificates made at
test time, and a subscriber that collects what the gateway publishes. Every wait has a timeout."""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from central import constants as central_constants
from central.cluster import free_port as free_port  # below the ephemeral range, never one twice

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
START_TIMEOUT_S = 10.0
PUBLISH_TIMEOUT_S = 10.0
"""Bound on a PUBACK from the test's broker (milliseconds when idle; seconds on a loaded CI machine)."""


def wait_port(port: int, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout} s")


# --- certificates ------------------------------------------------------------------------------


@dataclass
class Certs:
    ca: Path
    server_cert: Path
    server_key: Path
    clients: dict[str, tuple[Path, Path]] = field(default_factory=dict)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path


def make_certs(directory: Path, client_names: tuple[str, ...] = ("store-1",)) -> Certs:
    """A CA, a server certificate for 127.0.0.1 / localhost and one client certificate per name (CN)."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("edge-test-ca"))
        .issuer_name(_name("edge-test-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))

    def issue(cn: str, server: bool) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(cn))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [x509.ExtendedKeyUsageOID.SERVER_AUTH if server else x509.ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if server:
            import ipaddress

            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        cert_path = directory / f"{cn}.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cert_path, _write_key(key, directory / f"{cn}.key")

    server_cert, server_key = issue("server", True)
    certs = Certs(ca_path, server_cert, server_key)
    for name in client_names:
        certs.clients[name] = issue(name, False)
    return certs


# --- brokers -----------------------------------------------------------------------------------


class Broker:
    """A broker process on a free port; ``stop`` / ``start`` keep the port and the persistence."""

    url: str
    port: int

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        log = (self.dir / "broker.log").open("ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        log.close()
        try:
            wait_port(self.port)
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"the broker did not start: {(self.dir / 'broker.log').read_text()[-2000:]}") from None

    def stop(self, sig: int = signal.SIGTERM) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def __enter__(self) -> Broker:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Mosquitto(Broker):
    def __init__(
        self,
        directory: Path,
        *,
        certs: Certs | None = None,
        acl: str | None = None,
        persistence: bool = True,
        extra: str = "",
    ) -> None:
        super().__init__(directory)
        self.certs = certs
        lines = [
            f"listener {self.port} 127.0.0.1",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "max_inflight_messages 0",
            "max_queued_messages 100000",
        ]
        if os.geteuid() == 0:  # mosquitto drops root for "mosquitto", who cannot read the test's tmp dir
            lines.append("user root")
        if persistence:
            lines += ["persistence true", f"persistence_location {self.dir}/", "autosave_interval 1"]
        if certs is not None:
            lines += [
                f"cafile {certs.ca}",
                f"certfile {certs.server_cert}",
                f"keyfile {certs.server_key}",
                "require_certificate true",
                "use_identity_as_username true",
            ]
            self.url = f"mqtts://127.0.0.1:{self.port}"
        else:
            self.url = f"mqtt://127.0.0.1:{self.port}"
        lines.append("allow_anonymous true" if certs is None else "allow_anonymous false")
        if acl is not None:
            (self.dir / "acl").write_text(acl)
            lines.append(f"acl_file {self.dir / 'acl'}")
        (self.dir / "mosquitto.conf").write_text("\n".join(lines) + "\n" + extra)

    def command(self) -> list[str]:
        return [MOSQUITTO, "-c", str(self.dir / "mosquitto.conf")]


class Amqtt(Broker):
    """amqtt, the pure-Python broker (MQTT 3.1.1 only)."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.url = f"mqtt://127.0.0.1:{self.port}"
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        (self.dir / "amqtt.yaml").write_text(json.dumps(config))  # JSON is YAML

    def command(self) -> list[str]:
        script = Path(sys.executable).parent / "amqtt"
        return [str(script), "-c", str(self.dir / "amqtt.yaml")]


# --- a subscriber ------------------------------------------------------------------------------


class Collector:
    """A paho client (its own thread) that records every message, with waits that time out."""

    def __init__(
        self,
        broker: Broker,
        topics: tuple[str, ...] = ("#",),
        *,
        client_id: str = "",
        mqtt5: bool = True,
        certs: Certs | None = None,
        client_cert: str | None = None,
    ) -> None:
        self.messages: list[paho.MQTTMessage] = []
        self.arrived: list[float] = []
        self._cond = threading.Condition()
        persistent = bool(client_id)
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=paho.MQTTv5 if mqtt5 else paho.MQTTv311,
            clean_session=None if mqtt5 else not persistent,
        )
        if certs is not None and client_cert is not None:
            context = ssl.create_default_context(cafile=str(certs.ca))
            cert, key = certs.clients[client_cert]
            context.load_cert_chain(str(cert), str(key))
            self.client.tls_set_context(context)
        self._topics = topics
        self._subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self._subscribed.set()
        self.client.reconnect_delay_set(0.1, 0.5)
        kwargs: dict[str, Any] = {}
        if mqtt5 and persistent:
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 600
            kwargs = {"clean_start": False, "properties": props}
        self.client.connect("127.0.0.1", broker.port, 30, **kwargs)
        self.client.loop_start()
        if not self._subscribed.wait(START_TIMEOUT_S):
            self.close()
            raise TimeoutError("the collector could not subscribe")

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe([(t, 1) for t in self._topics])

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(message)
            self.arrived.append(time.monotonic())
            self._cond.notify_all()

    def wait_for(self, predicate: Callable[[list[paho.MQTTMessage]], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"condition not met in {timeout} s ({len(self.messages)} messages)")
                self._cond.wait(left)

    async def until(self, predicate: Callable[[list[paho.MQTTMessage]], bool], within_s: float = 10.0) -> None:
        """:meth:`wait_for` without blocking the event loop (the gateway under test runs on it)."""
        await asyncio.to_thread(self.wait_for, predicate, within_s)

    def events(self) -> list[dict[str, Any]]:
        with self._cond:
            return [json.loads(m.payload) for m in self.messages if "/events/" in m.topic]

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        """Publish at QoS 1 and wait for the broker's PUBACK (paho's wait returns quietly on a timeout)."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(PUBLISH_TIMEOUT_S)
        if not info.is_published():
            raise TimeoutError(f"no PUBACK for a message on {topic} within {PUBLISH_TIMEOUT_S} s")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        # paho closes its network thread's wake-up socket pair only in Client.__del__, and a collector
        # is in a reference cycle (its callbacks): the garbage collector may finalise the sockets first,
        # and their ResourceWarning fails whatever runs then (seen at the end of a session).
        self.client._reset_sockets(sockpair_only=True)


def retained(broker: Broker, topic_filter: str, within_s: float = START_TIMEOUT_S) -> list[paho.MQTTMessage]:
    """The retained messages under ``topic_filter`` now (what a joining client gets), without a fixed
    wait: a fresh subscriber also subscribes to a marker topic of its own and publishes one marker.
    The broker queues the retained messages to a subscriber before its SUBACK goes out, and the marker
    is published after that SUBACK, so once the marker is back every retained message is in."""
    marker = f"test-marker/{uuid.uuid4().hex}"
    probe = Collector(broker, (topic_filter, marker))
    try:
        probe.publish(marker, b"marker")
        probe.wait_for(lambda ms: any(m.topic == marker for m in ms), within_s)
        with probe._cond:
            return [m for m in probe.messages if m.retain and m.payload and m.topic != marker]
    finally:
        probe.close()


def event_ids(collector: Collector) -> list[str]:
    return [e["id"] for e in collector.events()]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def until_retained(broker: Broker, expected: dict[str, bytes], within_s: float = START_TIMEOUT_S) -> None:
    """Until each topic's retained message is the given payload (the latest one counts: a status that
    goes ``offline`` → ``online``); raises TimeoutError after ``within_s``."""
    watcher = Collector(broker, tuple(expected))
    try:

        def done(messages: list[paho.MQTTMessage]) -> bool:
            latest = {m.topic: bytes(m.payload) for m in messages}
            return all(latest.get(topic) == payload for topic, payload in expected.items())

        watcher.wait_for(done, within_s)
    finally:
        watcher.close()


def until_bridges_online(broker: Broker, bridges: dict[str, subprocess.Popen[bytes]], within_s: float) -> None:
    """Until each ingest bridge (``edge central ingest --name NAME``, keyed by NAME) reads ``online`` on
    its retained status topic, i.e. has subscribed: only then are the fleet's events queued for it (one
    no subscription matches is PUBACKed and dropped: docs/central.md, "Events that no subscription
    held"). On a timeout every bridge is killed, its pipes closed, and the TimeoutError raised."""
    status = central_constants.INGEST_STATUS_TOPIC
    try:
        until_retained(broker, {status.format(name=n): central_constants.INGEST_ONLINE for n in bridges}, within_s)
    except TimeoutError:
        for proc in bridges.values():
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=20)
        raise
