"""What the gateways of a store say to each other besides summaries (edge.peers.summary): a retained
ownership claim, a gateway's online/offline state, and the service's own records of a hand-off."""

from __future__ import annotations

import dataclasses

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
    """A hand-off under way to this gateway: ``peer`` is the previous owner, ``epoch`` the new one."""

    peer: str
    epoch: int
    since: float


@dataclasses.dataclass(frozen=True, slots=True)
class Ahead:
    """This gateway spoke for a shopper with the previous owner's last zone (``zone``, one of its own)
    before its engine placed the shopper there: its engine's presence events are held back until it
    does (or until :data:`edge.peers.timing.AGREE_S` after ``since``)."""

    zone: str
    since: float


class Claim(msgspec.Struct, frozen=True):
    token: str
    owner: str
    epoch: int
    zone: str | None = None


class HandingOn(Claim, frozen=True):
    """A claim as read from the broker. It may name ``hand``: the gateway the owner hands the shopper
    to at once (its engine just placed them in ``zone``, which only that gateway's scanners cover;
    the owner clears the claim right after). Absent otherwise (a plain :class:`Claim` is sent); a
    gateway that does not know it ignores it."""

    hand: str | None = None


class State(msgspec.Struct, frozen=True):
    gateway: str
    state: str


claims = msgspec.json.Decoder(HandingOn)
states = msgspec.json.Decoder(State)
encoder = msgspec.json.Encoder()


def state_payload(gateway: str, state: str) -> bytes:
    """A gateway's retained ``online`` birth or ``offline`` last will."""
    return encoder.encode(State(gateway, state))
