"""Stopping helper tasks without losing the caller's own cancellation.

The usual idiom ``task.cancel(); with suppress(CancelledError): await task`` has a hole: when the
caller is itself cancelled while it awaits ``task``, asyncio forwards that cancellation to
``task`` (already cancelling, so nothing is recorded on the caller) and the ``CancelledError``
that comes back is the one the ``suppress`` swallows. The caller carries on as if nobody had
asked it to stop; a service stuck that way never ends (seen in CI: the MQTT link waited forever
on a replay task whose stop had been swallowed). :func:`asyncio.wait` never raises the awaited
tasks' outcome, only the caller's own cancellation, so it is the safe way to wait for them.

The other half: a write that has taken its rows out of memory (a batch of events, the codes shown
since the last save) must not be cut between its ``execute`` and its ``commit`` by the gateway's
stop. The rows would be in neither place: the stop's own last flush finds nothing left to take,
and the connection closes on an uncommitted transaction (seen in CI: a code on screen just before a
stop was missing from the state file). :func:`finish` runs such a write to its end first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


async def cancel_and_wait(*tasks: asyncio.Future[Any] | None) -> None:
    """Cancel ``tasks`` (``None`` skipped) and wait until each has ended.

    A cancellation of the caller propagates. A task that ended with an error other than its
    cancellation re-raises that error here (the first one), as ``await task`` would have."""
    present = [task for task in tasks if task is not None]
    for task in present:
        task.cancel()
    pending = [task for task in present if not task.done()]
    if pending:
        await asyncio.wait(pending)
    first: BaseException | None = None
    for task in present:
        if task.cancelled():
            continue
        error = task.exception()  # retrieved for every task: no "exception was never retrieved"
        if error is not None and first is None:
            first = error
    if first is not None:
        raise first


async def finish(write: Coroutine[Any, Any, T]) -> T:
    """Run ``write`` to its end even when the caller is cancelled meanwhile; the caller's
    cancellation is raised once it has ended (its own error, if it failed, is logged then: the
    caller is going away). Cancelled again while it waits, the caller leaves and the write still
    runs to its end on its own task."""
    task = asyncio.ensure_future(write)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            await asyncio.wait({task})
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("a write finished during a stop failed: %s", error)
        raise
