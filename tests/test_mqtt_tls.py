"""Mutual TLS (certificates made at test time, require_certificate) and a per-store ACL on a real
mosquitto: a gateway reaches its own store's topics and nothing of another store's."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.app import Gateway
from edge.mqtt_link import Link, LinkError, LinkSettings
from tests.helpers import roster_bytes
from tests.mosquitto import Certs, Collector, Mosquitto, make_certs
from tests.test_mqtt_sync import make_config, source, wait_until

ACL = """user cdp
topic readwrite #

pattern readwrite edge/v1/%u/#
pattern read cdp/v1/%u/#
"""


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, Certs]]:
    certs = make_certs(tmp_path / "certs", ("store-1", "cdp"))
    with Mosquitto(tmp_path / "broker", certs=certs, acl=ACL) as broker:
        yield broker, certs


def tls_config(tmp_path: Path, broker: Mosquitto, certs: Certs, store: str, client: str = "store-1") -> object:
    cert, key = certs.clients[client]
    config = make_config(tmp_path, broker.url, ca_file=str(certs.ca), cert_file=str(cert), key_file=str(key))
    import msgspec

    return msgspec.structs.replace(config, gateway=msgspec.structs.replace(config.gateway, store=store))


async def test_mutual_tls_delivers_to_the_own_store(tls_broker: tuple[Mosquitto, Certs], tmp_path: Path) -> None:
    broker, certs = tls_broker
    cdp = Collector(broker, ("edge/v1/#",), certs=certs, client_cert="cdp")
    try:
        config = tls_config(tmp_path, broker, certs, "store-1")
        async with Gateway(config, source()) as gateway:  # type: ignore[arg-type]
            make = gateway.core.factory.make
            await gateway.pipeline.publish(
                [make("edge.shelf.interaction", time.time(), "shelf-a3", {}) for _ in range(20)]
            )
            await wait_until(lambda: gateway.outbox.sent_rows == 20)
        await cdp.until(lambda ms: sum("/events/" in m.topic for m in ms) == 20)
    finally:
        cdp.close()


async def test_acl_refuses_another_stores_topics(tls_broker: tuple[Mosquitto, Certs], tmp_path: Path) -> None:
    broker, certs = tls_broker
    cdp = Collector(broker, ("edge/v1/#",), certs=certs, client_cert="cdp")
    try:
        cdp.publish("cdp/v1/store-2/roster", roster_bytes(version=9), retain=True)
        config = tls_config(tmp_path, broker, certs, "store-2")  # store-1's certificate
        async with Gateway(config, source()) as gateway:  # type: ignore[arg-type]
            assert gateway.sync is not None
            await asyncio.wait_for(gateway.sync.connected.wait(), 10)
            make = gateway.core.factory.make
            await gateway.pipeline.publish(
                [make("edge.shelf.interaction", time.time(), "shelf-a3", {}) for _ in range(5)]
            )
            await wait_until(lambda: gateway.sync is not None and gateway.sync.drain.refused == 5)
            await asyncio.sleep(0.3)
            assert gateway.core.resolver.roster is None  # another store's roster never arrives
            assert await gateway.outbox.depth() == 5  # refused rows stay, unsent
        assert not [m for m in cdp.messages if "/events/" in m.topic]
    finally:
        cdp.publish("cdp/v1/store-2/roster", b"", retain=True)
        cdp.close()


async def test_no_client_certificate_no_connection(tls_broker: tuple[Mosquitto, Certs], tmp_path: Path) -> None:
    broker, certs = tls_broker
    settings = LinkSettings("127.0.0.1", broker.port, tls=True, mqtt5=True, client_id="x", ca_file=str(certs.ca))
    link = Link(settings, on_message=lambda *_: None, on_puback=lambda *_: None)
    with pytest.raises(LinkError):
        await link.connect(will_topic="edge/v1/store-1/gw-1/status", will=b"{}")
