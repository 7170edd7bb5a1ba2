"""The store broker's connection (edge/peers/connection.py), on a real mosquitto with a manual clock:
the ``online`` birth, settling after a connection, the standalone grace after a cut-off, and the
clean stop's order (the service's release, then ``offline``)."""

from __future__ import annotations

import asyncio
import select
import socket
import time
from pathlib import Path

from edge.clock import ManualClock
from edge.mqtt_link import LinkSettings
from edge.peers import messages
from edge.peers.connection import StoreConnection
from edge.peers.timing import SETTLE_S, STANDALONE_GRACE_S
from edge.peers.topics import PeerTopics
from edge.tasks import cancel_and_wait
from tests.mosquitto import Collector, Mosquitto
from tests.peers_replay import until

START = 1_800_000_000.0
STATE = "store-local/v1/store-1/gw-1/state"


def _connection(broker: Mosquitto, clock: ManualClock, got: list[str], connected: list[int]) -> StoreConnection:
    settings = LinkSettings("127.0.0.1", broker.port, tls=False, mqtt5=True, client_id="gw-1", session_expiry_s=0)
    stats = {"peers_connections": 0}
    topics = PeerTopics("store-local/v1", "store-1", "gw-1")
    return StoreConnection(
        "gw-1",
        settings,
        topics,
        clock,
        stats,
        lambda topic, _payload: got.append(topic),
        lambda: connected.append(1),
        1,
    )


async def test_settles_after_connecting_and_freezes_for_the_grace_when_cut_off(tmp_path: Path) -> None:
    clock = ManualClock(START)
    got: list[str] = []
    connected: list[int] = []
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    connection = _connection(broker, clock, got, connected)
    # Before any connection: cut off since the start, frozen for the grace, then standalone.
    assert connection.frozen(START)
    assert not connection.frozen(START + STANDALONE_GRACE_S)
    observer = Collector(broker, ("store-local/v1/store-1/+/state",))
    task = asyncio.create_task(connection.run())
    try:
        await until(connection.connected.is_set, "connected")
        assert connected == [1]
        assert connection.stats["peers_connections"] == 1
        await until(
            lambda: any(m.topic == STATE and b'"online"' in bytes(m.payload) for m in observer.messages), "online"
        )
        # Settling: the retained states and claims arrive first.
        assert connection.frozen(clock.now())
        clock.advance(SETTLE_S)
        assert not connection.frozen(clock.now())
        # A peer's message reaches the service.
        await asyncio.to_thread(
            observer.publish, "store-local/v1/store-1/gw-2/state", messages.state_payload("gw-2", "online")
        )
        await until(lambda: "store-local/v1/store-1/gw-2/state" in got, "the peer's state")
        # Cut off: frozen for the grace (a broker restart moves nobody), then standalone.
        connection.alive.add("gw-2")
        broker.stop()
        await until(lambda: not connection.connected.is_set(), "cut off")
        cut = clock.now()
        assert connection.cut_off_at == cut
        assert connection.alive == set()
        assert connection.frozen(cut + STANDALONE_GRACE_S - 0.1)
        assert not connection.frozen(cut + STANDALONE_GRACE_S)
    finally:
        observer.close()
        await cancel_and_wait(task)
        broker.stop()


async def test_a_clean_stop_releases_then_says_offline(tmp_path: Path) -> None:
    clock = ManualClock(START)
    got: list[str] = []
    with Mosquitto(tmp_path / "broker") as broker:
        assert isinstance(broker, Mosquitto)
        observer = Collector(broker, ("store-local/v1/store-1/+/state", "store-local/v1/store-1/+/owner/#"))
        connection = _connection(broker, clock, got, [])
        task = asyncio.create_task(connection.run())
        try:
            await until(connection.connected.is_set, "connected")
            claim = "store-local/v1/store-1/gw-1/owner/0123456789abcdef"

            def release() -> None:
                link = connection.link
                assert link is not None
                link.client.publish(claim, b"", qos=1, retain=True)

            await connection.close(release)
            await until(lambda: any(b'"offline"' in bytes(m.payload) for m in observer.messages), "offline")
            order = [(m.topic, bytes(m.payload)) for m in observer.messages]
            cleared = order.index((claim, b""))
            offline = next(i for i, (t, p) in enumerate(order) if t == STATE and b'"offline"' in p)
            assert cleared < offline
        finally:
            observer.close()
            await cancel_and_wait(task)


def _stall_until_waiting(sock: socket.socket, needles: list[bytes], timeout_s: float = 5.0) -> None:
    """Block (the event loop stalled, as a busy gateway's does) until every needle is in the socket, unread (peeked)."""
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if select.select([sock], [], [], 0.05)[0] and all(n in sock.recv(65536, socket.MSG_PEEK) for n in needles):
            return
        time.sleep(0.01)  # the stall is the point: nothing on the loop may read the socket
    raise TimeoutError("the summaries did not reach the socket within 5 s")


async def test_a_stalled_loop_reads_what_waits_in_its_socket_before_deciding(tmp_path: Path) -> None:
    """A slot evaluated at its deadline reads what already waits in the socket first (edge/peers/slots.py): the
    loop stalled, so the reader callback has not run. ``read_waiting`` hands those messages on at once, never waits,
    and reads nothing while paused (back-pressure)."""
    clock = ManualClock(START)
    got: list[str] = []
    with Mosquitto(tmp_path / "broker") as broker:
        assert isinstance(broker, Mosquitto)
        observer = Collector(broker, ("store-local/v1/store-1/+/state",))
        connection = _connection(broker, clock, got, [])
        task = asyncio.create_task(connection.run())
        try:
            await until(connection.connected.is_set, "connected")
            first = "store-local/v1/store-1/gw-2/state"
            await asyncio.to_thread(observer.publish, first, messages.state_payload("gw-2", "online"))
            await until(lambda: first in got, "subscribed: the first message")
            got.clear()
            assert connection.read_waiting() == 0  # nothing waits: returns at once
            link = connection.link
            assert link is not None
            sock = link._sock
            assert sock is not None
            summaries = [f"store-local/v1/store-1/gw-{n}/sightings" for n in (2, 3, 4)]
            # The loop stalls (synchronous calls, no await): the peers' summaries reach the socket, unread.
            for topic in summaries:
                observer.publish(topic, b'{"v":1}')
            _stall_until_waiting(sock, [t.encode() for t in summaries])
            assert got == []
            link.pause()
            assert connection.read_waiting() == 0  # back-pressure holds
            link.resume()
            assert connection.read_waiting() == len(summaries)
            assert got == summaries
            assert connection.read_waiting() == 0
        finally:
            observer.close()
            await cancel_and_wait(task)
