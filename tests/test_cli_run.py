"""`edge demo` and `edge run` as a user starts them."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import get_args

from edge.sim.store import SimulatedStore


def _demo(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``edge demo ARGS`` as a user starts it, with no terminal (output captured)."""
    command = [sys.executable, "-m", "edge", "demo", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=env)


def test_demo_runs_with_no_config_and_no_terminal() -> None:
    result = _demo("--seconds", "4", "--speed", "30")
    assert result.returncode == 0, result.stderr
    assert "who is where" in result.stdout
    closing = re.search(
        r"demo done: (\d+) adverts \((\d+) resolved, (\d+) dropped as unknown, (\d+) from shelf motion tags\)",
        result.stdout.replace("\n", " "),
    )
    assert closing is not None, result.stdout[-600:]
    seen, resolved, dropped, motion = (int(n) for n in closing.groups())
    assert seen == resolved + dropped + motion > 0  # the closing line adds up
    assert "[x] an opted-in shopper enters a zone" in result.stdout  # (the latest-events table may be all plays)
    assert "Traceback" not in result.stderr


def test_demo_with_the_grid_engine_runs_its_scripted_opening() -> None:
    """``edge demo --engine grid``: the bundled store's config carries its floor plan and scanner positions, so
    the grid engine runs on it; the opening's first entry (3.5-5.5 s) and shelf pickup (12 s) happen within
    the 30 simulated seconds (no terminal)."""
    result = _demo("--engine", "grid", "--seconds", "2", "--speed", "15")
    assert result.returncode == 0, result.stderr
    out = result.stdout.replace("\n", " ")
    assert "[x] an opted-in shopper enters a zone" in out, result.stdout[-800:]
    assert "[x] a shelf pickup attributed to a shopper" in out, result.stdout[-800:]
    assert "Traceback" not in result.stderr


def test_demo_refuses_an_unknown_engine() -> None:
    result = _demo("--engine", "nearest", "--seconds", "1")
    assert result.returncode == 2
    assert "argument --engine: invalid choice: 'nearest' (choose from 'threshold', 'model', 'grid')" in result.stderr


def test_the_demos_engines_are_the_configs() -> None:
    from edge.cli import DEMO_ENGINES
    from edge.sim.store import Engine

    assert get_args(Engine) == DEMO_ENGINES


def _entered_rows(outbox: Path) -> int:
    """``edge.presence.entered`` rows in the running gateway's outbox; 0 while it is still being made
    (the file exists a moment before its table: a read then raised "no such table")."""
    if not outbox.exists():
        return 0
    db = sqlite3.connect(outbox, timeout=5.0)
    try:
        return int(db.execute("SELECT count(*) FROM outbox WHERE type = 'edge.presence.entered'").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


def test_run_with_the_replay_backend_writes_the_outbox_and_stops_on_sigterm(tmp_path: Path) -> None:
    store = SimulatedStore(seed=5)
    trace = tmp_path / "store.jsonl"
    store.write_trace(trace, 120)
    config = tmp_path / "edge.toml"
    zones = "\n".join(
        f'[[zones]]\nid = "{z.id}"\nscanners = {list(z.scanners)!r}\ntags = {list(z.tags)!r}\n'.replace("'", '"')
        for z in store.config.zones
    )
    config.write_text(
        f'[gateway]\nstore = "store-1"\ngateway = "gw-1"\nstate_dir = "state"\n\n'
        f'[ble]\nbackend = "replay"\ntrace = "store.jsonl"\nspeed = 20.0\n\n{zones}'
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    outbox = tmp_path / "state" / "outbox.sqlite"
    deadline = time.monotonic() + 30
    rows = 0
    try:
        while time.monotonic() < deadline and rows == 0 and process.poll() is None:
            time.sleep(0.5)
            rows = _entered_rows(outbox)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()  # not left running (nor its pipes open) for a later test's warning check
            process.communicate(timeout=10)
            raise
    assert process.returncode == 0, stderr
    assert rows > 0
    assert "gateway stopped" in stderr


def test_run_names_a_bad_config_key(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text('[ble]\nbackend = "replay"\n')
    result = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "ble.trace" in result.stderr


def test_demo_without_a_display_plays_the_screen_off_screen() -> None:
    """Over SSH (no DISPLAY) the screen still runs, on SDL's dummy driver: the checklist's offer ticks."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = _demo("--seconds", "5", "--speed", "2", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout.replace("\n", " ")
    assert "plays off screen" in out
    assert re.search(
        r"\[x\] a personalised offer \(with its code\) on screen: at +[\d.]+ s: o-nappies \(BABY20\)", out
    ), result.stdout[-800:]
    assert "Traceback" not in result.stderr
