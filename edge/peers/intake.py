"""What the peers service takes in from the store broker: bounded, checked before it is decoded.

The store-local topics (:mod:`edge.peers.topics`) come in over the peers service's own MQTT link,
not through the downlink router, so the hostile-input rules of the router are applied here again:

- a size limit per kind (a summary :data:`~edge.peers.summary.SUMMARY_MAX_BYTES`; a state or a
  claim :data:`SMALL_MESSAGE_MAX_BYTES`) and the router's nesting limit
  (:func:`edge.limits.too_deep`, before msgspec sees the bytes: msgspec has no depth limit and
  raises ``RecursionError`` some thousands of levels down);
- a bounded inbox (:data:`INBOX_MAX_MESSAGES`): past it a message is dropped and counted, so a
  flood cannot grow memory (summaries are sent at QoS 0, where MQTT's Receive Maximum does not
  apply, so the bound has to be ours);
- whatever a handler raises (a bug, an input no check foresaw) is caught by the service and counted
  here: one bad message never ends the service (a retained one would end ``edge run`` at every
  start: a crash loop).

Every rejection is counted by reason (``peers_rejected_<reason>`` in health) and logged at most
once per kind and reason a minute (:class:`edge.router.Rejections`), naming the kind and the peer,
never a payload value or a topic's token hash.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Final

from edge.clock import Clock
from edge.limits import too_deep
from edge.peers.summary import SUMMARY_MAX_BYTES
from edge.peers.topics import PeerTopics
from edge.router import Rejections

SMALL_MESSAGE_MAX_BYTES: Final = 4 * 1024
"""A state (``{"gateway", "state"}``) or a claim (token, owner, epoch, zone, hand) is under 400
bytes; 4 KiB is ten times that and the size of a withdrawal's limit on the CDP's topics."""

INBOX_MAX_MESSAGES: Final = 1024
"""Messages waiting for the service. A store's traffic is each peer's summary (1 Hz, an early part
besides) and a claim per hand-off: at 8 gateways and 100 shoppers a few dozen a second, and at
start the retained claims and states (one per owned shopper, one per gateway). 1,024 holds several
seconds of that even when the loop is slow; at most 1,024 × 256 KiB is never reached in practice
(a summary of 100 shoppers is ~10 KiB), and a flood past it is dropped, not queued."""

TOO_LARGE: Final = "too_large"
TOO_DEEP: Final = "too_deep"
INBOX_FULL: Final = "inbox_full"
HANDLER_ERROR: Final = "handler_error"
INVALID: Final = "invalid"
"""Decoded, but refused by its type (a field out of range, a wrong type): the service counts it here."""


@dataclass(frozen=True, slots=True)
class PeerMessage:
    """A store-local message that passed the checks, for the service to handle."""

    gateway: str
    kind: str
    """``sightings``, ``state`` or ``owner``."""
    topic: str
    payload: bytes
    received: float
    """When it was taken from the broker (the gateway's clock), not when the service got to it."""
    retained: bool = False
    """Sent by the broker from its retained store on a (re)subscription, not as it was published."""


class Intake:
    """The peers service's inbox; see the module docstring. :meth:`take` runs in paho's callback
    (on the loop's thread), :meth:`get` in the service's task."""

    def __init__(self, topics: PeerTopics, peers: frozenset[str], clock: Clock) -> None:
        self.topics = topics
        self.peers = peers
        self.clock = clock
        self.rejections = Rejections()
        self._queue: asyncio.Queue[PeerMessage] = asyncio.Queue(maxsize=INBOX_MAX_MESSAGES)

    def take(self, topic: str, payload: bytes, retained: bool = False) -> None:
        """Queue a message from the broker (``retained``: from its retained store), or count why not.
        Never raises."""
        parsed = self.topics.parse(topic)
        if parsed is None:
            return  # not a store-local topic of this store: nothing to handle
        gateway, kind = parsed
        limit = SUMMARY_MAX_BYTES if kind == "sightings" else SMALL_MESSAGE_MAX_BYTES
        if len(payload) > limit:
            self.reject(gateway, kind, TOO_LARGE, f"{len(payload)} bytes is over {limit}")
        elif too_deep(payload):
            self.reject(gateway, kind, TOO_DEEP, "nests too deep or does not balance")
        else:
            try:
                self._queue.put_nowait(PeerMessage(gateway, kind, topic, payload, self.clock.now(), retained))
            except asyncio.QueueFull:
                self.reject(gateway, kind, INBOX_FULL, f"over {INBOX_MAX_MESSAGES} messages wait: dropped")

    async def get(self) -> PeerMessage:
        return await self._queue.get()

    def reject(self, gateway: str, kind: str, reason: str, detail: str) -> None:
        """Count a rejected message and log it (rate-limited). ``detail`` must hold no payload value."""
        who = gateway if gateway in self.peers else "a gateway not listed in [store] peers"
        self.rejections.note(f"peers: {kind} from {who}", reason, detail, self.clock.now())

    def health(self) -> dict[str, int]:
        """``peers_rejected_<reason>`` counters."""
        return {f"peers_{key}": count for key, count in self.rejections.health().items()}

    @property
    def waiting(self) -> int:
        return self._queue.qsize()
