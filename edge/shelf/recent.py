"""A shopper's recent shelf interactions, for the decision engine (cross-sell on the nearby screen).

Bounded per shopper in number and in age, and forgotten at once when the shopper withdraws
consent. Only attributed interactions (tokens with the ``shelf`` scope) are ever added.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from edge.inputs import ShelfAction

__all__ = ["Interaction", "RecentInteractions"]


@dataclass(frozen=True, slots=True)
class Interaction:
    """One attributed shelf interaction."""

    at: float
    shelf: str
    zone: str
    action: ShelfAction
    sku: str


class RecentInteractions:
    """Per token: the last ``max_items`` interactions younger than ``max_age_s``."""

    def __init__(self, max_items: int, max_age_s: float) -> None:
        self._max_items = max_items
        self._max_age_s = max_age_s
        self._by_token: dict[str, deque[Interaction]] = {}
        self._next_prune = -float("inf")

    def add(self, token: str, interaction: Interaction) -> None:
        if self._max_items <= 0:
            return
        found = self._by_token.get(token)
        if found is None:
            found = self._by_token[token] = deque(maxlen=self._max_items)
        found.append(interaction)
        self.prune(interaction.at)

    def get(self, token: str, now: float | None = None) -> list[Interaction]:
        """Oldest first; ``now`` None: whatever is kept, whatever its age."""
        found = self._by_token.get(token)
        if not found:
            return []
        if now is None:
            return list(found)
        horizon = now - self._max_age_s
        return [i for i in found if i.at >= horizon]

    def pickups(self, token: str, now: float | None = None) -> list[str]:
        """SKUs the shopper picked up and did not put back since, newest first, each once."""
        held: dict[str, None] = {}
        for interaction in self.get(token, now):
            if interaction.action == "pickup":
                held.pop(interaction.sku, None)
                held[interaction.sku] = None
            elif interaction.action == "putback":
                held.pop(interaction.sku, None)
        return list(reversed(held))

    def forget(self, token: str) -> bool:
        """Drop everything about ``token`` (consent withdrawn); True if anything was kept."""
        return self._by_token.pop(token, None) is not None

    def prune(self, now: float) -> None:
        """Drop interactions older than ``max_age_s`` (at most every tenth of it)."""
        if now < self._next_prune:
            return
        self._next_prune = now + self._max_age_s / 10
        horizon = now - self._max_age_s
        for token in list(self._by_token):
            found = self._by_token[token]
            while found and found[0].at < horizon:
                found.popleft()
            if not found:
                del self._by_token[token]

    def __len__(self) -> int:
        """Tokens with something kept."""
        return len(self._by_token)
