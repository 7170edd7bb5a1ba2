"""The CDP consumer's per-gateway order state, persisted in a JetStream KV bucket, so a restarted
consumer resumes each gateway's ``sequence`` watermark instead of starting again at 1 (which would
hold every later event waiting for numbers it had already handed on, then call them a gap).

Why JetStream KV and not a local SQLite file: the durable consumer's own position (its ack floor)
already lives in the cluster, R3; the watermark must live beside it with the same durability, so a
consumer can be restarted on another host, or its disk lost, without false gaps, and nothing on the
consumer's host needs a backup. The cost is one replicated write per save, so the state is one
document per durable (``{store: {gateway: [next, [skipped…]]}}``) written at most every
:data:`WATERMARK_SAVE_S`, and the consumer acknowledges a message only after the watermark that
covers it was saved: a crash can then make the CDP see an event again (at least once; it has the
CloudEvents ``id``), never skip one. A CDP writing into its own database would instead keep the
watermark in that database, in the transaction of its write (exactly once); :class:`Watermarks` is
the one class to replace for that.
"""

from __future__ import annotations

import asyncio
import logging
import re

import msgspec
import nats.errors
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KeyValue

from central import constants as c
from central.errors import CentralError

log = logging.getLogger(__name__)

Mark = tuple[int, list[int]]
"""(next sequence expected, sequence numbers given up on that may still arrive late)."""

Marks = dict[str, dict[str, Mark]]
"""store → gateway → :data:`Mark`."""

_encode = msgspec.json.Encoder()
_decode = msgspec.json.Decoder(Marks)

KEY = "marks"
"""The one key of a consumer's bucket."""


def raise_if_cancelled() -> None:
    """Raise a cancellation of the current task that a wait swallowed: nats-py waits with 3.11's
    ``asyncio.wait_for``, which can lose one (gh-86296), and a retry loop would then run forever."""
    me = asyncio.current_task()
    if me is not None and me.cancelling():
        raise asyncio.CancelledError


def bucket_name(durable: str) -> str:
    """``cdp_order_{durable}`` with anything a bucket name cannot hold replaced by ``_``."""
    return "cdp_order_" + re.sub(r"[^A-Za-z0-9_-]", "_", durable)


class Watermarks:
    """Load once at start, save the whole state (bounded by the fleet's size) when asked."""

    def __init__(self, js: JetStreamContext, durable: str, *, replicas: int = c.STREAM_REPLICAS) -> None:
        self.js = js
        self.bucket = bucket_name(durable)
        self.replicas = replicas
        self.saves = 0
        self._kv: KeyValue | None = None

    async def _open(self) -> KeyValue:
        if self._kv is None:
            try:
                self._kv = await self.js.key_value(self.bucket)
            except nats.js.errors.BucketNotFoundError:
                self._kv = await self.js.create_key_value(
                    KeyValueConfig(
                        bucket=self.bucket,
                        description="the CDP consumer's per-gateway sequence watermarks",
                        history=1,
                        replicas=self.replicas,
                        storage=StorageType.FILE,
                    )
                )
        return self._kv

    async def load(self) -> Marks:
        """The saved state ({} for a new consumer); waits out a leader election (bounded)."""
        deadline = asyncio.get_running_loop().time() + c.WATERMARK_LOAD_TIMEOUT_S
        while True:
            try:
                kv = await self._open()
                entry = await kv.get(KEY)
            except nats.js.errors.KeyNotFoundError:
                return {}
            except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as err:
                if asyncio.get_running_loop().time() > deadline:
                    raise CentralError(f"cannot read the watermarks in KV bucket {self.bucket}: {err}") from None
                await asyncio.sleep(0.5)
                continue
            try:
                return _decode.decode(entry.value or b"{}")
            except msgspec.DecodeError as err:
                raise CentralError(f"KV bucket {self.bucket}, key {KEY}: not a watermark document: {err}") from None

    async def save(self, marks: Marks) -> None:
        """Write ``marks`` (the whole state); retried with a capped back-off until it is stored:
        the consumer's acknowledgements wait for it."""
        body = _encode.encode(marks)
        delay = c.JS_RETRY_INITIAL_S
        while True:
            raise_if_cancelled()
            try:
                kv = await self._open()
                await kv.put(KEY, body)
            except (nats.errors.Error, nats.js.errors.Error, TimeoutError) as err:
                log.warning("cdp consumer: saving the watermarks failed (%s); retrying", err or type(err).__name__)
                await asyncio.sleep(delay)
                delay = min(c.JS_RETRY_MAX_S, delay * 2)
                continue
            self.saves += 1
            return
