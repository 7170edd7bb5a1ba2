"""One MQTT connection: a paho-mqtt 2.x client driven from the asyncio loop (no paho thread).

paho's socket callbacks register its socket with the loop (aiomqtt's pattern), so every paho
callback runs on the loop's thread; the blocking part of a connect (DNS, TCP, TLS handshake) runs
in the default executor and its socket callbacks are handed over with ``call_soon_threadsafe``.
A :class:`Link` is used for one connection only: the reconnect loop (:mod:`edge.sync.service`)
builds a fresh one each time, so nothing ever waits in paho's own queue between connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import select
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from edge import constants as c
from edge.config import Config
from edge.errors import EdgeError

log = logging.getLogger(__name__)

MISC_INTERVAL_S = 1.0
"""How often paho's housekeeping (keep-alive PINGREQ, timeouts) runs."""


class LinkError(EdgeError):
    """An MQTT connection could not be made or was refused; ``reason`` is the broker's, if any."""

    def __init__(self, message: str, *, reason: str = "") -> None:
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class LinkSettings:
    host: str
    port: int
    tls: bool
    mqtt5: bool
    client_id: str
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    keepalive_s: int = c.MQTT_KEEPALIVE_S
    session_expiry_s: int = c.MQTT_SESSION_EXPIRY_S
    inflight_max: int = c.MQTT_INFLIGHT_MAX
    connect_timeout_s: float = c.MQTT_CONNECT_TIMEOUT_S
    receive_max: int = c.MQTT_RECEIVE_MAX
    max_packet_bytes: int = c.MQTT_MAX_PACKET_BYTES

    @classmethod
    def from_config(cls, config: Config) -> LinkSettings:
        mqtt = config.mqtt
        if mqtt.url is None:
            raise LinkError("no mqtt.url is configured")
        parts = urlsplit(mqtt.url)
        tls = parts.scheme == "mqtts"
        password = mqtt.password
        if mqtt.password_file:
            try:
                password = Path(mqtt.password_file).read_text(encoding="utf-8").strip()
            except OSError as err:
                raise LinkError(f"cannot read mqtt.password_file {mqtt.password_file}: {err.strerror}") from None
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            mqtt5=mqtt.protocol == "5",
            client_id=mqtt.client_id or f"edge-{config.gateway.store}-{config.gateway.gateway}",
            username=mqtt.username or parts.username,
            password=password or parts.password,
            ca_file=mqtt.ca_file,
            cert_file=mqtt.cert_file,
            key_file=mqtt.key_file,
            keepalive_s=mqtt.keepalive_s,
            session_expiry_s=mqtt.session_expiry_s,
            inflight_max=mqtt.inflight_max,
        )


def _tls_context(settings: LinkSettings) -> ssl.SSLContext:
    try:
        context = ssl.create_default_context(cafile=settings.ca_file)
        if settings.cert_file and settings.key_file:
            context.load_cert_chain(settings.cert_file, settings.key_file)
    except (OSError, ssl.SSLError) as err:
        raise LinkError(f"cannot load the TLS files (mqtt.ca_file / cert_file / key_file): {err}") from None
    return context


class Link:
    """One connection. ``on_message(link, message)`` and ``on_puback(mid, accepted)`` run on the
    loop; ``accepted`` is False for an MQTT 5 PUBACK with a failure reason (refused by the ACL)."""

    def __init__(
        self,
        settings: LinkSettings,
        *,
        on_message: Callable[[Link, paho.MQTTMessage], None],
        on_puback: Callable[[int, bool], None],
    ) -> None:
        self.settings = settings
        self._loop = asyncio.get_running_loop()
        self._on_message = on_message
        self._on_puback = on_puback
        self._connack: asyncio.Future[tuple[bool, int]] = self._loop.create_future()
        self.closed: asyncio.Future[str] = self._loop.create_future()
        """Resolves with a reason when the connection ends."""
        self.receive_maximum = settings.inflight_max
        self._misc: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None
        self._fd = -1
        self._loop_thread = threading.get_ident()
        self.paused = False
        """Not reading the socket (:meth:`pause`)."""
        self._drained: asyncio.Event | None = None
        """While :meth:`close` waits for the broker's PUBACKs: set once none is outstanding."""
        self.failures = 0
        """Messages the handler raised on (acknowledged, dropped)."""
        client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=settings.client_id,
            protocol=paho.MQTTv5 if settings.mqtt5 else paho.MQTTv311,
            clean_session=None if settings.mqtt5 else False,
            manual_ack=True,
            reconnect_on_failure=False,
        )
        # The drain bounds the window itself; paho's own bound costs O(window) per PUBACK (it scans its
        # messages for a queued one), so it is off and paho never holds a message it has not sent.
        client.max_inflight_messages_set(0)
        client.max_queued_messages_set(settings.inflight_max)
        client.connect_timeout = settings.connect_timeout_s
        if settings.username is not None:
            client.username_pw_set(settings.username, settings.password)
        if settings.tls:
            client.tls_set_context(_tls_context(settings))
        client.on_connect = self._connected
        client.on_disconnect = self._disconnected
        client.on_message = self._message
        client.on_publish = self._published
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        client.on_socket_register_write = self._register_write
        client.on_socket_unregister_write = self._unregister_write
        self.client = client

    # --- paho callbacks (on the loop's thread, except socket callbacks during connect) -------

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        """On the loop's thread now (so a closed socket's fd is released before it can be reused),
        from the connect's executor thread through ``call_soon_threadsafe``."""
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    def _socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._sock = sock
        self._fd = sock.fileno()
        self.paused = False
        self._call(self._loop.add_reader, self._fd, self._read)

    def _socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._call(self._release, self._fd)

    def _release(self, fd: int) -> None:
        if fd >= 0:
            self._loop.remove_reader(fd)
            self._loop.remove_writer(fd)

    def _register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._call(self._loop.add_writer, self._fd, client.loop_write)

    def _unregister_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._call(self._loop.remove_writer, self._fd)

    def _read(self) -> None:
        client = self.client
        client.loop_read()
        sock = self._sock
        while not self.paused and isinstance(sock, ssl.SSLSocket) and sock.fileno() >= 0 and sock.pending():
            if client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break

    def read_waiting(self, most: int) -> int:
        """Read now, without waiting, up to ``most`` packets that already wait in the socket; the number read. For a
        loop that is about to decide on what it has heard after stalling: the reader callback that would take them
        runs only after the decision. Nothing while paused (back-pressure) or closed."""
        reads = 0
        while reads < most and not self.paused and not self.closed.done():
            sock = self._sock
            if sock is None or self._fd < 0 or sock.fileno() < 0:
                break
            pending = isinstance(sock, ssl.SSLSocket) and sock.pending() > 0
            if not pending and not select.select([sock], [], [], 0)[0]:  # a poll: timeout 0, never a wait
                break
            if self.client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                break
            reads += 1
        return reads

    def pause(self) -> None:
        """Stop reading the socket (back-pressure: the broker's messages wait in TCP's buffers and the
        broker); :meth:`resume` reads again. Keep-alive is unaffected for a pause shorter than it."""
        if not self.paused and self._fd >= 0:
            self.paused = True
            self._loop.remove_reader(self._fd)

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            if self._fd >= 0 and not self.closed.done():
                self._loop.add_reader(self._fd, self._read)

    def _connected(self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        if self._connack.done():
            return
        if reason.is_failure:
            self._connack.set_exception(LinkError(f"the broker refused the connection: {reason}", reason=str(reason)))
            return
        receive_max = getattr(props, "ReceiveMaximum", None) if props is not None else None
        if receive_max:
            self.receive_maximum = min(self.receive_maximum, int(receive_max))
        self._connack.set_result((bool(flags.session_present), self.receive_maximum))

    def _disconnected(self, client: paho.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any) -> None:
        why = str(reason)
        if self._drained is not None:
            self._drained.set()  # no PUBACK comes any more
        if not self._connack.done():
            self._connack.set_exception(LinkError(f"the connection closed before CONNACK: {why}", reason=why))
        if not self.closed.done():
            self.closed.set_result(why)

    def _message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        """Never raises: an exception escaping paho's callback leaves paho re-reading the same
        packet in a loop. A message the handler failed on is acknowledged (not redelivered) and counted."""
        try:
            self._on_message(self, message)
        except Exception as err:  # noqa: BLE001 - see the docstring; the type and line only: no payload value
            self.failures += 1
            if self.failures == 1 or self.failures % 1000 == 0:
                tb = err.__traceback__
                while tb is not None and tb.tb_next is not None:
                    tb = tb.tb_next
                where = f" at line {tb.tb_lineno} of {tb.tb_frame.f_code.co_filename}" if tb is not None else ""
                log.error("MQTT: a downlink handler raised %s%s (%d so far)", type(err).__name__, where, self.failures)
            with contextlib.suppress(Exception):
                self.ack(message.mid, message.qos)

    def _published(self, client: paho.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any) -> None:
        self._on_puback(mid, not reason.is_failure)
        # paho keeps each unacknowledged QoS > 0 publish in _out_messages until just after this call.
        if self._drained is not None and set(client._out_messages) <= {mid}:
            self._drained.set()

    # --- the connection ---------------------------------------------------------------------

    async def connect(self, *, will_topic: str, will: bytes) -> tuple[bool, int]:
        """Connect (persistent session); (session present, in-flight window the broker allows)."""
        s = self.settings
        self.client.will_set(will_topic, will, qos=1, retain=True)
        kwargs: dict[str, Any] = {}
        if s.mqtt5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = s.session_expiry_s
            props.ReceiveMaximum = s.receive_max  # bounds the unacknowledged downlinks in memory
            props.MaximumPacketSize = s.max_packet_bytes  # the broker drops a bigger one
            kwargs = {"clean_start": False, "properties": props}
        opening = self._loop.run_in_executor(None, lambda: self.client.connect(s.host, s.port, s.keepalive_s, **kwargs))
        try:
            # asyncio.timeout, not wait_for: 3.11's wait_for can lose a cancellation (gh-86296), and
            # a stop that arrives as the CONNACK does must end the connection loop.
            async with asyncio.timeout(s.connect_timeout_s):
                await asyncio.shield(opening)
            async with asyncio.timeout(s.connect_timeout_s):
                result = await asyncio.shield(self._connack)
        except (OSError, TimeoutError, ssl.SSLError) as err:
            self._abort_when_done(opening)
            raise LinkError(f"cannot connect to {s.host}:{s.port}: {err or type(err).__name__}") from None
        except BaseException:  # LinkError, or cancelled (the gateway is stopping)
            self._abort_when_done(opening)
            raise
        self._misc = asyncio.create_task(self._housekeeping(), name="edge-mqtt-misc")
        return result

    def _abort_when_done(self, opening: asyncio.Future[Any]) -> None:
        """Abort now, and again once the executor's connect returns (it may open a socket late)."""
        self.abort()

        def late(done: asyncio.Future[Any]) -> None:
            self.abort()
            if not done.cancelled():
                done.exception()  # retrieved: it was reported already, or does not matter now

        opening.add_done_callback(late)

    async def _housekeeping(self) -> None:
        while not self.closed.done():
            await asyncio.sleep(MISC_INTERVAL_S)
            if self.client.loop_misc() == MQTTErrorCode.MQTT_ERR_NO_CONN and not self.closed.done():
                self.closed.set_result("no connection")

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> int | None:
        """QoS 1; the message id, or None when the connection is gone."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return None
        return info.mid

    def subscribe(self, topics: tuple[str, ...]) -> None:
        if self.settings.mqtt5:
            from paho.mqtt.subscribeoptions import SubscribeOptions

            self.client.subscribe([(t, SubscribeOptions(qos=1)) for t in topics])
        else:
            self.client.subscribe([(t, 1) for t in topics])

    def ack(self, mid: int, qos: int) -> None:
        """Acknowledge a downlink (after it was validated and committed); nothing if closed."""
        if qos > 0 and not self.closed.done():
            self.client.ack(mid, qos)

    async def close(self) -> None:
        """Wait for the broker to acknowledge every QoS 1 message published, then DISCONNECT (the will
        is not sent) and release the socket; all within :data:`~edge.constants.MQTT_CLOSE_TIMEOUT_S`.

        The wait comes first because paho closes the socket as soon as its DISCONNECT is written: a
        socket closed while the broker's messages to it are still unread is *reset*, and the broker
        then drops whatever of ours it had not yet read -- the last publishes and the DISCONNECT, so it
        sends the will (seen: a clean stop's second claim clear lost, `tests/test_peers_stop.py`). While
        reading is paused (back-pressure) no PUBACK can arrive: then it disconnects at once."""
        if not self.closed.done():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(c.MQTT_CLOSE_TIMEOUT_S):
                    if self.client._out_messages and not self.paused:
                        self._drained = asyncio.Event()
                        await self._drained.wait()  # set by the last PUBACK, or by the connection's end
                    if not self.closed.done():
                        self.client.disconnect()
                        await asyncio.shield(self.closed)
        self.abort()

    def abort(self) -> None:
        """Drop the connection at once (no DISCONNECT: the broker sends the will)."""
        if self._misc is not None:
            self._misc.cancel()
        self._release(self._fd)
        self._fd = -1
        self.client._reset_sockets()  # paho has no public "drop the socket"
        if not self.closed.done():
            self.closed.set_result("aborted")
