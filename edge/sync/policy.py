"""Pure policy of the MQTT sync: reconnect back-off, the outbox drop policy, the CloudEvents
``sequence`` extension. No I/O, no clock, no loop: the random source and the numbers are injected.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field

from edge import events as ev

DROP_RANK: dict[str, int] = {
    ev.GATEWAY_HEALTH: 0,
    ev.PRESENCE_DWELL: 1,
    ev.SHELF_INTERACTION: 2,
    ev.IDENTITY_VERIFIED: 3,
    ev.OFFER_IMPRESSION: 3,
    ev.PRESENCE_ENTERED: 4,
    ev.PRESENCE_EXITED: 4,
    ev.CONSENT_WITHDRAWN: 9,
}
"""The outbox drop policy, least valuable first. When the outbox is full, unsent events are
dropped by rank, oldest first within a rank:

0. ``edge.gateway.health``: the next one repeats its counters (and counts the drops);
1. ``edge.presence.dwell``: the exit that follows carries the whole dwell time;
2. ``edge.shelf.interaction``: anonymous or attributed footfall, useful in aggregate;
3. ``edge.offer.impression``, ``edge.identity.verified``;
4. ``edge.presence.entered`` / ``exited``: the visit itself;
9. ``edge.consent.withdrawn``: the acknowledgement the CDP's consent records need; dropped last.

Unknown types (a newer part of the gateway) rank with impressions. Already-sent rows (kept for
a replay) go before any of these and are not counted as drops. A row that already carries a
``sequence`` (it was published at least once) is never dropped, so drops make no sequence gap."""

DEFAULT_DROP_RANK = 3


def drop_rank(type_: str) -> int:
    return DROP_RANK.get(type_, DEFAULT_DROP_RANK)


def pick_victims(candidates: Iterable[tuple[int, int]], excess_rows: int, excess_bytes: int) -> list[int]:
    """From ``(row id, size in bytes)`` candidates already in drop order, the fewest that remove at
    least ``excess_rows`` rows and ``excess_bytes`` bytes (fewer if the candidates run out)."""
    victims: list[int] = []
    size = 0
    for row, length in candidates:
        if len(victims) >= excess_rows and size >= excess_bytes:
            break
        victims.append(row)
        size += length
    return victims


def with_sequence(body: bytes, sequence: int) -> bytes:
    """A structured-mode CloudEvent (a JSON object) with the ``sequence`` extension added.

    The extension is a string (CloudEvents extension attributes are strings) holding a decimal
    integer: per gateway, starting at 1, without gaps, assigned when the event is first published
    and unchanged on every retry."""
    if not body.endswith(b"}"):
        raise ValueError("not a JSON object")
    return b'%s,"sequence":"%d"}' % (body[:-1], sequence)


@dataclass(slots=True)
class Backoff:
    """Jittered, capped exponential back-off ("full jitter" on the upper half: every delay is
    uniform in [d·(1 − jitter), d] with d = min(cap, initial·2^attempt)), so gateways that lost the
    broker together do not reconnect in step. ``reset()`` after a connection that held."""

    initial_s: float
    max_s: float
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s:
            raise ValueError("need 0 < initial_s <= max_s")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be in [0, 1]")

    def next_delay(self) -> float:
        ceiling = min(self.max_s, self.initial_s * 2.0 ** min(self.attempt, 62))
        self.attempt += 1
        return ceiling * (1 - self.jitter * self.rng.random())

    def reset(self) -> None:
        self.attempt = 0
