"""The JetStream layout's creation on a real three-node cluster: a create the cluster refuses is tried again
until the deadline, and the error then names the refusal -- not "stream not found" (a refused create was once
taken for another service's and never tried again: a CI run waited its whole 30 s for a stream nobody made)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator

import nats
import nats.js.errors
import pytest
from nats.js import JetStreamContext
from nats.js.api import StreamConfig

from central import constants as c
from central import stream
from central.cluster import NatsCluster
from central.downlink import Downlink
from central.errors import CentralError
from central.stream import StreamLimits, ensure, events_config


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsCluster]:
    with NatsCluster(tmp_path_factory.mktemp("nats")) as made:
        yield made


async def test_a_create_refused_until_the_deadline_is_named(
    cluster: NatsCluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "ENSURE_TIMEOUT_S", 1.5)
    nc = await nats.connect(servers=cluster.urls)
    try:
        began = time.monotonic()
        with pytest.raises(CentralError, match=r"create refused: .*no suitable peers") as raised:
            await ensure(nc.jetstream(), StreamLimits(replicas=5))  # 3 nodes: never placeable
        assert time.monotonic() - began < 10.0
        assert "EDGE_EVENTS" in str(raised.value)
    finally:
        await nc.close()


async def test_a_create_refused_once_is_tried_again(cluster: NatsCluster) -> None:
    """The cluster's first answer a refusal (as while its peers join), the second a create: the stream is made
    and has a leader on return."""
    nc = await nats.connect(servers=cluster.urls)
    try:
        js: JetStreamContext = nc.jetstream()
        config: StreamConfig = events_config(StreamLimits(max_bytes=64 * 1024**2))
        config.name, config.subjects = "REFUSED_ONCE", ["refused.once.>"]
        tries: list[float] = []

        async def create() -> object:
            tries.append(time.monotonic())
            if len(tries) == 1:
                raise nats.js.errors.BadRequestError(description="no suitable peers for placement")
            return await js.add_stream(config)

        await stream._until_ready(js, "REFUSED_ONCE", create, time.monotonic() + 30.0)
        info = await js.stream_info("REFUSED_ONCE")
        assert info.cluster is not None
        assert info.cluster.leader
        assert len(tries) == 2
        assert tries[1] - tries[0] >= stream.CREATE_RETRY_S * 0.9  # not hammered
    finally:
        await nc.close()


async def test_the_downlink_makes_its_withdrawal_consumer_once_the_stream_is_there(
    cluster: NatsCluster, caplog: pytest.LogCaptureFixture
) -> None:
    """The durable consumer's create fails while the stream has no leader (here: no stream yet): the downlink
    tries again, logs it once, and has its consumer as soon as the stream is there (it used to end its
    withdrawal task on the first failure: no withdrawal forwarded until a restart)."""
    nc = await nats.connect(servers=cluster.urls)
    stop = asyncio.Event()
    js = nc.jetstream()
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await js.delete_stream(c.WITHDRAW_STREAM)
    service = Downlink("mqtt://127.0.0.1:1", cluster.urls, name="t")
    task = asyncio.create_task(service._withdrawals(js, stop))
    try:
        await asyncio.sleep(1.0)
        assert not task.done()
        await stream._ensure(js, stream.withdraw_config(StreamLimits(max_bytes=64 * 1024**2)))
        deadline = time.monotonic() + 10.0
        while True:
            try:
                info = await js.consumer_info(c.WITHDRAW_STREAM, "downlink")
                break
            except nats.js.errors.NotFoundError:
                assert time.monotonic() < deadline, "no consumer 10 s after the stream"
                await asyncio.sleep(0.1)
        assert info.name == "downlink"
        tried = [r.getMessage() for r in caplog.records if "no withdrawal consumer yet" in r.getMessage()]
        assert len(tried) == 1, tried
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
        await nc.close()
