"""This gateway's ownership claims on the store broker: what it claims, what it last saw claimed.

A claim is retained under ``{prefix}/{store}/{gateway}/owner/{hash of the token}`` with an MQTT 5
expiry of :data:`~edge.peers.timing.CLAIM_EXPIRY_S`; the owner republishes it every
:data:`~edge.peers.timing.CLAIM_REFRESH_S` so it never expires while held, and an empty retained
message clears it. A claim carries the epoch of the arbitration that gave the token and the zone
this gateway's stream last placed the shopper in (the previous owner's last word, for the next one).

Only the bookkeeping and the publishing live here; when to claim and when to clear is the service's
(:mod:`edge.peers.service`) and the release's (:mod:`edge.peers.release`).
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

import msgspec
from paho.mqtt.properties import Properties

from edge.clock import Clock
from edge.mqtt_link import Link
from edge.peers import messages
from edge.peers.messages import Claim
from edge.peers.timing import CLAIM_EXPIRY_S, CLAIM_REFRESH_S
from edge.peers.topics import PeerTopics


def claim_properties() -> Properties:
    """A retained claim's MQTT 5 properties: expiry :data:`CLAIM_EXPIRY_S` (read here: tests shorten it)."""
    return messages.expiring(CLAIM_EXPIRY_S)


class Claims:
    """The claims this gateway holds (:attr:`mine`) and the latest claim seen per token (:attr:`seen`).

    ``link`` returns the store broker's link (None while there is none), ``connected`` is set while
    it is up; ``let_go`` forgets a pending release of a token (claimed again, or cleared at once);
    ``withdrawn`` says the roster in force no longer lists a token (the core's withdrawal, before the
    service hears of it and clears the claim): its claim is then never published again -- not refreshed,
    not republished on a reconnection, not moved to a new zone (counted in ``stats``)."""

    def __init__(
        self,
        topics: PeerTopics,
        clock: Clock,
        link: Callable[[], Link | None],
        connected: asyncio.Event,
        let_go: Callable[[str], bool],
        withdrawn: Callable[[str], bool],
        stats: dict[str, int],
    ) -> None:
        self.topics = topics
        self.withdrawn = withdrawn
        self.stats = stats
        self.clock = clock
        self.link = link
        self.connected = connected
        self.let_go = let_go
        self.mine: dict[str, Claim] = {}
        """This gateway's published claims."""
        self.seen: dict[str, Claim] = {}
        """Token → the latest claim seen from its owner (the zone it reported), this gateway's included."""
        self.published: dict[str, float] = {}
        """Token → when this gateway last published its claim (refreshed by age)."""

    def claim(self, claim: Claim) -> None:
        """Hold ``claim`` and publish it (a pending release of the token is dropped: this replaces it)."""
        self.let_go(claim.token)
        self.mine[claim.token] = claim
        self.seen[claim.token] = claim
        self.publish(claim)

    def publish(self, claim: Claim) -> None:
        link = self.link()
        if link is None or not self.connected.is_set():
            return
        if self.withdrawn(claim.token):
            self.stats["peers_claims_withdrawn"] += 1
            return
        payload = messages.encoder.encode(claim)
        link.client.publish(self.topics.owner(claim.token), payload, qos=1, retain=True, properties=claim_properties())
        self.published[claim.token] = self.clock.now()

    def republish_all(self) -> None:
        """On (re)connection: every held claim again (the broker may have lost the retained ones)."""
        for claim in self.mine.values():
            self.publish(claim)

    def refresh(self, now: float) -> None:
        """Republish the claims older than :data:`CLAIM_REFRESH_S` (their expiry restarts)."""
        published = self.published
        for token, claim in list(self.mine.items()):
            if now - published.get(token, -math.inf) >= CLAIM_REFRESH_S:
                self.publish(claim)

    def give_up(self, token: str) -> Claim | None:
        """Stop holding ``token``'s claim without clearing it (its release clears it later)."""
        self.published.pop(token, None)
        return self.mine.pop(token, None)

    def clear(self, token: str) -> None:
        """Clear ``token``'s claim now (a withdrawal, a stop), released or not."""
        self.published.pop(token, None)
        held = self.mine.pop(token, None) is not None
        if self.let_go(token) or held:
            self.publish_clear(token)

    def publish_clear(self, token: str) -> None:
        link = self.link()
        if link is not None and self.connected.is_set():
            link.client.publish(self.topics.owner(token), b"", qos=1, retain=True)

    def said(self, token: str, zone: str | None) -> None:
        """This gateway's stream placed ``token`` in ``zone``: its claim carries it (if it changed: the
        hand-off's own ``entered`` names the zone just claimed), and this gateway as the CDP's last speaker (a
        ``said_by`` of a claim made in silence is dropped)."""
        held = self.mine.get(token)
        if held is not None and (zone != held.zone or held.voice != held.owner):
            self.claim(msgspec.structs.replace(held, zone=zone, said_by=msgspec.UNSET))

    def forget(self, token: str) -> None:
        """A withdrawal: nothing of ``token`` is kept, and its claim is cleared if this gateway held one."""
        self.seen.pop(token, None)
        self.clear(token)

    def topic_is_mine(self, topic: str, releasing: list[str]) -> bool:
        """Whether a retained claim of this gateway's on ``topic`` is one it holds (or still releases)."""
        return topic in {self.topics.owner(t) for t in (*self.mine, *releasing)}
