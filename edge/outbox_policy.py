"""Pure policy of the outbox: which unsent events go first when it is full, and the CloudEvents
``sequence`` extension stamped on a row when it is first published. No I/O, no clock."""

from __future__ import annotations

from collections.abc import Iterable

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
