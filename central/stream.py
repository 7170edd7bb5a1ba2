"""The JetStream layout, created idempotently by every service that starts (``ensure``):

- ``EDGE_EVENTS``: ``edge.v1.{store}.{gateway}.{type}``, R3, file storage, limits by age and size,
  de-duplication by ``Nats-Msg-Id`` (the CloudEvents id) over :data:`DUPLICATE_WINDOW_S`;
- ``cdp_downlink`` KV bucket (a last-per-subject stream, R3): the retained snapshots;
- ``CDP_WITHDRAW``: withdrawals, a work queue the downlink service acknowledges after the PUBACK.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import (
    DiscardPolicy,
    KeyValueConfig,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.kv import KeyValue

from central import constants as c
from central.errors import CentralError

ENSURE_TIMEOUT_S = 30.0
"""A service starting during a leader election waits for it (elections take seconds)."""


@dataclass(frozen=True, slots=True)
class StreamLimits:
    replicas: int = c.STREAM_REPLICAS
    max_age_s: float = c.STREAM_MAX_AGE_S
    max_bytes: int = c.STREAM_MAX_BYTES
    duplicate_window_s: float = c.DUPLICATE_WINDOW_S


def events_config(limits: StreamLimits) -> StreamConfig:
    return StreamConfig(
        name=c.EVENTS_STREAM,
        description="CloudEvents of every edge gateway; Nats-Msg-Id = CloudEvents id",
        subjects=[c.EVENTS_SUBJECTS],
        retention=RetentionPolicy.LIMITS,
        discard=DiscardPolicy.OLD,
        max_age=limits.max_age_s,
        max_bytes=limits.max_bytes,
        storage=StorageType.FILE,
        num_replicas=limits.replicas,
        duplicate_window=limits.duplicate_window_s,
        allow_direct=True,
    )


def withdraw_config(limits: StreamLimits) -> StreamConfig:
    return StreamConfig(
        name=c.WITHDRAW_STREAM,
        description="consent withdrawals to forward to the stores (not retained in MQTT)",
        subjects=[c.WITHDRAW_SUBJECTS],
        retention=RetentionPolicy.WORK_QUEUE,
        max_age=c.WITHDRAW_MAX_AGE_S,
        storage=StorageType.FILE,
        num_replicas=limits.replicas,
        duplicate_window=limits.duplicate_window_s,
    )


_ANSWER_ERRORS = (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError, nats.js.errors.ServerError)
"""What a cluster answers (or fails to) while it elects a leader: asked again until the deadline."""

DOWNLINK_BUCKET_DESCRIPTION = "retained downlink snapshots: {store}.roster|offers|rules, {store}.{gateway}.config"

LEADER_POLL_S = 0.1
"""How often a freshly created stream is asked whether it has a leader yet (elections take ~0.1-2 s)."""


CREATE_RETRY_S = 0.5
"""A refused or unanswered create is tried again this soon (an election, a cluster whose peers are not all
known to its meta leader yet), until ENSURE_TIMEOUT_S."""


async def _ensure(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream if it is missing; an existing one is left as its operator set it. Returns
    once the stream has a leader: before that nobody answers a publish to it ("no responders"),
    which a caller publishing at once (a fresh cluster, an election after a node loss) would hit.
    It narrows that window, not closes it: CI once saw the bucket's first put, just after this returned,
    answered "no responders" (the leader's interest not yet at the client's server), so writers retry.

    A stream still missing after a create is created again: a create can be refused while the cluster
    forms ("no suitable peers for placement", a 400 like the answer to a create that crossed another
    service's) or lost in a meta leader's election. Once a CI run waited the whole 30 s on "stream not
    found": the create, refused or lost, was never tried again. Bounded by ENSURE_TIMEOUT_S; the error
    names the last answer."""
    assert config.name is not None
    await _until_ready(js, config.name, lambda: js.add_stream(config), time.monotonic() + ENSURE_TIMEOUT_S)


async def _until_ready(
    js: JetStreamContext, name: str, create: Callable[[], Awaitable[object]], deadline: float
) -> None:
    """Until ``deadline``: the stream ``name`` found with a leader (a single server, without a cluster,
    always has one), ``create`` run while it is not found."""
    while True:
        why = "no leader yet"
        pause = LEADER_POLL_S
        try:
            info = await js.stream_info(name)
            if info.cluster is None or info.cluster.leader:
                return
        except nats.js.errors.NotFoundError as missing:
            why = str(missing) or "not found"
            pause = CREATE_RETRY_S
            try:
                await create()
                pause = LEADER_POLL_S
            except (*_ANSWER_ERRORS, nats.js.errors.BadRequestError) as err:
                why = f"create refused: {err or type(err).__name__}"
        except _ANSWER_ERRORS as err:
            why = str(err) or type(err).__name__
            pause = CREATE_RETRY_S
        if time.monotonic() > deadline:
            raise CentralError(f"stream {name} not ready after {ENSURE_TIMEOUT_S:.0f} s: {why}")
        await asyncio.sleep(pause)


async def ensure(js: JetStreamContext, limits: StreamLimits | None = None) -> KeyValue:
    """Create (if missing) the events and withdrawal streams and the downlink bucket, each with a
    leader on return; the bucket."""
    limits = limits or StreamLimits()
    await _ensure(js, events_config(limits))
    await _ensure(js, withdraw_config(limits))
    config = KeyValueConfig(
        bucket=c.DOWNLINK_BUCKET,
        description=DOWNLINK_BUCKET_DESCRIPTION,
        history=c.DOWNLINK_HISTORY,
        replicas=limits.replicas,
        storage=StorageType.FILE,
    )
    await _until_ready(
        js, f"KV_{c.DOWNLINK_BUCKET}", lambda: js.create_key_value(config), time.monotonic() + ENSURE_TIMEOUT_S
    )
    deadline = time.monotonic() + ENSURE_TIMEOUT_S
    while True:
        try:
            kv = await js.key_value(c.DOWNLINK_BUCKET)
            break
        except _ANSWER_ERRORS as err:
            if time.monotonic() > deadline:
                raise CentralError(f"JetStream did not answer about bucket {c.DOWNLINK_BUCKET}: {err}") from None
            await asyncio.sleep(CREATE_RETRY_S)
    return kv
