"""What a gateway says to the CDP when it starts or stops speaking for a shopper another gateway spoke
for (pure: built from the core's read-only view, the latest claim and this gateway's own last slot).

:class:`edge.peers.service.Peers` calls these when the arbitration hands it a shopper
(:func:`gained`) and when it said a zone ahead of its engine that never got there (:func:`caught_up`).
"""

from __future__ import annotations

from edge import events as ev
from edge.config import PresenceConfig
from edge.events import Event
from edge.peers.messages import Claim
from edge.peers.summary import TokenHeard, loudest
from edge.ports import CoreView
from edge.rssi import distance_m


def _exited(view: CoreView, token: str, zone: str, now: float, **extra: object) -> Event:
    data: dict[str, object] = {"token": token, "zone": zone, "dwell_s": 0.0, **extra}
    return view.factory.make(ev.PRESENCE_EXITED, now, zone, data, token=token)


def gained(
    view: CoreView, presence: PresenceConfig, me: str, token: str, old: str | None, now: float, *,
    previous: Claim | None, heard: TokenHeard | None, say: str | None = None,
) -> list[Event]:  # fmt: skip
    """The events that make gateway ``me``'s stream the shopper's one: entered (``from_gateway``:
    ``old``) for ``say`` (default: its engine's zone). ``previous``: the latest claim seen for the
    token; ``heard``: what ``me``'s own scanners heard of it in the last slot."""
    first: list[Event] = []
    if old == me:
        # Given back before anyone else spoke: this gateway's last word stands; only what its
        # engine did while it was silent is said (plainly: the stream never left this gateway), and
        # as its engine would have said it: the exit of the zone it last said before the entry of
        # another (an entry alone was a second ``entered`` in one visit: tests/test_peers_duplicate_entered.py).
        said = previous.zone if previous is not None else None
        zone = view.zone_of(token)
        if zone == said:
            return []
        if said is not None:
            first = [_exited(view, token, said, now)]
        if zone is None:
            return first
        old = None
    return first + _entered(view, presence, token, old, now, previous=previous, heard=heard, say=say)


def _entered(
    view: CoreView, presence: PresenceConfig, token: str, old: str | None, now: float, *,
    previous: Claim | None, heard: TokenHeard | None, say: str | None,
) -> list[Event]:  # fmt: skip
    """:func:`gained`'s words once its stream is this gateway's: see there."""
    for occupant in view.occupants():
        if occupant.token == token:
            where = say or occupant.zone
            data: dict[str, object] = {
                "token": token,
                "zone": where,
                "via": occupant.via,
                "rssi": round(occupant.rssi, 1),
                "distance_m": round(occupant.distance_m, 2),
            }
            if old is not None:
                data["from_gateway"] = old
            return [view.factory.make(ev.PRESENCE_ENTERED, now, where, data, token=token)]
    if say is not None and heard is not None:
        # Said ahead of an engine that has the shopper in no zone yet: the level this gateway's
        # own scanners heard in the last slot (its loudest scanner's median).
        rssi = loudest(heard)
        power = presence.measured_power_1m_dbm if heard.power is None else heard.power
        data = {
            "token": token,
            "zone": say,
            "via": heard.via,
            "rssi": round(rssi, 1),
            "distance_m": round(distance_m(rssi, power, presence.path_loss_exponent), 2),
        }
        if old is not None:
            data["from_gateway"] = old
        return [view.factory.make(ev.PRESENCE_ENTERED, now, say, data, token=token)]
    if old is not None and previous is not None and previous.voice == old and previous.zone is not None:
        return [_exited(view, token, previous.zone, now, from_gateway=old)]
    return []


def caught_up(view: CoreView, token: str, said: str, now: float) -> list[Event]:
    """A gateway said ``said`` ahead of its engine, which never got there: the exit of ``said``
    (nothing if its engine is there after all). If its engine has the shopper in another zone, the
    caller then says that zone (:func:`gained`): after the exit, as the engine itself would, never a
    second ``entered`` while the CDP has the shopper in ``said`` (tests/test_peers_duplicate_entered.py)."""
    if view.zone_of(token) == said:
        return []
    return [_exited(view, token, said, now)]
