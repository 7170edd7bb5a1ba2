"""The broker helpers of tests/mosquitto.py that other tests rely on for their waits."""

from __future__ import annotations

from pathlib import Path

import pytest

from central.cluster import EPHEMERAL_RANGE_FILE, LISTEN_PORTS_SPAN, PORT_SLICE_ENV, _slice
from tests.mosquitto import Collector, Mosquitto, free_port, retained


def test_retained_returns_every_retained_message_under_the_filter_and_nothing_live(tmp_path: Path) -> None:
    with Mosquitto(tmp_path / "broker", persistence=False) as broker:
        publisher = Collector(broker, ("unused/#",))
        try:
            for n in range(20):
                publisher.publish(f"store-local/v1/s/gw-{n % 3}/owner/t{n}", b'{"n": %d}' % n, retain=True)
            publisher.publish("store-local/v1/s/gw-0/owner/t0", b"", retain=True)  # cleared
            publisher.publish("store-local/v1/s/gw-0/state", b"{}", retain=True)  # outside the filter
            got = retained(broker, "store-local/v1/s/+/owner/+")
        finally:
            publisher.close()
    assert sorted(m.topic for m in got) == sorted(f"store-local/v1/s/gw-{n % 3}/owner/t{n}" for n in range(1, 20))


def test_free_ports_are_distinct_and_below_the_ephemeral_range() -> None:
    low = int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    ports = [free_port() for _ in range(40)]
    assert len(set(ports)) == len(ports)
    if low > 1024 + LISTEN_PORTS_SPAN // 2:  # Linux's default range starts at 32768
        assert all(low - LISTEN_PORTS_SPAN <= port < low for port in ports)


@pytest.mark.parametrize(("value", "expected"), [("0/2", (20_000, 25_000)), ("1/2", (25_000, 30_000)),
                                                 ("", (20_000, 30_000)), ("2/2", (20_000, 30_000)),
                                                 ("x/2", (20_000, 30_000)), ("0/1000", (20_000, 30_000))])  # fmt: skip
def test_each_test_worker_draws_ports_from_a_slice_of_its_own(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: tuple[int, int]
) -> None:
    """Two pytest-xdist workers side by side never pick one port (tests/conftest.py sets the slice per worker);
    a malformed or missing slice is the whole span."""
    monkeypatch.setenv(PORT_SLICE_ENV, value)
    assert _slice(20_000, 30_000) == expected
    monkeypatch.setenv(PORT_SLICE_ENV, "1/2")
    low = int(EPHEMERAL_RANGE_FILE.read_text().split()[0])
    if low > 1024 + LISTEN_PORTS_SPAN // 2:
        assert all(low - LISTEN_PORTS_SPAN // 2 <= free_port() < low for _ in range(20))
