"""The ownership changes this gateway decided and has not applied yet (issue 18, session 16).

The arbitration (:meth:`edge.peers.arbitration.Arbiter.evaluate`, pure and fast) decides in the slot loop's
round; applying a change may wait on the core's writer (a gain's first words: ``Handovers.gain`` ->
``ports.publish``, which returns once the writer has committed them). A round that awaited each gain kept the
loop from its next summary: a gateway joining beside a busy loop gained its ~14 shoppers at once and sent no
summary for 8 slots, and its peers moved them all 'silent' (docs/multi-gateway.md, "Rounds that never wait on
the writer"). So the round only :meth:`Changes.put` s what it decided, and :meth:`Changes.run`, a task of its
own, applies the changes one at a time in the order decided (one token's changes keep their order; so do the
claims' adoptions and hands, which go through the same queue).

While a token has a change queued, this gateway's engine's events about it are held back
(:meth:`Changes.queued`; ``Peers.owns``): the arbiter already names the new owner, but a gain's first words
come from the change's application, as when it was applied in the round. A consent withdrawal purges the
token's queued changes (:meth:`Changes.forget`): none is applied after it. At a stop the queue is dropped:
a gain not applied yet never claimed the shopper (nothing to release), a loss not applied yet still holds
its claim, which the stop releases with the others.

The bound: :data:`~edge.peers.timing.CHANGES_AHEAD` changes queued. The queue never makes the round wait;
past the bound the round defers its evaluations instead (:meth:`Changes.full`: the slots stay due, their
summaries still go out), counted as ``peers_changes_deferred``. A deferred evaluation reaches the same
answer later: it reads the summaries received by each slot's deadline (the keep rule's stamps), not the
moment it runs.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import Awaitable, Callable

from edge.peers.arbitration import Change
from edge.peers.timing import CHANGES_AHEAD


class Changes:
    """Changes decided, applied in order by :meth:`run` with ``apply`` (``stats``: the service's counters)."""

    def __init__(self, apply: Callable[[Change, float], Awaitable[None]], stats: dict[str, int]) -> None:
        self.apply = apply
        self.stats = stats
        for key in ("queued", "queued_max", "deferred", "failed"):
            self.stats.setdefault(f"peers_changes_{key}", 0)
        self._queue: deque[tuple[Change, float]] = deque()
        self._tokens: Counter[str] = Counter()
        self._wake = asyncio.Event()

    def put(self, change: Change, now: float) -> None:
        """A change decided at ``now`` (applied with that time, as in the round that decided it)."""
        self._queue.append((change, now))
        self._tokens[change.token] += 1
        self.stats["peers_changes_queued"] += 1
        self.stats["peers_changes_queued_max"] = max(self.stats["peers_changes_queued_max"], len(self._queue))
        self._wake.set()

    def full(self) -> bool:
        """:data:`CHANGES_AHEAD` changes wait: the round defers its evaluations (counted)."""
        if len(self._queue) < CHANGES_AHEAD:
            return False
        self.stats["peers_changes_deferred"] += 1
        return True

    def queued(self, token: str) -> bool:
        """A change of ``token`` waits to be applied."""
        return token in self._tokens

    def forget(self, token: str) -> None:
        """A consent withdrawal: the token's queued changes are dropped, none is applied after it."""
        if self._tokens.pop(token, 0):
            kept = [item for item in self._queue if item[0].token != token]
            self._queue.clear()  # in place: run() holds this deque
            self._queue.extend(kept)

    def __len__(self) -> int:
        return len(self._queue)

    async def run(self) -> None:
        queue = self._queue
        while True:
            if not queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            change, now = queue.popleft()
            left = self._tokens[change.token] - 1
            if left:
                self._tokens[change.token] = left
            else:
                del self._tokens[change.token]
            try:
                await self.apply(change, now)
            except Exception:  # noqa: BLE001 - one change that failed never ends the service (as a bad message)
                self.stats["peers_changes_failed"] += 1
