"""The shelf-controller topic and payload (docs/mqtt.md), validated into a :class:`ShelfReading`.

Shelf controllers (weight, light-barrier, touch) publish to ``edge/v1/{store}/shelf/{shelf}`` a
JSON object with the fields of the trace's ``shelf`` line::

    {"action": "pickup", "sku": "4006381333931"}

``shelf`` (equal to the topic's), ``kind`` (``"shelf"``) and ``t`` may be present too; unknown
fields are ignored, so a controller may add its own (``weight_g``). The gateway stamps a reading
with the time it arrived: a controller's clock is not trusted. Anything else is rejected with a
:class:`ShelfReadingError` that names the topic and the problem.
"""

from __future__ import annotations

import re

import msgspec

from edge import constants as c
from edge.config import SKU
from edge.errors import DownlinkError
from edge.inputs import SHELF_ACTIONS, ShelfAction, ShelfReading
from edge.limits import scrub
from edge.topics import shelf_topic, shelf_topic_filter

__all__ = ["ShelfReadingError", "check_fields", "parse_shelf_message", "shelf_topic", "shelf_topic_filter"]

_SHELF_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""The config's id rule (edge.config): a shelf id is one MQTT topic level."""


class ShelfReadingError(DownlinkError):
    """A shelf reading was rejected (counted as ``shelf_rejected``); ``topic`` is where it came from
    (for a trace line or a motion tag: the topic it would have come on)."""


class _Payload(msgspec.Struct, forbid_unknown_fields=False):
    action: str
    sku: str
    shelf: str | None = None
    kind: str = "shelf"
    t: float | None = None


_decoder = msgspec.json.Decoder(_Payload)


def _shelf_of(topic: str, store: str | None) -> str:
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "edge" or parts[1] != "v1" or parts[3] != "shelf":
        raise ShelfReadingError("not a shelf topic (edge/v1/{store}/shelf/{shelf})", topic=topic)
    if store is not None and parts[2] != store:
        raise ShelfReadingError(f"the topic is for store {parts[2]!r}, this gateway is in {store!r}", topic=topic)
    if not _SHELF_ID.match(parts[4]):
        raise ShelfReadingError("the shelf id in the topic is not a valid id (letters, digits, . _ -)", topic=topic)
    return parts[4]


def check_fields(topic: str, action: str, sku: str) -> ShelfAction:
    """The checks a reading from any source passes: a known action and a well-formed SKU."""
    if action not in SHELF_ACTIONS:
        raise ShelfReadingError("action is not one of pickup, putback, touch", topic=topic)
    if not SKU.match(sku):
        raise ShelfReadingError("sku is not a valid SKU (letters, digits, . _ -; at most 64)", topic=topic)
    return action  # type: ignore[return-value]  # checked against SHELF_ACTIONS above


def parse_shelf_message(topic: str, payload: bytes, at: float, *, store: str | None = None) -> ShelfReading:
    """A shelf controller's MQTT message → a reading stamped ``at``; raises :class:`ShelfReadingError`.

    ``store``: when given, a topic of another store is rejected too. Whether the shelf is
    configured, and the SKU on it, is the tracker's check (it knows the config).
    """
    shelf = _shelf_of(topic, store)
    if len(payload) > c.SHELF_MESSAGE_MAX_BYTES:
        raise ShelfReadingError(
            f"payload of {len(payload)} bytes is over the {c.SHELF_MESSAGE_MAX_BYTES}-byte limit", topic=topic
        )
    try:
        message = _decoder.decode(payload)
    except msgspec.DecodeError as err:
        raise ShelfReadingError(f"not a shelf reading: {scrub(str(err))}", topic=topic) from None
    if message.kind != "shelf":
        raise ShelfReadingError('kind is not "shelf"', topic=topic)
    if message.shelf is not None and message.shelf != shelf:
        raise ShelfReadingError(f"the payload's shelf is not the topic's {shelf!r}", topic=topic)
    action = check_fields(topic, message.action, message.sku)
    return ShelfReading(at=at, shelf=shelf, action=action, sku=message.sku)
