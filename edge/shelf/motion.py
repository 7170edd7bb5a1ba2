"""RuuviTag motion tags on products or shelf fronts → debounced pickup / putback readings.

A tag is configured (``[[motion_tags]]``) by the MAC field of its data format 5 payload and mapped
to a shelf and SKU: tags are store infrastructure, not people. A Ruuvi advertisement whose MAC
field is not configured is not looked at any further: the core hands it on to the roster
resolution, which drops it like any unknown device (no event, row or log line).

Per tag, from the movement counter (incremented by the tag's accelerometer on each motion
interrupt) and the acceleration vector:

- the first advertisement heard (or the first after :data:`~edge.constants.MOTION_TAG_FORGET_S`
  of silence) gives the **resting** orientation;
- **pickup**: the counter went up *and* the acceleration is at least ``lift_mg`` away from the
  resting vector -- a bump against the shelf moves the counter but leaves the tag at rest;
- **putback**: a lifted tag back within ``rest_mg`` of the resting vector with no movement for
  ``settle_s``;
- **debounce**: two reported interactions of one tag are at least ``debounce_s`` apart; an
  advertisement heard by several scanners (same measurement sequence number) counts once;
- a tag at rest somewhere new (re-stocked lying on its side) for ``settle_s`` without movement
  becomes the new resting orientation.

Pure: time comes from the advertisements.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from edge import constants as c
from edge.beacons.advert import RUUVI_COMPANY_ID, Advertisement
from edge.beacons.parse import RUUVI_V5, parse_ruuvi_v5
from edge.config import MotionTagConfig
from edge.errors import ParseError
from edge.inputs import ShelfAction, ShelfReading

__all__ = ["MotionTags"]

RUUVI_V5_BYTES = 24
"""Length of a data format 5 payload after the company id."""
RUUVI_V5_MAC_OFFSET = 18
"""Where the 6-byte MAC field starts in it."""
MOVEMENT_COUNTER_MODULUS = 255
"""The movement counter runs 0..254 and wraps (255 is "not available")."""

Vector = tuple[float, float, float]


def _distance_mg(a: Vector, b: Vector) -> float:
    return math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 + (a[2] - b[2]) ** 2)


class _Tag:
    """What is known about one configured tag."""

    __slots__ = ("config", "counter", "last_event", "last_heard", "lifted", "rest", "sequence", "still_since")

    def __init__(self, config: MotionTagConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.counter: int | None = None
        self.sequence: int | None = None
        self.rest: Vector | None = None
        self.lifted = False
        self.still_since: float | None = None
        self.last_event = -math.inf
        self.last_heard = -math.inf


class MotionTags:
    """The configured motion tags; see the module docstring."""

    def __init__(self, tags: Sequence[MotionTagConfig]) -> None:
        self._by_mac = {bytes.fromhex(tag.mac.replace(":", "")): _Tag(tag) for tag in tags}

    def __len__(self) -> int:
        return len(self._by_mac)

    def is_tag(self, adv: Advertisement) -> bool:
        """Whether ``adv`` comes from a configured tag (by the MAC field of its payload)."""
        payload = adv.manufacturer_data.get(RUUVI_COMPANY_ID)
        return (
            payload is not None
            and len(payload) == RUUVI_V5_BYTES
            and payload[0] == RUUVI_V5
            and payload[RUUVI_V5_MAC_OFFSET:] in self._by_mac
        )

    def observe(self, adv: Advertisement) -> list[ShelfReading] | None:
        """None: not a configured tag (hand it on). Else the readings it completes (often none)."""
        payload = adv.manufacturer_data.get(RUUVI_COMPANY_ID)
        if payload is None or len(payload) != RUUVI_V5_BYTES or payload[0] != RUUVI_V5:
            return None
        tag = self._by_mac.get(payload[RUUVI_V5_MAC_OFFSET:])
        if tag is None:
            return None
        try:
            frame = parse_ruuvi_v5(payload)
        except ParseError:  # pragma: no cover - length and format byte are checked above
            return []
        action = self._step(tag, adv.at, frame.movement_counter, frame.sequence, frame.acceleration_mg)
        if action is None:
            return []
        return [ShelfReading(at=adv.at, shelf=tag.config.shelf, action=action, sku=tag.config.sku)]

    @staticmethod
    def _step(
        tag: _Tag,
        at: float,
        counter: int | None,
        sequence: int | None,
        acceleration: tuple[int | None, int | None, int | None],
    ) -> ShelfAction | None:
        if at - tag.last_heard > c.MOTION_TAG_FORGET_S:
            tag.reset()
        elif sequence is not None and sequence == tag.sequence:
            return None  # the same measurement, heard by another scanner
        tag.last_heard = max(tag.last_heard, at)
        tag.sequence = sequence
        moved = (
            counter is not None and tag.counter is not None and (counter - tag.counter) % MOVEMENT_COUNTER_MODULUS != 0
        )
        if counter is not None:
            tag.counter = counter
        ax, ay, az = acceleration
        if ax is None or ay is None or az is None:
            return None  # no accelerometer reading: nothing to judge by
        vector: Vector = (float(ax), float(ay), float(az))
        config = tag.config
        if tag.rest is None:
            tag.rest, tag.still_since = vector, at
            return None
        off_mg = _distance_mg(vector, tag.rest)
        if moved or off_mg > config.rest_mg:
            if not tag.lifted and moved and off_mg >= config.lift_mg and at - tag.last_event >= config.debounce_s:
                tag.lifted, tag.last_event, tag.still_since = True, at, None
                return "pickup"
            if tag.lifted or moved:
                tag.still_since = None
                return None
            # At rest elsewhere, without movement: re-learn the resting orientation once settled.
            if tag.still_since is None:
                tag.still_since = at
            elif at - tag.still_since >= config.settle_s:
                tag.rest = vector
            return None
        if tag.still_since is None:
            tag.still_since = at
        if tag.lifted and at - tag.still_since >= config.settle_s and at - tag.last_event >= config.debounce_s:
            tag.lifted, tag.last_event = False, at
            return "putback"
        return None
