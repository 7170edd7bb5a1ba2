"""The shelf part of the core: readings in, validated, attributed, ``edge.shelf.interaction`` out.

The core holds one :class:`ShelfTracker`. Readings come from three places and take one path:
trace ``shelf`` lines, shelf-controller messages on ``edge/v1/{store}/shelf/{shelf}`` (through
:func:`~edge.shelf.messages.parse_shelf_message`), and motion tags (:mod:`edge.shelf.motion`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from edge import constants as c
from edge import events as ev
from edge.config import Config
from edge.events import Event, EventFactory
from edge.inputs import ShelfReading
from edge.presence import Occupant
from edge.roster import Roster
from edge.shelf.attribution import Attribution, attribute
from edge.shelf.messages import ShelfReadingError, check_fields, shelf_topic
from edge.shelf.motion import MotionTags
from edge.shelf.recent import Interaction, RecentInteractions

__all__ = ["SHELF_SCOPE", "Consent", "ShelfTracker"]

log = logging.getLogger(__name__)

SHELF_SCOPE = "shelf"
"""The roster scope without which no interaction is ever attributed to a shopper."""


class Consent:
    """``consent(token, at)``: the token is in ``roster``, which is in force at ``at``, with the scope."""

    __slots__ = ("_roster",)

    def __init__(self, roster: Roster | None) -> None:
        self._roster = roster

    def __call__(self, token: str, at: float) -> bool:
        roster = self._roster
        if roster is None or roster.expired(at):
            return False
        shopper = roster.get(token)
        return shopper is not None and shopper.has(SHELF_SCOPE)


class ShelfTracker:
    """See the module docstring."""

    def __init__(self, config: Config, factory: EventFactory) -> None:
        self._store = config.gateway.store
        self._factory = factory
        self._zones = {shelf.id: shelf.zone for shelf in config.shelves}
        self._skus = {shelf.id: frozenset(shelf.skus) for shelf in config.shelves}
        self._margin_db = config.attribution.margin_db
        self._exponent = config.presence.path_loss_exponent
        self.motion: MotionTags | None = MotionTags(config.motion_tags) if config.motion_tags else None
        """None when no motion tags are configured: the core then never looks at Ruuvi adverts."""
        self.recent = RecentInteractions(config.attribution.recent_max, config.attribution.recent_max_age_s)
        self._next_log: dict[str, float] = {}

    def check(self, reading: ShelfReading) -> str:
        """The zone of a valid reading; raises :class:`ShelfReadingError` for a bad one. The error
        names the topic and the field, never the reading's values (they reach the log)."""
        topic = shelf_topic(self._store, reading.shelf)
        check_fields(topic, reading.action, reading.sku)
        zone = self._zones.get(reading.shelf)
        if zone is None:
            raise ShelfReadingError("the topic's shelf is not configured: add it to [[shelves]]", topic=topic)
        skus = self._skus[reading.shelf]
        if skus and reading.sku not in skus:
            raise ShelfReadingError("sku is not one of this shelf's skus: add it to the shelf's skus", topic=topic)
        return zone

    def attribute(
        self, reading: ShelfReading, zone: str, occupants: Iterable[Occupant], roster: Roster | None
    ) -> Attribution:
        return attribute(
            reading.at,
            zone,
            occupants,
            Consent(roster),
            margin_db=self._margin_db,
            path_loss_exponent=self._exponent,
        )

    def interaction(
        self, reading: ShelfReading, zone: str, occupants: Iterable[Occupant], roster: Roster | None
    ) -> Event:
        """The ``edge.shelf.interaction`` event of a checked reading (recorded for the shopper, if any)."""
        found = self.attribute(reading, zone, occupants, roster)
        token = found.token
        if token is not None:
            self.recent.add(token, Interaction(reading.at, reading.shelf, zone, reading.action, reading.sku))
        data = {
            "shelf": reading.shelf,
            "zone": zone,
            "action": reading.action,
            "sku": reading.sku,
            "token": token,
            "reason": found.reason,
        }
        return self._factory.make(ev.SHELF_INTERACTION, reading.at, reading.shelf, data, token=token)

    def forget(self, token: str) -> None:
        """Consent withdrawn: drop the shopper's recent interactions."""
        self.recent.forget(token)

    def log_rejected(self, err: ShelfReadingError, at: float) -> None:
        """Log a rejected reading, at most once per topic per SHELF_REJECT_LOG_INTERVAL_S."""
        due = self._next_log.get(err.topic, -float("inf"))
        if at < due:
            log.debug("%s", err)
            return
        if len(self._next_log) > c.SHELF_REJECT_LOG_TOPICS_MAX:
            self._next_log.clear()
        self._next_log[err.topic] = at + c.SHELF_REJECT_LOG_INTERVAL_S
        log.warning(
            "%s (reading rejected; later ones from here are counted, logged again in %.0f s)",
            err,
            c.SHELF_REJECT_LOG_INTERVAL_S,
        )
