"""``edge demo``: the bundled simulated store through the whole pipeline, in real time.

Zero config, no broker: the simulator's adverts, shelf readings and downlinks (the roster, a
consent withdrawal) run through the same source facade, core, outbox and sinks as production,
and a live terminal summary (rich) shows who is where, the event rate and what was dropped.
"""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from edge import app
from edge.beacons.replay import ItemsSource
from edge.config import SignageConfig
from edge.constants import SIGNAGE_FRAME_EVERY_S
from edge.core import Core
from edge.errors import ConfigError
from edge.events import Event
from edge.trace import format_time

REFRESH_S = 0.5
"""How often the live summary is redrawn."""
PLAIN_REPORT_S = 5.0
"""Without a terminal (CI, a pipe) a plain status line is printed this often instead."""
RECENT_EVENTS = 8
"""Events listed at the bottom of the summary."""


@dataclass
class _Tally:
    by_type: collections.Counter[str] = field(default_factory=collections.Counter)
    recent: collections.deque[Event] = field(default_factory=lambda: collections.deque(maxlen=RECENT_EVENTS))
    total: int = 0

    def __call__(self, event: Event) -> None:
        self.total += 1
        self.by_type[event.type] += 1
        self.recent.append(event)


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
    stats.add_row("events", f"{tally.total}", "withdrawals", f"{c.withdrawals}")
    shelf_events = c.shelf_readings - c.shelf_rejected
    stats.add_row(
        "shelf interactions",
        f"{c.shelf_attributed} attributed, {shelf_events - c.shelf_attributed} anonymous",
        "motion-tag adverts",
        f"{c.motion_adverts}",
    )
    recent = Table(title="latest events (committed to the outbox)", expand=True)
    for column in ("time", "type", "subject", "token"):
        recent.add_column(column)
    for event in reversed(tally.recent):
        token = event.data.get("token")
        recent.add_row(format_time(event.time)[11:23], event.type, event.subject, str(token) if token else "-")
    return Group(Panel(stats, title="instore-edge demo: simulated store"), zones, recent)


async def _demo(
    seconds: float | None,
    speed: float,
    seed: int,
    state_dir: Path,
    console: Console,
    broker: str | None = None,
    signage: SignageConfig | None = None,
) -> Core:
    from edge.sim.store import SimulatedStore

    store = SimulatedStore(seed=seed)
    config = store.config
    if broker is not None:
        import msgspec

        from edge.config import check_mqtt

        mqtt = msgspec.structs.replace(config.mqtt, url=broker)
        check_mqtt(mqtt, "--broker")
        config = msgspec.structs.replace(config, mqtt=mqtt)
    source = ItemsSource(store.items(), start=store.start, speed=speed)
    core = app.build_core(config)
    tally = _Tally()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if seconds is not None:
        loop.call_later(seconds, stop.set)
    if signage is not None and signage.screen not in {screen.id for screen in config.screens}:
        known = ", ".join(screen.id for screen in config.screens)
        raise ConfigError(f"no screen {signage.screen!r} in the simulated store (it has {known})", where="--screen")
    runner = asyncio.create_task(
        app.run(config, source, sinks=[tally], stop=stop, state_dir=state_dir, core=core, signage=signage)
    )
    started = time.monotonic()
    last_total, last_at = 0, started
    rate = 0.0

    def frame() -> Group:
        nonlocal last_total, last_at, rate
        moment = time.monotonic()
        if moment - last_at >= 1.0:
            rate = (tally.total - last_total) / (moment - last_at)
            last_total, last_at = tally.total, moment
        return _render(core, tally, source.clock.now(), started, rate)

    if console.is_terminal:
        with Live(frame(), console=console, refresh_per_second=1 / REFRESH_S, transient=False) as live:
            while not runner.done():
                await asyncio.wait({runner}, timeout=REFRESH_S)
                live.update(frame())
    else:
        while not runner.done():
            await asyncio.wait({runner}, timeout=PLAIN_REPORT_S)
            c = core.counters
            console.print(
                f"t={source.clock.now() - store.start:6.1f}s adverts={c.adverts_seen} resolved={c.adverts_resolved} "
                f"dropped={c.adverts_dropped} events={tally.total} present="
                f"{sum(len(core.engine.occupants(z.id)) for z in config.zones)}"
            )
    await runner
    console.print(frame())
    return core


def demo_signage(
    headless: Path | None, screen: str = "screen-1", windowed: bool = False, console: Console | None = None
) -> SignageConfig | None:
    """The demo's screen: PNG frames into ``headless``, else a window where there is a display."""
    if headless is not None:
        return SignageConfig(
            backend="headless",
            screen=screen,
            frames_dir=str(headless),
            frame_every_s=SIGNAGE_FRAME_EVERY_S,
        )
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        if console is not None:
            console.print("no display: the signage screen is off (--headless DIR writes its frames as PNG files)")
        return None
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
) -> int:
    console = Console()
    signage = demo_signage(headless, screen, windowed, console)
    with app.temporary_state() as state:
        core = asyncio.run(_demo(seconds, speed, seed, Path(state), console, broker, signage))
    c = core.counters
    console.print(
        f"demo done: {c.adverts_seen} adverts, {c.adverts_resolved} resolved, {c.adverts_dropped} dropped as unknown, "
        f"{c.events} events"
    )
    if headless is not None:
        console.print(f"signage frames of {screen}: {headless}/frame-*.png")
    return 0
