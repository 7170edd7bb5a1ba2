"""The example ACL (hardware/mosquitto/acl, read verbatim) on a real mosquitto with client certificates,
as hardware/mosquitto/store-broker.conf sets it up (``use_identity_as_username``: the certificate's CN, the
store id, is ``%u``; the peers connection's client id, the gateway id, is ``%c``): what
docs/multi-gateway.md says of the store-local topics (issue 18).

- a gateway's summaries, state and claims reach the store's other gateways;
- it cannot speak for another gateway: a summary or a claim under another gateway's level is refused (not
  delivered), and it cannot clear another gateway's retained claim;
- another store's gateway, and the bridge's user (hardware/mosquitto/bridge.conf), read none of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mosquitto import Certs, Collector, Mosquitto, make_certs

ACL = (Path(__file__).resolve().parent.parent / "hardware" / "mosquitto" / "acl").read_text()
ROOT = "store-local/v1/store-1"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[tuple[Mosquitto, Certs]]:
    certs = make_certs(tmp_path / "certs", ("store-1", "store-2", "cdp-bridge"))
    with Mosquitto(tmp_path / "broker", certs=certs, acl=ACL, persistence=False) as server:
        yield server, certs


def _gateway(server: Mosquitto, certs: Certs, store: str, gateway: str, topics: tuple[str, ...]) -> Collector:
    """A gateway's peers connection: its store's certificate, its gateway id as the client id."""
    return Collector(server, topics, client_id=gateway, certs=certs, client_cert=store)


def _payloads(collector: Collector) -> list[tuple[str, bytes]]:
    return [(m.topic, bytes(m.payload)) for m in collector.messages]


def test_the_example_acl_keeps_each_gateway_to_its_own_level(broker: tuple[Mosquitto, Certs]) -> None:
    server, certs = broker
    gw2 = _gateway(server, certs, "store-1", "gw-2", (f"{ROOT}/#",))
    store2 = _gateway(server, certs, "store-2", "gw-7", ("store-local/v1/#",))
    bridge = Collector(
        server, ("store-local/v1/#", "edge/v1/#"), client_id="bridge", certs=certs, client_cert="cdp-bridge"
    )
    gw1 = _gateway(server, certs, "store-1", "gw-1", (f"{ROOT}/gw-1/state",))
    try:
        gw2.publish(f"{ROOT}/gw-2/owner/0123456789abcdef", b"gw-2's claim", retain=True)
        gw1.publish(f"{ROOT}/gw-1/sightings", b"gw-1's summary")
        gw1.publish(f"{ROOT}/gw-1/owner/fedcba9876543210", b"gw-1's claim", retain=True)
        gw1.publish(f"{ROOT}/gw-2/sightings", b"forged summary")  # refused: gw-2's level
        gw1.publish(f"{ROOT}/gw-2/owner/0123456789abcdef", b"", retain=True)  # refused: not its claim
        gw1.publish(f"{ROOT}/gw-2/owner/0123456789abcdef", b"forged claim", retain=True)
        gw1.publish(f"{ROOT}/gw-1/state", b"gw-1 online", retain=True)  # the last: the others came before
        gw2.wait_for(lambda ms: any(bytes(m.payload) == b"gw-1 online" for m in ms))
        # What the other store's gateway and the bridge may read does reach them (they are listening).
        store2.publish("store-local/v1/store-2/gw-7/state", b"gw-7 online", retain=True)
        gw1.publish("edge/v1/store-1/gw-1/status", b"online", retain=True)
        store2.wait_for(lambda ms: len(ms) >= 1)
        bridge.wait_for(lambda ms: any(m.topic.startswith("edge/v1/") for m in ms))
        assert _payloads(gw2) == [
            (f"{ROOT}/gw-2/owner/0123456789abcdef", b"gw-2's claim"),  # its own, echoed
            (f"{ROOT}/gw-1/sightings", b"gw-1's summary"),
            (f"{ROOT}/gw-1/owner/fedcba9876543210", b"gw-1's claim"),
            (f"{ROOT}/gw-1/state", b"gw-1 online"),
        ]
        late = _gateway(server, certs, "store-1", "gw-3", (f"{ROOT}/+/owner/+",))
        try:
            late.wait_for(lambda ms: len(ms) == 2)
            retained = sorted(_payloads(late))
        finally:
            late.close()
        assert retained == [  # gw-2's claim was neither cleared nor overwritten by gw-1
            (f"{ROOT}/gw-1/owner/fedcba9876543210", b"gw-1's claim"),
            (f"{ROOT}/gw-2/owner/0123456789abcdef", b"gw-2's claim"),
        ]
        assert _payloads(store2) == [("store-local/v1/store-2/gw-7/state", b"gw-7 online")]  # its own store's only
        assert [m.topic for m in bridge.messages if not m.topic.startswith("edge/v1/")] == []
    finally:
        for client in (gw1, gw2, store2, bridge):
            client.close()
