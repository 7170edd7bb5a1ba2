"""``edge demo``: the bundled simulated store through the whole pipeline, in real time.

Zero config, no broker: the simulator's adverts, shelf readings and downlinks (the roster, a
consent withdrawal) run through the same source facade, core, outbox and sinks as production,
and a live terminal summary (rich) shows who is where, the event rate, what was dropped and a
checklist of the features shown so far. The store opens with a script (:mod:`edge.sim.opening`):
a personalised offer is on the screen within seconds, and every feature happens in the first minute.

One count everywhere: the panel and the closing summary read the same tally of committed events.
Logs go through rich's handler on the live console, above the panel. SIGINT/SIGTERM stop the demo
cleanly (exit 0, the temporary state removed); a second one forces the exit (:mod:`edge.shutdown`).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.logging import RichHandler
from rich.panel import Panel
from rich.table import Table

from edge import app
from edge.beacons.replay import ItemsSource
from edge.config import SignageConfig
from edge.constants import SIGNAGE_FRAME_EVERY_S
from edge.core import Core
from edge.errors import ConfigError, InputFileError
from edge.events import Event
from edge.shutdown import Shutdown, handling
from edge.signage.decide import Play
from edge.sim.checklist import Checklist
from edge.timefmt import format_time

if TYPE_CHECKING:
    from edge.sim.store import Engine

REFRESH_S = 0.5
"""How often the live summary is redrawn."""
PLAIN_REPORT_S = 5.0
"""Without a terminal (CI, a pipe) a plain status line is printed this often instead."""
RECENT_EVENTS = 8
"""Events listed at the bottom of the summary."""


@dataclass
class _Tally:
    """The one count of committed events (the panel, the plain lines and the closing summary)."""

    checklist: Checklist
    by_type: collections.Counter[str] = field(default_factory=collections.Counter)
    recent: collections.deque[Event] = field(default_factory=lambda: collections.deque(maxlen=RECENT_EVENTS))
    total: int = 0

    def __call__(self, event: Event) -> None:
        self.total += 1
        self.by_type[event.type] += 1
        self.recent.append(event)
        self.checklist.event(event)

    def latest(self) -> list[Event]:
        """The latest events in time order (an impression is committed when its play ends)."""
        return sorted(self.recent, key=lambda event: event.time)


def _checklist_table(checklist: Checklist) -> Table:
    table = Table(title="what the demo shows (simulated seconds after the start)", expand=True)
    table.add_column("", width=2)
    table.add_column("feature")
    table.add_column("first")
    for done, label, when in checklist.lines():
        table.add_row("[green]✓[/]" if done else "·", label, when)
    return table


def _render(core: Core, tally: _Tally, now: float, started: float, rate: float) -> Group:
    zones = Table(title="who is where (opted-in shoppers only)", expand=True)
    zones.add_column("zone")
    zones.add_column("tags")
    zones.add_column("shoppers")
    for zone in core.config.zones:
        people = core.engine.occupants(zone.id)
        text = ", ".join(f"{o.token} ({o.via}, {o.distance_m:.1f} m)" for o in people) or "-"
        zones.add_row(zone.id, ", ".join(zone.tags), text)
    c = core.counters
    dropped_pct = 100.0 * c.adverts_dropped / c.adverts_seen if c.adverts_seen else 0.0
    stats = Table.grid(padding=(0, 2))
    stats.add_row("simulated time", format_time(now), "running", f"{time.monotonic() - started:.0f} s")
    stats.add_row("adverts seen", f"{c.adverts_seen}", "resolved", f"{c.adverts_resolved}")
    stats.add_row("dropped as unknown", f"{c.adverts_dropped} ({dropped_pct:.0f} %)", "events/s", f"{rate:.1f}")
    stats.add_row("events committed", f"{tally.total}", "withdrawals", f"{c.withdrawals}")
    shelf_events = c.shelf_readings - c.shelf_rejected
    stats.add_row(
        "shelf interactions",
        f"{c.shelf_attributed} attributed, {shelf_events - c.shelf_attributed} anonymous",
        "motion-tag adverts",
        f"{c.motion_adverts}",
    )
    recent = Table(title="latest events (committed to the outbox, in time order)", expand=True)
    for column in ("time", "type", "subject", "token"):
        recent.add_column(column)
    for event in tally.latest():
        token = event.data.get("token")
        recent.add_row(format_time(event.time)[11:23], event.type, event.subject, str(token) if token else "-")
    panel = Panel(stats, title="instore-edge demo: simulated store")
    return Group(panel, _checklist_table(tally.checklist), zones, recent)


@contextmanager
def _logs_on(console: Console) -> Iterator[None]:
    """Log records through rich on the live console: printed above the panel, never over it."""
    root = logging.getLogger()
    saved = root.handlers[:]
    handler = RichHandler(console=console, show_path=False, markup=False, rich_tracebacks=False)
    handler.setLevel(root.level)
    root.handlers = [handler]
    try:
        yield
    finally:
        root.handlers = saved


async def _demo(
    seconds: float | None,
    speed: float,
    seed: int,
    state_dir: Path,
    console: Console,
    shutdown: Shutdown,
    broker: str | None = None,
    signage: SignageConfig | None = None,
    engine: Engine = "threshold",
) -> tuple[Core, _Tally]:
    from edge.sim.store import SimulatedStore

    store = SimulatedStore(seed=seed, opening=True, engine=engine)
    config = store.config
    if broker is not None:
        import msgspec

        from edge.config import check_mqtt

        mqtt = msgspec.structs.replace(config.mqtt, url=broker)
        check_mqtt(mqtt, "--broker")
        config = msgspec.structs.replace(config, mqtt=mqtt)
    if signage is not None and signage.screen not in {screen.id for screen in config.screens}:
        known = ", ".join(screen.id for screen in config.screens)
        raise ConfigError(f"no screen {signage.screen!r} in the simulated store (it has {known})", where="--screen")
    source = ItemsSource(store.items(), start=store.start, speed=speed)
    tally = _Tally(Checklist(store.start))
    stop = shutdown.stop_event()
    if seconds is not None:
        asyncio.get_running_loop().call_later(seconds, stop.set)
    gateway = app.Gateway(config, source, sinks=[tally], state_dir=state_dir, signage=signage)
    core = gateway.core
    started = time.monotonic()
    last_total, last_at = 0, started
    rate = 0.0

    def on_screen(play: Play, mono: float) -> None:
        at = source.clock.now() - (time.monotonic() - mono) * speed
        code = play.offer.code if play.offer is not None else None
        tally.checklist.play(
            at=at, kind=play.kind, content=play.content, token=play.token, holdout=play.holdout,
            reasons=play.reasons, code=code,
        )  # fmt: skip

    def frame() -> Group:
        nonlocal last_total, last_at, rate
        moment = time.monotonic()
        if moment - last_at >= 1.0:
            rate = (tally.total - last_total) / (moment - last_at)
            last_total, last_at = tally.total, moment
        return _render(core, tally, source.clock.now(), started, rate)

    async def run() -> None:
        if stop.is_set():  # a signal during start-up: nothing to start
            return
        async with gateway:
            if gateway.signage is not None:
                gateway.signage.on_started.append(on_screen)
            await gateway.run(stop=stop)

    runner = asyncio.create_task(run(), name="edge-demo")
    if console.is_terminal:
        with _logs_on(console), Live(frame(), console=console, refresh_per_second=1 / REFRESH_S) as live:
            while not runner.done():
                await asyncio.wait({runner}, timeout=REFRESH_S)
                live.update(frame())
    else:
        shown: set[str] = set()
        while not runner.done():
            await asyncio.wait({runner}, timeout=PLAIN_REPORT_S)
            c = core.counters
            console.print(
                f"t={source.clock.now() - store.start:6.1f}s adverts={c.adverts_seen} resolved={c.adverts_resolved} "
                f"dropped={c.adverts_dropped} events={tally.total} present="
                f"{sum(len(core.engine.occupants(z.id)) for z in config.zones)}"
            )
            for done, label, when in tally.checklist.lines():
                if done and label not in shown:
                    shown.add(label)
                    console.print(f"  shown: {label}, {when}", markup=False, soft_wrap=True)
    await runner
    console.print(frame())
    return core, tally


def _writable(frames: Path) -> None:
    """``--headless DIR`` must be a folder the demo can write, checked before the store opens: the player
    would otherwise log an error per frame and the demo end as if its frames were there."""
    try:
        frames.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=frames, prefix=".edge-demo-", suffix=".probe"):
            pass
    except OSError as err:
        raise InputFileError(f"cannot write the frames here: {err.strerror}", path=str(frames)) from None


def demo_signage(
    headless: Path | None, screen: str = "screen-1", windowed: bool = False, console: Console | None = None
) -> SignageConfig:
    """The demo's screen: PNG frames into ``headless``, a window where there is a display, else off screen."""
    if headless is not None:
        return SignageConfig(
            backend="headless",
            screen=screen,
            frames_dir=str(headless),
            frame_every_s=SIGNAGE_FRAME_EVERY_S,
        )
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        # Over SSH or on a box without a screen the player still runs, off screen (SDL's dummy driver):
        # decisions, plays, proof of play and the checklist's offer are real, only nobody sees the frames.
        if console is not None:
            console.print(
                f"no display: {screen} plays off screen (--headless DIR writes its frames as PNG files)", soft_wrap=True
            )
        return SignageConfig(backend="headless", screen=screen)
    if windowed:
        return SignageConfig(backend="window", screen=screen, fullscreen=False, width=960, height=540)
    return SignageConfig(backend="window", screen=screen)


def run_demo(
    *,
    seconds: float | None,
    speed: float,
    seed: int,
    broker: str | None = None,
    headless: Path | None = None,
    screen: str = "screen-1",
    windowed: bool = False,
    engine: Engine = "threshold",
) -> int:
    """Exit code 0, also when stopped by SIGINT/SIGTERM (that is how a demo ends). ``engine``: the presence
    engine the gateway runs (``[presence] engine``: threshold, model or grid)."""
    console = Console()
    if headless is not None:
        _writable(headless)
    signage = demo_signage(headless, screen, windowed, console)
    with handling() as shutdown, app.temporary_state() as state:
        shutdown.cleanup.append(Path(state))
        core, tally = asyncio.run(_demo(seconds, speed, seed, Path(state), console, shutdown, broker, signage, engine))
    c = core.counters
    console.print(
        # seen = resolved + dropped + motion tags' readings: the closing line adds up (it did not before)
        f"demo done: {c.adverts_seen} adverts ({c.adverts_resolved} resolved, {c.adverts_dropped} dropped as unknown, "
        f"{c.motion_adverts} from shelf motion tags), {tally.total} events committed",
        soft_wrap=True,
    )
    for done, label, when in tally.checklist.lines():
        console.print(f"  {'[x]' if done else '[ ]'} {label}: {when}", markup=False, soft_wrap=True)
    if headless is not None:
        console.print(f"signage frames of {screen}: {headless}/frame-*.png")
    return 0
