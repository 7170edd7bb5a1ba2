"""A restarted CDP consumer resumes its per-gateway ``sequence`` watermarks (saved in a JetStream KV
bucket, :mod:`central.watermarks`) on a real three-node cluster: consume about half, stop, start a
new consumer on the same durable, consume the rest: 0 gaps, each gateway's events handed on 1..n in
order, exactly once. After a crash (the task cancelled, its connection dropped, nothing given back)
there is no gap either: what the dead instance held returns after the ack wait, within the new
instance's grace; events it handed on but had not yet acknowledged may come again (at least once)."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nats
import nats.js.errors
import pytest

from central.cluster import NatsCluster
from central.consumer import CdpConsumer
from central.stream import StreamLimits, ensure
from edge.tasks import cancel_and_wait

pytestmark = pytest.mark.slow

GATEWAYS = 4
PER_GATEWAY = 120
ACK_WAIT_S = 2.0
HOLD_S = 1.0
BATCH = 25
SAVE_S = 0.1
CDP_WRITE_S = 0.003
LIMITS = StreamLimits(max_bytes=64 * 1024**2)

Seen = dict[tuple[str, str], list[int]]


def _body(store: str, gateway: str, seq: int) -> bytes:
    event = {
        "specversion": "1.0",
        "id": f"{store}-{gateway}-{seq}",
        "source": f"urn:edge:{store}:{gateway}",
        "type": "edge.shelf.interaction",
        "time": "2026-11-30T12:00:00Z",
        "sequence": str(seq),
        "datacontenttype": "application/json",
        "data": {"n": seq},
    }
    return json.dumps(event).encode()


def _arrival_order() -> list[tuple[str, int]]:
    """Gateways interleaved, and every 7th pair of a gateway swapped: as a shared subscription
    spreads a gateway over ingest processes, so the consumer has to hold some events."""
    per = []
    for g in range(GATEWAYS):
        seqs = list(range(1, PER_GATEWAY + 1))
        for i in range(0, PER_GATEWAY - 1, 7):
            seqs[i], seqs[i + 1] = seqs[i + 1], seqs[i]
        per.append([(f"gw-{g}", s) for s in seqs])
    return [x for group in itertools.zip_longest(*per) for x in group if x is not None]


async def _publish(servers: list[str]) -> None:
    nc = await nats.connect(servers=servers)
    try:
        js = nc.jetstream()
        await ensure(js, LIMITS)
        deadline = time.monotonic() + 10
        for gateway, seq in _arrival_order():
            while True:
                try:
                    await js.publish(f"edge.v1.s1.{gateway}.edge.shelf.interaction", _body("s1", gateway, seq))
                    break
                except nats.js.errors.NoStreamResponseError:
                    # Nothing stored: a stream whose leader was just elected can answer "no responders"
                    # for a moment (CI once, a bucket's first put after ensure()). Bounded.
                    if time.monotonic() > deadline:
                        raise
                    await asyncio.sleep(0.1)
    finally:
        await nc.close()


async def _consume(
    servers: list[str], durable: str, until: Callable[[Seen], bool], *, crash: bool = False, last: bool = False
) -> tuple[CdpConsumer, Seen]:
    """One consumer instance until ``until(what it handed on)`` (then a clean stop, or a crash)."""
    seen: Seen = {}

    def deliver(store: str, gateway: str, seq: int, event: dict[str, Any]) -> None:
        seen.setdefault((store, gateway), []).append(seq)
        time.sleep(CDP_WRITE_S)  # the CDP's (synchronous) write

    nc = await nats.connect(servers=servers)
    consumer = CdpConsumer(
        nc.jetstream(), deliver, durable=durable, hold_s=HOLD_S, batch=BATCH, ack_wait_s=ACK_WAIT_S, save_every_s=SAVE_S
    )
    stop = asyncio.Event()
    task = asyncio.create_task(consumer.run(stop))
    deadline = time.monotonic() + 30
    while not until(seen) and time.monotonic() < deadline and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    if crash:  # right after its next save: it holds some events and has handed on some it did not save
        assert consumer.watermarks is not None
        saves = consumer.watermarks.saves
        while consumer.watermarks.saves == saves and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.005)
        await cancel_and_wait(task)
        await nc.close()  # nothing given back: the cluster redelivers after the ack wait
        return consumer, seen
    if last:
        await asyncio.sleep(HOLD_S + 0.5)  # a gap, if any, would be counted now
    stop.set()
    await asyncio.wait_for(task, 15)
    await nc.close()
    return consumer, seen


def _increasing(seen: Seen) -> bool:
    return all(all(b > a for a, b in itertools.pairwise(seqs)) for seqs in seen.values())


async def _scenario(servers: list[str], durable: str, *, crash: bool) -> tuple[CdpConsumer, Seen, CdpConsumer, Seen]:
    total = GATEWAYS * PER_GATEWAY
    first, seen1 = await _consume(
        servers, durable, lambda seen: sum(map(len, seen.values())) >= total // 2, crash=crash
    )

    def all_handed_on(seen: Seen) -> bool:
        return sum(len(set(seen1.get(k, [])) | set(seen.get(k, []))) for k in seen1.keys() | seen.keys()) >= total

    second, seen2 = await _consume(servers, durable, all_handed_on, last=True)
    return first, seen1, second, seen2


def test_restarted_consumer_resumes_watermarks(tmp_path: Path) -> None:
    with NatsCluster(tmp_path / "nats") as cluster:
        asyncio.run(_publish(cluster.urls))
        # Clean stop and restart: exactly once, in order, no gap.
        first, seen1, second, seen2 = asyncio.run(_scenario(cluster.urls, "cdp-restart", crash=False))
        assert 0 < sum(map(len, seen1.values())) < GATEWAYS * PER_GATEWAY
        for g in range(GATEWAYS):
            key = ("s1", f"gw-{g}")
            assert seen1.get(key, []) + seen2.get(key, []) == list(range(1, PER_GATEWAY + 1)), key
        for consumer in (first, second):
            assert not consumer.reorder.gaps
            assert consumer.reorder.duplicates == consumer.reorder.late == consumer.invalid == 0
        assert second.watermarks is not None
        assert second.watermarks.saves > 0

        # A crash: no gap, nothing lost, each instance in order (some events may come twice).
        first, seen1, second, seen2 = asyncio.run(_scenario(cluster.urls, "cdp-crash", crash=True))
        for g in range(GATEWAYS):
            key = ("s1", f"gw-{g}")
            assert set(seen1.get(key, [])) | set(seen2.get(key, [])) == set(range(1, PER_GATEWAY + 1)), key
        assert _increasing(seen1)
        assert _increasing(seen2)
        assert not first.reorder.gaps
        assert not second.reorder.gaps
        assert second.reorder.late == 0
        again = sum(len(set(seen1.get(k, [])) & set(seen2.get(k, []))) for k in seen2)
        print(f"crash: {sum(map(len, seen1.values()))} + {sum(map(len, seen2.values()))} handed on, {again} twice")


def test_an_event_nested_too_deep_is_invalid_not_a_crash() -> None:
    """The SDK's json and msgspec recurse through a body nested 100,000 deep (RecursionError, which the
    consumer's ``invalid`` count did not catch); it is now an invalid event like any other."""
    from central.consumer import validate

    good = {
        "specversion": "1.0",
        "id": "e-1",
        "source": "urn:edge:s1:g1",
        "type": "edge.shelf.interaction",
        "time": "2026-12-05T18:00:00.000Z",
    }
    head, event = validate(json.dumps({**good, "sequence": "1", "data": {"a": [1, [2]]}}).encode())
    assert (head.id, event.get_id()) == ("e-1", "e-1")
    deep = b"[" * 100_000 + b"]" * 100_000
    body = json.dumps({**good, "sequence": "1"}).encode()[:-1] + b', "data": ' + deep + b"}"
    with pytest.raises(ValueError, match="nests deeper than 32 levels"):
        validate(body)
