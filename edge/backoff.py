"""The one back-off helper: jittered, capped, exponential; every retry loop of the gateway uses it
(the broker link, the scanner's restarts, the signage player's restarts)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """Jittered, capped exponential back-off ("full jitter" on the upper half: every delay is
    uniform in [d·(1 − jitter), d] with d = min(cap, initial·2^attempt)), so gateways that lost the
    broker together do not reconnect in step. ``reset()`` after a connection that held."""

    initial_s: float
    max_s: float
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random)
    attempt: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s:
            raise ValueError("need 0 < initial_s <= max_s")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be in [0, 1]")

    def next_delay(self) -> float:
        ceiling = min(self.max_s, self.initial_s * 2.0 ** min(self.attempt, 62))
        self.attempt += 1
        return ceiling * (1 - self.jitter * self.rng.random())

    def reset(self) -> None:
        self.attempt = 0
