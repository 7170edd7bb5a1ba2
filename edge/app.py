"""Assembles the gateway: config → source → core → outbox → sinks, as one async context."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import sys
import tempfile
from contextlib import AsyncExitStack
from pathlib import Path

from edge.beacons.source import Source
from edge.config import Config
from edge.core import Core
from edge.errors import RosterError
from edge.events import EventFactory
from edge.outbox import Outbox
from edge.pipeline import Pipeline, Sink
from edge.roster import parse_roster

log = logging.getLogger(__name__)


def setup_logging(verbose: bool = False) -> None:
    """Logs to stderr; under systemd (JOURNAL_STREAM set) without timestamps, journald adds them."""
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=fmt, stream=sys.stderr)
    # aiosqlite logs every statement with its parameters at debug: event bodies, not for a journal.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)


def load_roster_file(core: Core, path: Path, now: float) -> None:
    try:
        roster = parse_roster(path.read_bytes())
    except OSError as err:
        log.error("cannot read the roster file %s: %s", path, err.strerror)
        return
    except RosterError as err:
        log.error("%s: %s", path, err)
        return
    core.set_roster(roster, now)


def build_core(config: Config, rng: random.Random | None = None) -> Core:
    return Core(config, EventFactory(config.gateway.store, config.gateway.gateway, rng))


async def run(
    config: Config,
    source: Source,
    *,
    sinks: list[Sink] | None = None,
    fast: bool = False,
    stop: asyncio.Event | None = None,
    state_dir: Path | None = None,
    rng: random.Random | None = None,
    core: Core | None = None,
) -> Core:
    """Run the pipeline until the source ends (or ``stop`` is set); returns the core for its counters.

    ``state_dir`` None: the config's state directory. The outbox lives there. ``core``: one built by
    :func:`build_core` when the caller wants to watch it while it runs (the demo's summary).
    """
    core = core or build_core(config, rng)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(source)
        outbox = await stack.enter_async_context(Outbox(state_dir or config.state_path(), core.factory.source))
        if config.gateway.roster_file:
            load_roster_file(core, Path(config.gateway.roster_file), source.clock.now())
        pipeline = Pipeline(core, outbox, sinks)
        if fast:
            await pipeline.run_fast(source)
        else:
            await pipeline.run_live(source, stop or asyncio.Event())
    return core


def temporary_state() -> tempfile.TemporaryDirectory[str]:
    """A fresh state directory for a replay or a demo that names none."""
    return tempfile.TemporaryDirectory(prefix="edge-state-")
