"""The one downlink router: every part that takes a downlink registers ``(topic, decode, apply)``.

MQTT and a trace's downlink lines go through the same :meth:`Router.dispatch`: the payload is
checked for size (the route's own limit) and nesting depth (:mod:`edge.limits`), decoded (the
part's validation), applied (a state change, its events), and the answer is a :class:`Decision`
the pipeline acts on: events to commit, tokens whose rows to purge, a payload to keep as the last
good state, or why it was rejected. Whatever a part's ``decode`` or ``apply`` raises (a schema
error, ``RecursionError``, a bug) is caught here, counted by reason (:class:`Rejections`) and
answered as rejected, so the broker's message is acknowledged and the last good state stays in
force. Rejections are logged once per topic and reason per minute with a count, never with a
payload value. Pure: no I/O, no clock; the caller passes ``now``.

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
from edge.limits import JSON_DEPTH_MAX, scrub, too_deep

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

REJECTION_LOG_WINDOW_S = 60.0
"""One log line per topic and reason in this window (the first at once, then the count): a flood
of bad downlinks costs a line a minute, not one per message."""

TOO_LARGE = "too_large"
TOO_DEEP = "too_deep"
MALFORMED = "malformed"
INVALID = "invalid"
FAILED = "failed"
"""Rejection reasons (health counters ``rejected_<reason>``); a part's error may name its own with
a ``reason`` attribute (a roster older than the one in force: ``stale``, already expired: ``expired``)."""


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a downlink decided, beyond its events."""

    events: list[Event] = field(default_factory=list)
    purge: tuple[str, ...] = ()
    """Tokens withdrawn by it: their unsent rows are purged and an acknowledgement follows."""
    keep: bool = True
    """Keep the payload as the last good state (False: nothing changed, e.g. the same roster again)."""


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
    max_bytes: int | None = None
    """This topic's size limit (None: the router's); the lower of it and the sender's applies."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The router's answer for one downlink."""

    topic: str
    events: list[Event] = field(default_factory=list)
    purge: tuple[str, ...] = ()
    keep: bytes | None = None
    """The payload to keep as the topic's last good state (a retained route's accepted payload)."""
    rejected: str | None = None
    """Why it was rejected, without payload values; None: applied (or ignored: no route)."""
    routed: bool = True
    reason: str | None = None
    """The rejection's reason code (``too_large``, ``too_deep``, ``malformed``, ``invalid``, ...)."""


class Rejections:
    """Rejected downlinks counted by reason and logged at most once per topic and reason per
    :data:`REJECTION_LOG_WINDOW_S` (the first at once; later ones with the count since)."""

    def __init__(self, window_s: float = REJECTION_LOG_WINDOW_S) -> None:
        self.window_s = window_s
        self.counts: dict[str, int] = {}
        self.total = 0
        self._logged: dict[tuple[str, str], tuple[float, int]] = {}
        """(topic, reason) → (when last logged, rejections since, not logged)."""

    def note(self, topic: str, reason: str, detail: str, now: float) -> None:
        self.total += 1
        self.counts[reason] = self.counts.get(reason, 0) + 1
        key = (topic, reason)
        last = self._logged.get(key)
        if last is not None and now - last[0] < self.window_s and now >= last[0]:
            self._logged[key] = (last[0], last[1] + 1)
            return
        self._logged[key] = (now, 0)
        more = f"; {last[1]} more since the last line" if last is not None and last[1] else ""
        log.error("%s: %s (the last good state stays in force)%s", topic, detail, more)

    def health(self) -> dict[str, int]:
        """``rejected_<reason>`` counters for ``edge.gateway.health``."""
        return {f"rejected_{reason}": count for reason, count in sorted(self.counts.items())}


def where(err: BaseException) -> str:
    """``KeyError at edge/x.py:12``: the exception's type and innermost frame, never its message
    (it may quote a payload value)."""
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return type(err).__name__
    return f"{type(err).__name__} at {tb.tb_frame.f_code.co_filename.rsplit('/', 2)[-1]}:{tb.tb_lineno}"


class Router:
    """Routes by exact topic, then by prefix; see the module docstring."""

    def __init__(self, *, max_bytes: int, max_depth: int = JSON_DEPTH_MAX) -> None:
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.rejections = Rejections()
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

    def dispatch(self, downlink: Downlink, max_bytes: int | None = None, *, checked: bool = False) -> Decision:
        """Check, decode and apply one downlink; see :class:`Decision`. ``max_bytes``: the
        sender's limit when lower than the route's; ``checked``: :meth:`check` passed it already.
        Never raises for any payload."""
        topic = downlink.topic
        route = self.route_for(topic)
        if route is None:
            return Decision(topic, routed=False)
        if not checked:
            refused = self._check(downlink, route.max_bytes, max_bytes)
            if refused is not None:
                return refused
        try:
            applied = route.apply(route.decode(downlink.payload), downlink.at)
        except (DownlinkError, RosterError) as err:
            return self._reject(downlink, getattr(err, "reason", INVALID), scrub(str(err)))
        except msgspec.ValidationError as err:
            return self._reject(downlink, INVALID, f"rejected: {scrub(str(err))}")
        except msgspec.DecodeError as err:
            return self._reject(downlink, MALFORMED, f"rejected: {scrub(str(err))}")
        except RecursionError:
            return self._reject(downlink, TOO_DEEP, "rejected: nests too deep")
        except ValueError as err:
            return self._reject(downlink, INVALID, f"rejected: {scrub(str(err))}")
        except Exception as err:  # noqa: BLE001 - a part's bug must not end the link: counted, acknowledged
            return self._reject(downlink, FAILED, f"rejected: the {route.owner or 'part'} raised {where(err)}")
        if isinstance(applied, Applied):
            events, purge, keep = applied.events, applied.purge, applied.keep
        else:
            events, purge, keep = applied, (), True
        return Decision(topic, events, purge, downlink.payload if route.retain and keep else None)

    def keep_unowned(self, downlink: Downlink, max_bytes: int | None = None) -> Decision:
        """A retained topic no part has a route for: kept as its last good state if it is a JSON
        object (a later start with its part configured restores it), else rejected."""
        refused = self._check(downlink, None, max_bytes)
        if refused is not None:
            return refused
        try:
            _any_object.decode(downlink.payload)
        except (msgspec.DecodeError, RecursionError) as err:
            return self._reject(downlink, MALFORMED, f"not a JSON object: {scrub(str(err))}")
        return Decision(downlink.topic, keep=downlink.payload)

    def check(self, downlink: Downlink, max_bytes: int | None = None) -> Decision | None:
        """The size (the topic's route's limit, the sender's) and depth limits for any downlink,
        routed or not (a shelf reading, a check-in read before its route): a rejection, or None."""
        route = self.route_for(downlink.topic)
        return self._check(downlink, route.max_bytes if route is not None else None, max_bytes)

    def _check(self, downlink: Downlink, route_max: int | None, sender_max: int | None) -> Decision | None:
        """The size and depth limits: a rejection, or None."""
        limit = min(route_max or self.max_bytes, sender_max or self.max_bytes, self.max_bytes)
        size = len(downlink.payload)
        if size > limit:
            return self._reject(downlink, TOO_LARGE, f"{size} bytes is over the {limit} byte limit")
        if too_deep(downlink.payload, self.max_depth):
            return self._reject(
                downlink, TOO_DEEP, f"nests deeper than {self.max_depth} levels (or its brackets do not balance)"
            )
        return None

    def _reject(self, downlink: Downlink, reason: str, detail: str) -> Decision:
        self.rejections.note(downlink.topic, reason, detail, downlink.at)
        return Decision(downlink.topic, rejected=detail, reason=reason)
