"""The ports: the one way in and out of the gateway for every service.

A service (the MQTT sync, signage, vision, operations, a store beacon advertiser...) is built as
``Service(ports, its config section)`` and run with ``await service.run(ready)``; it never sees
the :class:`~edge.app.Gateway`, the core or the pipeline. Through its :class:`Ports` it can:

- ``publish`` events (committed to the outbox before anyone else sees them);
- ``deliver`` a message for the core (a downlink from the broker under a size limit, a shelf
  reading) and await its commit;
- ``route`` a downlink topic to its own ``(decode, apply)`` (:class:`~edge.router.Route`);
- ``subscribe`` to committed events (presence, shelf, withdrawals), ``checkin_codes`` to the
  redemption codes app check-ins carry, and ``report`` counters for ``edge.gateway.health``; each
  returns its unsubscribe;
- read the ``clock``, a read-only ``view`` of the roster and the zones' occupants, the
  ``state_dir``, the ``topics`` and the ``config``;
- ``outbox``: the durable uplink queue, for the one service that drains it (the sync);
- ``uplink``: a payload that is not an event (a screenshot's JPEG) straight to the broker, not
  through the outbox; the sync attaches itself while connected, otherwise it is refused;
- ``readings``: what the operations services (the Prometheus endpoint, the systemd watchdog) read
  of the running gateway beyond the core's view (:class:`Readings`), answered by the gateway.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from edge.clock import Clock
from edge.config import Config
from edge.core import Counters
from edge.events import Event, EventFactory
from edge.inputs import Downlink, ShelfReading
from edge.presence import Occupant, Sightings
from edge.roster import Roster
from edge.router import Decision, Route
from edge.topics import Topics

if TYPE_CHECKING:
    from edge.outbox import Outbox

Sink = Callable[[Event], None]
"""Called with every committed event, in commit order (must not block)."""
Unsubscribe = Callable[[], None]
HealthReport = Callable[[], dict[str, int]]
"""Counters added to each ``edge.gateway.health`` event (and the MQTT status)."""
CodeSink = Callable[[str, str, float], None]
"""Called with ``(token, code, at)`` for each counted app check-in carrying a redemption code."""
Ready = Callable[[], None]
"""A service calls it once it is up (the gateway starts the next service only then)."""


class CoreView(Protocol):
    """What a service may read of the core's state (never write)."""

    @property
    def roster(self) -> Roster | None: ...

    @property
    def counters(self) -> Counters: ...

    @property
    def factory(self) -> EventFactory: ...

    def occupants(self, zone: str | None = None) -> list[Occupant]: ...

    def zone_of(self, token: str) -> str | None: ...

    def radio(self) -> dict[str, float | None]:
        """What the presence engine has learned of the store's radio (the ``model`` and ``grid`` engines:
        exponent, sigma, per-scanner offsets as ``offset_db:<scanner>``; ``threshold``: the offsets only)."""
        ...


class Service(Protocol):
    """One part of the gateway run by its task group; see the module docstring."""

    name: str

    async def run(self, ready: Ready) -> None:
        """Run until cancelled; call ``ready()`` once up. An exception ends the gateway."""
        ...


class Readings(Protocol):
    """What the operations services read of the running gateway beyond :class:`CoreView`, read-only.

    The gateway (:mod:`edge.app`) answers from its source, pipeline and services at call time, so
    the Prometheus endpoint and the systemd watchdog are handed ports, never the gateway."""

    @property
    def turning(self) -> asyncio.Event:
        """Set at the pipeline's first real-time turn (readiness waits on it)."""
        ...

    def beats(self) -> int:
        """Turns of the pipeline's real-time loop so far (the watchdog pings while it moves)."""
        ...

    @property
    def connected(self) -> asyncio.Event | None:
        """Set while the MQTT sync is connected; None without a broker configured."""
        ...

    def source_counters(self) -> dict[str, int]:
        """The advert source's counters."""
        ...

    def mqtt(self) -> dict[str, int]:
        """The MQTT sync's counters (empty without a broker configured)."""
        ...

    def publish_latency(self) -> tuple[list[tuple[str, float]], float] | None:
        """The drain's publish → PUBACK histogram: cumulative buckets and the sum in seconds (None
        without a broker configured)."""
        ...

    def decisions(self) -> dict[tuple[str, str], int]:
        """(screen, kind) → plays decided by the screen (empty without one)."""
        ...


RawSender = Callable[[str, bytes, str], bool]
"""``send(topic, payload, content_type)``: True when handed to the broker's connection."""


class Uplink:
    """Non-event payloads to the broker (QoS 0, not kept: a reply the asker can ask again for).

    The MQTT sync attaches its sender while it runs; without one (no broker configured, or not
    connected) :meth:`send` returns False and the caller counts it."""

    def __init__(self) -> None:
        self._sender: RawSender | None = None

    def attach(self, sender: RawSender) -> Unsubscribe:
        self._sender = sender

        def detach() -> None:
            if self._sender is sender:
                self._sender = None

        return detach

    def send(self, topic: str, payload: bytes, *, content_type: str) -> bool:
        sender = self._sender
        return sender is not None and sender(topic, payload, content_type)


def _nothing() -> None:
    """The unsubscribe of a port with nothing behind it."""


@dataclass(frozen=True, slots=True)
class Ports:
    """See the module docstring."""

    config: Config
    topics: Topics
    clock: Clock
    state_dir: Path
    view: CoreView
    publish: Callable[[list[Event]], Awaitable[None]]
    deliver: Callable[[Downlink | ShelfReading | Sightings, int | None], Awaitable[Decision]]
    """``deliver(message, max_bytes)``: applied by the core's writer; returns once committed."""
    route: Callable[[Route[Any]], Unsubscribe]
    subscribe: Callable[[Sink], Unsubscribe]
    report: Callable[[HealthReport], Unsubscribe]
    outbox: Outbox
    uplink: Uplink = field(default_factory=Uplink)
    checkin_codes: Callable[[CodeSink], Unsubscribe] = field(default=lambda _sink: _nothing)
    """Listen to the redemption codes app check-ins carry (edge.checkin.intake; signage redeems them)."""
    readings: Readings | None = None
    """None: ports built without a gateway (a test's); the operations services need a gateway's."""
