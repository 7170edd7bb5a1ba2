"""The one downlink router: every part that takes a downlink registers ``(topic, decode, apply)``.

MQTT and a trace's downlink lines go through the same :meth:`Router.dispatch`: the payload is
checked for size, decoded (the part's validation), applied (a state change, its events), and the
answer is a :class:`Decision` the pipeline acts on: events to commit, tokens whose rows to purge,
a payload to keep as the last good state, or the reason it was rejected (counted and logged, the
last good state stays in force). Pure: no I/O, no clock; the caller passes ``now``.

Routes that keep their last good payload (``retain``) are restored at start by the pipeline, in
one fixed order (``order``, then the topic) whatever order the parts registered in, and before
the first message is handled: the roster first, then what depends on it (offers, rules, config).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import msgspec

from edge.errors import DownlinkError, RosterError
from edge.events import Event
from edge.inputs import Downlink

log = logging.getLogger(__name__)

_any_object = msgspec.json.Decoder(dict[str, object])

T = TypeVar("T")

Unregister = Callable[[], None]

ORDER_ROSTER = 0
"""Restore order: the roster first, every personalised decision depends on it."""
ORDER_OFFERS = 10
ORDER_RULES = 20
ORDER_CONFIG = 30
ORDER_DEFAULT = 50
"""Restore order of a part that names none: after the store's own state."""


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a downlink decided, beyond its events."""

    events: list[Event] = field(default_factory=list)
    purge: tuple[str, ...] = ()
    """Tokens withdrawn by it: their unsent rows are purged and an acknowledgement follows."""


@dataclass(frozen=True, slots=True)
class Route(Generic[T]):
    """A part's downlink: ``decode`` validates the payload (raising DownlinkError or RosterError,
    or ValueError naming the problem), ``apply`` puts it in force at ``now``."""

    topic: str
    decode: Callable[[bytes], T]
    apply: Callable[[T, float], Applied | list[Event]]
    retain: bool = False
    """Keep the last good payload (SQLite) and restore it at start."""
    order: int = ORDER_DEFAULT
    prefix: bool = False
    """``topic`` is a prefix (the shelf controllers' ``edge/v1/{store}/shelf/``)."""
    owner: str = ""
    """Who registered it, for log lines."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The router's answer for one downlink."""

    topic: str
    events: list[Event] = field(default_factory=list)
    purge: tuple[str, ...] = ()
    keep: bytes | None = None
    """The payload to keep as the topic's last good state (a retained route's accepted payload)."""
    rejected: str | None = None
    """Why it was rejected; None: applied (or ignored: no route)."""
    routed: bool = True


class Router:
    """Routes by exact topic, then by prefix; see the module docstring."""

    def __init__(self, *, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._exact: dict[str, Route[Any]] = {}
        self._prefixes: list[Route[Any]] = []

    def register(self, route: Route[Any]) -> Unregister:
        """Add a part's route; the returned function removes it. One owner per topic."""
        if route.topic in self._exact or any(r.topic == route.topic for r in self._prefixes):
            raise ValueError(f"the downlink topic {route.topic} already has a route")
        if route.prefix:
            self._prefixes.append(route)
        else:
            self._exact[route.topic] = route

        def unregister() -> None:
            if route.prefix:
                if route in self._prefixes:
                    self._prefixes.remove(route)
            elif self._exact.get(route.topic) is route:
                del self._exact[route.topic]

        return unregister

    def route_for(self, topic: str) -> Route[Any] | None:
        route = self._exact.get(topic)
        if route is None:
            for candidate in self._prefixes:
                if topic.startswith(candidate.topic):
                    return candidate
        return route

    def retained(self) -> list[Route[Any]]:
        """The routes restored at start, in their fixed order (never registration order)."""
        routes = [r for r in self._exact.values() if r.retain]
        return sorted(routes, key=lambda r: (r.order, r.topic))

    def dispatch(self, downlink: Downlink, max_bytes: int | None = None) -> Decision:
        """Check, decode and apply one downlink; see :class:`Decision`. ``max_bytes``: the
        sender's limit when lower than the router's. Payloads are never logged."""
        topic = downlink.topic
        route = self.route_for(topic)
        if route is None:
            return Decision(topic, routed=False)
        size, limit = len(downlink.payload), min(self.max_bytes, max_bytes or self.max_bytes)
        if size > limit:
            return self._reject(topic, f"{size} bytes is over the {limit} byte limit")
        try:
            applied = route.apply(route.decode(downlink.payload), downlink.at)
        except (DownlinkError, RosterError) as err:
            return self._reject(topic, str(err))
        except ValueError as err:  # msgspec's DecodeError and ValidationError derive from it
            return self._reject(topic, f"rejected: {err}")
        if isinstance(applied, Applied):
            events, purge = applied.events, applied.purge
        else:
            events, purge = applied, ()
        return Decision(topic, events, purge, downlink.payload if route.retain else None)

    def keep_unowned(self, downlink: Downlink, max_bytes: int | None = None) -> Decision:
        """A retained topic no part has a route for: kept as its last good state if it is a JSON
        object (a later start with its part configured restores it), else rejected."""
        size, limit = len(downlink.payload), min(self.max_bytes, max_bytes or self.max_bytes)
        if size > limit:
            return self._reject(downlink.topic, f"{size} bytes is over the {limit} byte limit")
        try:
            _any_object.decode(downlink.payload)
        except msgspec.DecodeError as err:
            return self._reject(downlink.topic, f"not a JSON object: {err}")
        return Decision(downlink.topic, keep=downlink.payload)

    @staticmethod
    def _reject(topic: str, reason: str) -> Decision:
        log.error("%s: %s (the last good state stays in force)", topic, reason)
        return Decision(topic, rejected=reason)
