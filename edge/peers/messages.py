"""What the gateways of a store say to each other besides summaries (edge.peers.summary): a retained
ownership claim, a gateway's online/offline state, and the service's own records of a hand-off."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Final

import msgspec
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


def expiring(seconds: int) -> Properties:
    """The MQTT 5 properties of a message that expires on the broker after ``seconds``."""
    props = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
    props.MessageExpiryInterval = seconds
    return props


@dataclasses.dataclass(frozen=True, slots=True)
class Handover:
    """A hand-off under way to this gateway: ``peer`` is the previous owner (the CDP's last speaker), ``epoch``
    the new one; ``via``: the owner whose claim named ``peer`` as the speaker (it kept ``peer``'s last word:
    :class:`Kept`), whose clear counts as ``peer``'s."""

    peer: str
    epoch: int
    since: float
    via: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Kept:
    """This gateway owns a shopper at ``epoch`` and keeps ``last``, the latest claim seen, whose voice is a silent
    gateway (``peer``) that placed them in a zone only its scanners hear (the claim is that gateway's, or another
    keeper's): it said nothing, and its engine's events are held back (:func:`edge.peers.takeover.keeps`);
    ``back_at``: when ``peer``'s summaries came again (None: not yet)."""

    peer: str
    last: Claim
    epoch: int
    back_at: float | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Ahead:
    """This gateway spoke for a shopper with the previous owner's last zone (``zone``, one of its own)
    before its engine placed the shopper there: its engine's presence events are held back until it
    does (or until :data:`edge.peers.timing.AGREE_S` after ``since``)."""

    zone: str
    since: float


@dataclasses.dataclass(frozen=True, slots=True)
class Release:
    """This gateway let a shopper go at ``since``; ``committed``: the writer has committed whatever
    passed its filter before (its clear then waits only for the outbox to send those events)."""

    since: float
    committed: bool = False


TOKEN_MAX_CHARS: Final = 128
"""A roster token (a summary's entries have the same bound)."""
NAME_MAX_CHARS: Final = 64
"""A gateway's or a zone's id (a scanner's in a summary has the same bound)."""
EPOCH_MAX: Final = 2**53
"""An ownership epoch grows by one per hand-off; 2^53 is JSON's largest exact integer (a CDP's
JavaScript reads it unchanged) and far beyond any store's hand-offs."""

Token = Annotated[str, msgspec.Meta(min_length=1, max_length=TOKEN_MAX_CHARS)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=NAME_MAX_CHARS)]
Epoch = Annotated[int, msgspec.Meta(ge=0, le=EPOCH_MAX)]


class Claim(msgspec.Struct, frozen=True):
    """``owner`` holds ``token`` at ``epoch``; ``zone``: where the CDP last heard of the shopper from this
    claim's :attr:`voice` (None: in no zone). ``said_by``: the gateway the CDP last heard of the shopper from,
    when not the owner -- the owner took the shopper and had nothing to say (its engine agreed with the last
    word), or it keeps a silent (frozen) gateway's last word for a zone only that gateway hears
    (:mod:`edge.peers.takeover`); absent otherwise (dropped at the owner's first word), and a gateway that does
    not know it ignores it."""

    token: Token
    owner: Name
    epoch: Epoch
    zone: Name | None = None
    said_by: Name | msgspec.UnsetType = msgspec.UNSET  # (unset: not in the message at all)

    @property
    def voice(self) -> str:
        """The gateway whose words about the shopper the CDP heard last: ``said_by``, else the owner."""
        return self.owner if isinstance(self.said_by, msgspec.UnsetType) else self.said_by


class HandingOn(Claim, frozen=True):
    """A claim as read from the broker. It may name ``hand``: the gateway the owner hands the shopper
    to at once (its engine just placed them in ``zone``, which only that gateway's scanners cover;
    the owner clears the claim right after). Absent otherwise (a plain :class:`Claim` is sent); a
    gateway that does not know it ignores it."""

    hand: Name | None = None


class State(msgspec.Struct, frozen=True):
    gateway: Name
    state: Annotated[str, msgspec.Meta(max_length=16)]


claims = msgspec.json.Decoder(HandingOn)
states = msgspec.json.Decoder(State)
encoder = msgspec.json.Encoder()


def state_payload(gateway: str, state: str) -> bytes:
    """A gateway's retained ``online`` birth or ``offline`` last will."""
    return encoder.encode(State(gateway, state))
