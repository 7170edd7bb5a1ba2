"""The drain's commit of PUBACKed rows, on a real SQLite outbox: a commit interrupted by the
gateway stopping leaves its rows to the next commit (the shutdown's last), never unmarked."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

from edge.events import EventFactory
from edge.outbox import Outbox
from edge.sync.drain import Drain
from edge.sync.topics import Topics


async def test_a_commit_of_acks_stopped_midway_is_done_by_the_next(tmp_path: Path) -> None:
    factory = EventFactory("store-1", "gw-1", random.Random(3))
    events = [factory.make("edge.shelf.interaction", float(i), "shelf-a3", {"i": i}) for i in range(150)]
    async with Outbox(tmp_path, factory.source) as outbox:
        await outbox.append(events)
        rows = await outbox.claim(0, 1000)
        assert len(rows) == 150
        drain = Drain(outbox, Topics("store-1", "gw-1"))
        for mid, row in enumerate(rows, start=1):
            drain._inflight[mid] = (row.seq, 0.0)
            drain.on_puback(mid)
        async with outbox.lock:  # something else holds the outbox: the commit waits for it...
            committing = asyncio.create_task(drain.commit_acks())
            await asyncio.sleep(0.01)
            committing.cancel()  # ...and the gateway stops meanwhile
            await asyncio.wait({committing})
        assert committing.cancelled()
        await drain.commit_acks()  # the shutdown's last commit
        assert await outbox.depth() == 0
