"""Stopping helper tasks without losing the caller's own cancellation.

The usual idiom ``task.cancel(); with suppress(CancelledError): await task`` has a hole: when the
caller is itself cancelled while it awaits ``task``, asyncio forwards that cancellation to
``task`` (already cancelling, so nothing is recorded on the caller) and the ``CancelledError``
that comes back is the one the ``suppress`` swallows. The caller carries on as if nobody had
asked it to stop; a service stuck that way never ends (seen in CI: the MQTT link waited forever
on a replay task whose stop had been swallowed). :func:`asyncio.wait` never raises the awaited
tasks' outcome, only the caller's own cancellation, so it is the safe way to wait for them.
"""

from __future__ import annotations

import asyncio
from typing import Any


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
