"""edge.tasks.cancel_and_wait: a stop asked of the caller while it waits is never lost."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from edge.tasks import cancel_and_wait


async def _slow_to_stop() -> None:
    try:
        await asyncio.sleep(10)
    except asyncio.CancelledError:
        await asyncio.sleep(0.05)  # its clean-up takes a moment: the caller is cancelled meanwhile
        raise


async def _caller(stop_helper: object) -> str:
    helper = asyncio.create_task(_slow_to_stop())
    await asyncio.sleep(0)
    await stop_helper(helper)  # type: ignore[operator]
    return "carried on"


async def _old_idiom(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _cancel_while_stopping(stop_helper: object) -> asyncio.Task[str]:
    caller = asyncio.create_task(_caller(stop_helper))
    await asyncio.sleep(0.01)  # the caller now waits for its helper's clean-up
    caller.cancel()
    await asyncio.wait({caller})
    return caller


async def test_the_suppress_idiom_swallows_a_cancellation_that_arrives_while_it_waits() -> None:
    """The bug this module exists for (it hung a service's stop in CI)."""
    caller = await _cancel_while_stopping(_old_idiom)
    assert not caller.cancelled()
    assert caller.result() == "carried on"


async def test_cancel_and_wait_lets_the_callers_cancellation_through() -> None:
    caller = await _cancel_while_stopping(cancel_and_wait)
    assert caller.cancelled()


async def test_cancel_and_wait_reraises_a_tasks_own_error_and_skips_none() -> None:
    async def fails() -> None:
        raise ValueError("broken")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    with pytest.raises(ValueError, match="broken"):
        await cancel_and_wait(None, task)


async def test_cancel_and_wait_ends_running_tasks() -> None:
    tasks = [asyncio.create_task(asyncio.sleep(10)) for _ in range(3)]
    await cancel_and_wait(*tasks)
    assert all(task.cancelled() for task in tasks)
