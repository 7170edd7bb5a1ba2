"""The JetStream layout, created idempotently by every service that starts (``ensure``):

- ``EDGE_EVENTS``: ``edge.v1.{store}.{gateway}.{type}``, R3, file storage, limits by age and size,
  de-duplication by ``Nats-Msg-Id`` (the CloudEvents id) over :data:`DUPLICATE_WINDOW_S`;
- ``cdp_downlink`` KV bucket (a last-per-subject stream, R3): the retained snapshots;
- ``CDP_WITHDRAW``: withdrawals, a work queue the downlink service acknowledges after the PUBACK.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
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


async def _ensure(js: JetStreamContext, config: StreamConfig) -> None:
    """Create the stream if it is missing; an existing one is left as its operator set it. A stream
    without a leader (an election after a node loss) is asked again until ENSURE_TIMEOUT_S."""
    assert config.name is not None
    deadline = time.monotonic() + ENSURE_TIMEOUT_S
    while True:
        try:
            await js.stream_info(config.name)
        except nats.js.errors.NotFoundError:
            with contextlib.suppress(nats.js.errors.BadRequestError):  # another service created it in between
                await js.add_stream(config)
            return
        except (nats.errors.TimeoutError, nats.js.errors.ServiceUnavailableError, nats.js.errors.ServerError) as err:
            if time.monotonic() > deadline:
                raise CentralError(f"JetStream did not answer about stream {config.name}: {err}") from None
            await asyncio.sleep(0.5)
        else:
            return


async def ensure(js: JetStreamContext, limits: StreamLimits | None = None) -> KeyValue:
    """Create (if missing) the events and withdrawal streams and the downlink bucket; the bucket."""
    limits = limits or StreamLimits()
    await _ensure(js, events_config(limits))
    await _ensure(js, withdraw_config(limits))
    try:
        return await js.key_value(c.DOWNLINK_BUCKET)
    except nats.js.errors.BucketNotFoundError:
        return await js.create_key_value(
            KeyValueConfig(
                bucket=c.DOWNLINK_BUCKET,
                description="retained downlink snapshots: {store}.roster|offers|rules, {store}.{gateway}.config",
                history=c.DOWNLINK_HISTORY,
                replicas=limits.replicas,
                storage=StorageType.FILE,
            )
        )
