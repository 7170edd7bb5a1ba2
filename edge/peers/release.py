"""Letting a shopper go: the previous owner's clear waits until its own words about the shopper are out.

When the arbitration moves a shopper away from this gateway, the gateway falls silent for the token at
once (:meth:`edge.peers.service.Peers.owns` reads the arbiter), but its claim's clear -- the next
owner's cue to speak -- waits until whatever passed its filter before the decision is committed (a
barrier: an empty delivery through the core's one writer) and its outbox holds nothing about the
token unsent, or at most :data:`~edge.peers.timing.RELEASE_FLUSH_S` (counted as
``peers_releases_unflushed``). So the next owner's first word reaches the CDP after the previous
owner's last one. A token claimed again meanwhile (given back) is not cleared: its new claim replaced
the old one. A withdrawal or a stop clears at once (:meth:`Releases.drop`, by the service).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Iterator

from edge.clock import Clock
from edge.peers.messages import Release
from edge.peers.timing import RELEASE_FLUSH_S, RELEASE_POLL_S


class Releases:
    """Tokens let go whose claim is not cleared yet; :meth:`run` clears each when its words are out.

    ``barrier`` returns once the core's writer has committed what was delivered before it;
    ``unsent_of`` counts the outbox's unsent rows about a token; ``clear`` publishes a token's clear;
    ``mine`` says whether this gateway claims the token again."""

    def __init__(
        self,
        clock: Clock,
        barrier: Callable[[], Awaitable[object]],
        unsent_of: Callable[[str], Awaitable[int]],
        clear: Callable[[str], None],
        mine: Callable[[str], bool],
        stats: dict[str, int],
    ) -> None:
        self.clock = clock
        self.barrier = barrier
        self.unsent_of = unsent_of
        self.clear = clear
        self.mine = mine
        self.stats = stats
        self.stats.setdefault("peers_releases_unflushed", 0)
        self.pending: dict[str, Release] = {}
        """Token → when it was let go (and whether the writer's barrier has passed since)."""
        self._nudge = asyncio.Event()

    def let_go(self, token: str) -> None:
        self.pending[token] = Release(self.clock.now())
        self._nudge.set()

    def drop(self, token: str) -> bool:
        """Forget ``token`` (claimed again, withdrawn, or cleared at once by the caller); True if it was let go."""
        return self.pending.pop(token, None) is not None

    def __contains__(self, token: object) -> bool:
        return token in self.pending

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.pending))

    async def run(self) -> None:
        pending = self.pending
        while True:
            if not pending:
                await self._nudge.wait()
            self._nudge.clear()
            fresh = [t for t, r in pending.items() if not r.committed]
            if fresh:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(RELEASE_FLUSH_S):
                        await self.barrier()
                for token in fresh:
                    if token in pending:
                        pending[token] = dataclasses.replace(pending[token], committed=True)
            for token in [t for t, r in pending.items() if r.committed]:
                unsent = await self.unsent_of(token)
                release = pending.get(token)
                if release is None or not release.committed:
                    continue  # withdrawn or claimed again meanwhile
                late = self.clock.now() - release.since >= RELEASE_FLUSH_S
                if unsent == 0 or late:
                    if unsent:
                        self.stats["peers_releases_unflushed"] += 1
                    del pending[token]
                    if not self.mine(token):
                        self.clear(token)
            if pending:
                await asyncio.sleep(RELEASE_POLL_S)
