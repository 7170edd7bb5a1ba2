"""Outgoing events: CloudEvents 1.0 in structured JSON mode (docs/mqtt.md).

``subject`` is always a zone, shelf or screen id, never a person; the pseudonymous token goes only
inside ``data``. Ids are UUIDv7 drawn from an injected random source, so a replay with a fixed
seed gives the same ids whatever day it runs.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import msgspec

from edge.timefmt import format_time

SPECVERSION = "1.0"
DATACONTENTTYPE = "application/json"

PRESENCE_ENTERED = "edge.presence.entered"
PRESENCE_DWELL = "edge.presence.dwell"
PRESENCE_EXITED = "edge.presence.exited"
SHELF_INTERACTION = "edge.shelf.interaction"
OFFER_IMPRESSION = "edge.offer.impression"
IDENTITY_VERIFIED = "edge.identity.verified"
CONSENT_WITHDRAWN = "edge.consent.withdrawn"
GATEWAY_HEALTH = "edge.gateway.health"

_encoder = msgspec.json.Encoder()


def uuid7(unix_s: float, rng: random.Random) -> str:
    """A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, variant 10, 74 random bits."""
    ms = int(unix_s * 1000) & ((1 << 48) - 1)
    rand = rng.getrandbits(74)
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


@dataclass(frozen=True, slots=True)
class Event:
    """One outgoing event; ``token`` repeats ``data["token"]`` so the outbox can purge by it."""

    id: str
    type: str
    time: float
    subject: str
    data: dict[str, Any]
    token: str | None = None

    def envelope(self, source: str) -> dict[str, Any]:
        return {
            "specversion": SPECVERSION,
            "id": self.id,
            "source": source,
            "type": self.type,
            "time": format_time(self.time),
            "subject": self.subject,
            "datacontenttype": DATACONTENTTYPE,
            "data": self.data,
        }

    def to_json(self, source: str) -> bytes:
        return _encoder.encode(self.envelope(source))


class EventFactory:
    """Builds events for one gateway; the only place ids are drawn."""

    def __init__(self, store: str, gateway: str, rng: random.Random | None = None) -> None:
        self.source = f"urn:edge:{store}:{gateway}"
        self._rng = rng if rng is not None else random.SystemRandom()

    def make(self, type_: str, at: float, subject: str, data: dict[str, Any], *, token: str | None = None) -> Event:
        return Event(uuid7(at, self._rng), type_, at, subject, data, token)
