"""The ownership changes this gateway decided and has not applied yet (issue 18, session 16).

The arbitration (:meth:`edge.peers.arbitration.Arbiter.evaluate`, pure and fast) decides in the slot loop's
round; applying a change may wait on the core's writer (a gain's first words: ``Handovers.gain`` ->
``ports.publish``, which returns once the writer has committed them). A round that awaited each gain kept the
loop from its next summary: a gateway joining beside a busy loop gained its ~14 shoppers at once and sent no
summary for 8 slots, and its peers moved them all 'silent' (docs/multi-gateway.md, "Rounds that never wait on
the writer"). So the round only :meth:`Changes.put` s what it decided, and :meth:`Changes.run`, a task of its
own, applies them: one token's changes in the order decided, one at a time (the claims' adoptions and hands
go through the same queues), different tokens' side by side, at most :data:`~edge.peers.timing.CHANGES_IN_FLIGHT`
at once -- one at a time, a store's first owners were claimed seconds later than when the round applied them
(two loops, the slot loop and the inbox, each applying at once).

While a token has a change queued, this gateway's engine's events about it are held back
(:meth:`Changes.queued`; ``Peers.owns``): the arbiter already names the new owner, but a gain's first words
come from the change's application, as when it was applied in the round. A consent withdrawal purges the
token's queued changes (:meth:`Changes.forget`, when the service hears of it: the writer committed it); and a
change of a token the core has withdrawn already (``withdrawn``: the roster in force no longer lists it, which
holds from the core's step, before the writer's purge commits) is dropped when its turn comes, counted as
``peers_changes_withdrawn``: none is applied after the withdrawal. (What a change applied before it still hands
the writer is dropped at the commit: edge.pipeline.Pipeline.withdrawn.) At a stop the queue is dropped:
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
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Final

from edge.peers.arbitration import Change
from edge.peers.timing import CHANGES_AHEAD, CHANGES_IN_FLIGHT

log = logging.getLogger(__name__)

FAILURES_LOG_EVERY: Final = 100
"""A log line at the first failed change and at every 100th after (as the drain's refused events): a change
that fails for every gain of a store (a closed outbox at a stop, a broken writer) logs a few lines, not one per
shopper; ``peers_changes_failed`` counts them all."""


class Changes:
    """Changes decided, applied by :meth:`run` with ``apply`` (``stats``: the service's counters): one token's
    in the order decided, one at a time; different tokens' side by side, :data:`CHANGES_IN_FLIGHT` at most.
    ``withdrawn``: whether a token is withdrawn by now (its changes are dropped, not applied)."""

    def __init__(
        self,
        apply: Callable[[Change, float], Awaitable[None]],
        stats: dict[str, int],
        withdrawn: Callable[[str], bool] = lambda _token: False,
    ) -> None:
        self.apply = apply
        self.stats = stats
        self.withdrawn = withdrawn
        for key in ("queued", "queued_max", "deferred", "failed", "withdrawn"):
            self.stats.setdefault(f"peers_changes_{key}", 0)
        self._failures: dict[str, int] = {}
        """A failed change's exception class → how many failed so far (logged: never a token or a message)."""
        self._queues: dict[str, deque[tuple[Change, float]]] = {}
        """Token → its changes not started yet, in the order decided."""
        self._waiting = 0  # changes in ``_queues``
        self._busy: set[str] = set()  # tokens whose worker runs
        self._flight = asyncio.Semaphore(CHANGES_IN_FLIGHT)  # changes being applied
        self._wake = asyncio.Event()

    def put(self, change: Change, now: float) -> None:
        """A change decided at ``now`` (applied with that time, as in the round that decided it)."""
        self._queues.setdefault(change.token, deque()).append((change, now))
        self._waiting += 1
        self.stats["peers_changes_queued"] += 1
        self.stats["peers_changes_queued_max"] = max(self.stats["peers_changes_queued_max"], self._waiting)
        self._wake.set()

    def full(self) -> bool:
        """:data:`CHANGES_AHEAD` changes wait: the round defers its evaluations (counted)."""
        if self._waiting < CHANGES_AHEAD:
            return False
        self.stats["peers_changes_deferred"] += 1
        return True

    def queued(self, token: str) -> bool:
        """A change of ``token`` waits to be applied."""
        return token in self._queues

    def forget(self, token: str) -> None:
        """A consent withdrawal: the token's queued changes are dropped, none is applied after it."""
        self._waiting -= len(self._queues.pop(token, ()))

    def __len__(self) -> int:
        return self._waiting

    async def run(self) -> None:
        """A worker per token with changes waiting (its changes in order); the workers run side by side (at
        most :data:`CHANGES_IN_FLIGHT` applying), so the first words of many gains do not wait one commit after
        another."""
        async with asyncio.TaskGroup() as group:
            while True:
                await self._wake.wait()
                self._wake.clear()
                for token in [t for t in self._queues if t not in self._busy]:
                    self._busy.add(token)
                    group.create_task(self._work(token))

    async def _work(self, token: str) -> None:
        try:
            while token in self._queues:
                async with self._flight:  # queued (a withdrawal drops it) until one of the slots is free
                    queue = self._queues.get(token)
                    if queue is None:
                        return  # withdrawn while it waited
                    if self.withdrawn(token):  # the core withdrew it; the service has not heard yet
                        self.stats["peers_changes_withdrawn"] += len(queue)
                        self.forget(token)
                        return
                    change, now = queue.popleft()
                    if not queue:
                        del self._queues[token]  # a change decided meanwhile starts a new one
                    self._waiting -= 1
                    try:
                        await self.apply(change, now)
                    except Exception as err:  # noqa: BLE001 - one change that failed never ends the service
                        self._failed(err)
        finally:
            self._busy.discard(token)

    def _failed(self, err: Exception) -> None:
        """Count a change that failed; log the failures' kinds and counts at the first and every
        :data:`FAILURES_LOG_EVERY` th (the exception's class only: its message could name the token)."""
        failed = self.stats["peers_changes_failed"] = self.stats["peers_changes_failed"] + 1
        kind = type(err).__name__
        self._failures[kind] = self._failures.get(kind, 0) + 1
        if failed == 1 or failed % FAILURES_LOG_EVERY == 0:
            kinds = ", ".join(f"{name} x{count}" for name, count in sorted(self._failures.items()))
            log.warning("peers: %d ownership changes failed so far (%s)", failed, kinds)
