"""Always a clean exit: SIGINT and SIGTERM end ``edge demo``, ``edge run`` and ``edge replay`` within
5 s in any state, and the temporary state (``edge-state-*`` under the child's own TMPDIR) is gone.

Convention (edge/cli.py): ``demo`` and ``run`` exit 0 on a signal (stopping is how they end);
``replay`` exits 128 + the signal (130, 143): its output is cut short.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from edge.shutdown import SHUTDOWN_GRACE_S
from edge.signage.service import wait_event
from edge.sim.store import SimulatedStore

EXIT_WITHIN_S = 5.0
MOMENTS = 40
"""Random moments the headless demo is stopped at: seeded delays in [0, MAX_DELAY_S) after its
command line is up (start-up, the player starting, the opening's busiest seconds, steady state).
40, not 50 (session 26): this test was 108 s of an 865 s suite that must stay under 15 minutes; 40
still puts about five stops in each second of the 8 s span."""
MAX_DELAY_S = 8.0
CONCURRENT = 2
"""Demos run at once. Four on the 2-core CI machine starved each other's start-up: a signal in it
waits for the command to be up, and that took past the 4 s grace (exit 143; stops up to 4.4 s, median
1.05 s, with other work on the machine). Two: up to 1.7 s, median 0.27 s, in about 110 s."""


def _env(tmp: Path) -> dict[str, str]:
    tmp.mkdir(parents=True, exist_ok=True)
    return dict(os.environ, TMPDIR=str(tmp), PYTHONUNBUFFERED="1")


def _leftovers(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.glob("edge-state-*"))


def _stop(process: subprocess.Popen[bytes] | subprocess.Popen[str], sig: int) -> float:
    """Send ``sig``; seconds until the process was gone (or EXIT_WITHIN_S + 5 and killed)."""
    sent = time.monotonic()
    process.send_signal(sig)
    try:
        process.wait(timeout=EXIT_WITHIN_S + 5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    return time.monotonic() - sent


def _handling(process: subprocess.Popen[bytes], within_s: float = 30.0) -> None:
    """Until the child catches SIGTERM (``SigCgt`` in /proc): its command line is up. A signal in the
    ~0.1 s before, while the interpreter itself starts, meets Python's defaults (nothing to clean yet)."""
    deadline = time.monotonic() + within_s
    bit = 1 << (signal.SIGTERM - 1)
    while time.monotonic() < deadline and process.poll() is None:
        status = Path(f"/proc/{process.pid}/status").read_text()
        caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
        if caught & bit:
            return
        time.sleep(0.01)
    process.kill()  # not left running (nor its pipes open) for a later test's warning check
    process.communicate(timeout=10)
    raise AssertionError("the child never installed its signal handlers")


def _one_demo(n: int, delay: float, speed: float, sig: int, root: Path) -> tuple[int, float, float, int, list[str]]:
    tmp = root / f"run-{n}"
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "demo", "--headless", str(tmp / "frames"), "--seconds", "600",
         "--speed", str(speed)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=_env(tmp),
    )  # fmt: skip
    _handling(process)
    time.sleep(delay)
    took = _stop(process, sig)
    return n, delay, took, process.returncode, _leftovers(tmp)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_the_headless_demo_stops_cleanly_at_40_random_moments(tmp_path: Path) -> None:
    rng = random.Random(12)
    plan = [
        (n, rng.uniform(0.0, MAX_DELAY_S), 5.0 if n % 2 else 1.0, signal.SIGINT if n % 4 < 2 else signal.SIGTERM)
        for n in range(MOMENTS)
    ]
    with ThreadPoolExecutor(CONCURRENT) as pool:
        results = list(pool.map(lambda p: _one_demo(*p, root=tmp_path), plan))
    took = sorted(r[2] for r in results)
    print(f"exit after the signal: min {took[0]:.2f} s, median {took[len(took) // 2]:.2f} s, max {took[-1]:.2f} s")
    for n, delay, seconds, code, left in results:
        assert seconds < EXIT_WITHIN_S, f"run {n} (signal after {delay:.2f} s) took {seconds:.2f} s to exit"
        assert code == 0, f"run {n} (signal after {delay:.2f} s): exit code {code}"
        assert left == [], f"run {n} (signal after {delay:.2f} s) left {left}"


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trace") / "store.jsonl"
    SimulatedStore(seed=5).write_trace(path, 240)
    return path


def _run_config(tmp: Path, trace: Path, speed: float) -> Path:
    zones = "\n".join(
        f'[[zones]]\nid = "{z.id}"\nscanners = {list(z.scanners)!r}\ntags = {list(z.tags)!r}\n'.replace("'", '"')
        for z in SimulatedStore(seed=5).config.zones
    )
    config = tmp / "edge.toml"
    config.write_text(
        f'[gateway]\nstore = "store-1"\ngateway = "gw-1"\nstate_dir = "state"\n\n'
        f'[ble]\nbackend = "replay"\ntrace = "{trace}"\nspeed = {speed}\n\n{zones}'
    )
    return config


@pytest.mark.parametrize(("sig", "speed", "delay"), [(signal.SIGTERM, 20.0, 2.0), (signal.SIGINT, 1000.0, 6.0)])
def test_run_stops_on_a_signal_while_replaying_or_after_the_trace_ended(
    tmp_path: Path, trace: Path, sig: int, speed: float, delay: float
) -> None:
    """speed 1000: the 240 s trace ends after a fraction of a second, the signal comes later."""
    config = _run_config(tmp_path, trace, speed)
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "run", "--config", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(tmp_path / "tmp"),
    )  # fmt: skip
    _handling(process)
    time.sleep(delay)
    if process.poll() is None:
        assert _stop(process, sig) < EXIT_WITHIN_S
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 0, stderr
    assert b"gateway stopped" in stderr


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Long enough to be busy when the signal comes (written once: ~6 s on a loaded 2-core machine)."""
    path = tmp_path_factory.mktemp("big") / "big.jsonl"
    SimulatedStore(seed=3).write_trace(path, 1200)
    return path


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_replay_stops_on_a_signal_with_its_temporary_state_removed(tmp_path: Path, big: Path, sig: int) -> None:
    tmp = tmp_path / "tmp"
    process = subprocess.Popen(
        [sys.executable, "-m", "edge", "replay", str(big)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env(tmp),
    )  # fmt: skip
    _handling(process)
    deadline = time.monotonic() + 30
    while not _leftovers(tmp) and time.monotonic() < deadline:  # the pipeline has started
        time.sleep(0.05)
    time.sleep(0.3)
    assert process.poll() is None, "the replay ended before the signal: make the trace longer"
    assert _stop(process, sig) < EXIT_WITHIN_S
    _, stderr = process.communicate(timeout=10)
    assert process.returncode == 128 + sig, stderr
    assert b"Traceback" not in stderr
    assert _leftovers(tmp) == []


async def test_wait_event_never_swallows_a_cancellation() -> None:
    """The cause of the shutdown hang: on 3.11, asyncio.wait_for returned normally when its
    event was set in the same loop turn as the cancellation, and the signage loop ran on."""
    event = asyncio.Event()
    task = asyncio.create_task(wait_event(event, 10.0))
    await asyncio.sleep(0)
    event.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


STUCK = """
import sys, time
from pathlib import Path
from edge.shutdown import Shutdown

with Shutdown() as shutdown:
    state = Path(sys.argv[1])
    state.mkdir()
    shutdown.cleanup.append(state)
    shutdown.on_request(lambda: print("asked", flush=True))  # and then never stops by itself
    print("ready", flush=True)
    time.sleep(60)
"""
"""A command whose stop never finishes (the case edge.shutdown's force is for)."""


def _stuck(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    state = tmp_path / "edge-state-x"
    process = subprocess.Popen(
        [sys.executable, "-c", STUCK, str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "ready\n"
    assert state.is_dir()
    return process, state


@pytest.mark.parametrize(("first", "second"), [(signal.SIGINT, signal.SIGINT), (signal.SIGTERM, signal.SIGINT)])
def test_a_second_signal_exits_at_once_removing_the_temporary_state(tmp_path: Path, first: int, second: int) -> None:
    process, state = _stuck(tmp_path)
    sent = time.monotonic()
    process.send_signal(first)
    assert process.stdout is not None
    assert process.stdout.readline() == "asked\n"  # the first signal asked the command to stop
    _stop(process, second)
    _, stderr = process.communicate(timeout=10)
    assert time.monotonic() - sent < SHUTDOWN_GRACE_S  # the second signal, not the grace's timer
    assert process.returncode == 128 + second
    assert "edge: forced exit" in stderr
    assert not state.exists()


def test_a_stop_unfinished_after_the_grace_is_forced(tmp_path: Path) -> None:
    process, state = _stuck(tmp_path)
    took = _stop(process, signal.SIGTERM)
    _, stderr = process.communicate(timeout=10)
    assert SHUTDOWN_GRACE_S <= took < EXIT_WITHIN_S
    assert process.returncode == 128 + signal.SIGTERM
    assert "edge: forced exit" in stderr
    assert not state.exists()
