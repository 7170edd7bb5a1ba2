"""The store-local topics of several gateways (docs/multi-gateway.md), built from validated ids.

``{prefix}/{store}/{gateway}/sightings`` (1 Hz summaries, not retained, MQTT 5 message expiry),
``{prefix}/{store}/{gateway}/state`` (retained ``online``; the last will says ``offline``) and
``{prefix}/{store}/{gateway}/owner/{token-hash}`` (retained claims; an empty message clears one).
Every gateway publishes only under its own level (the ACL's ``%c`` pattern); the prefix is not
under ``edge/v1/``, so the bridge to the CDP never forwards these.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

TOKEN_HASH_HEX = 16
"""64 bits of SHA-256 in the claim's topic level: no token in a topic name (broker logs, ACL
traces), collisions negligible for a store's roster."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:TOKEN_HASH_HEX]


@dataclass(frozen=True, slots=True)
class PeerTopics:
    prefix: str
    store: str
    gateway: str

    @property
    def root(self) -> str:
        return f"{self.prefix}/{self.store}"

    def sightings(self, gateway: str | None = None) -> str:
        return f"{self.root}/{gateway or self.gateway}/sightings"

    def state(self, gateway: str | None = None) -> str:
        return f"{self.root}/{gateway or self.gateway}/state"

    def owner(self, token: str) -> str:
        """This gateway's claim topic for ``token``."""
        return f"{self.root}/{self.gateway}/owner/{token_hash(token)}"

    def subscriptions(self) -> tuple[str, ...]:
        return (f"{self.root}/+/sightings", f"{self.root}/+/state", f"{self.root}/+/owner/+")

    def parse(self, topic: str) -> tuple[str, str] | None:
        """``(gateway, kind)`` of a store-local topic (kind: sightings, state, owner), else None."""
        root = self.root + "/"
        if not topic.startswith(root):
            return None
        parts = topic[len(root) :].split("/")
        if len(parts) == 2 and parts[1] in ("sightings", "state"):
            return parts[0], parts[1]
        if len(parts) == 3 and parts[1] == "owner":
            return parts[0], "owner"
        return None
