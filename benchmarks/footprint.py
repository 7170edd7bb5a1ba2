"""Footprint of the gateway without vision: peak RSS and start-up to READY, each beside the bare
interpreter in the same run.

``edge run`` (a child process, as systemd starts it) with the replay backend over the simulated
store's trace (every rostered shopper and three times as many anonymous phones; the store's zones,
shelves, motion tags and roster; no screens, no broker, no camera), played ``--speed`` times faster than real time for
``--seconds``, then SIGTERM:
- start-up: from just before the exec to ``READY=1`` on a NOTIFY_SOCKET this script binds (the
  median of ``--starts`` starts); peer: ``python -c pass`` from exec to exit.
- peak RSS: the child's ``VmHWM`` (its resident high-water mark) from ``/proc/PID/status``, read
  every 0.25 s and just before SIGTERM; peer: the bare interpreter's own ``VmHWM``. Goal ≤ 120 MB.
  (Not ``ru_maxrss`` from ``wait4``: Linux carries the forking parent's high-water mark across the
  exec, so it would report this script's size, not the gateway's.)

    python benchmarks/footprint.py [--seconds S] [--speed X] [--starts N] [--quick]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import report
from edge.sim.store import SimulatedStore

GOAL_PEAK_RSS_MB = 120.0
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0  # the unit's TimeoutStopSec is 10 s: three times that is a hang


def _toml_value(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(value)  # str, int, float: JSON's spelling is TOML's


def _toml_tables(name: str, rows: list[dict[str, Any]]) -> str:
    return "".join(
        f"\n[[{name}]]\n" + "".join(f"{k} = {_toml_value(v)}\n" for k, v in row.items() if v is not None)
        for row in rows
    )


def write_gateway(directory: Path, trace_seconds: float, speed: float) -> Path:
    """The simulated store's trace, roster and a replay config in ``directory``; the config's path.

    The config is the simulated store's (``edge demo``'s): its zones, shelves and motion tags, but no
    screens (the signage player is a child process of its own), no broker and no camera."""
    store = SimulatedStore(seed=1)
    store.write_trace(directory / "trace.jsonl", trace_seconds)
    (directory / "roster.json").write_bytes(store.roster_payload())
    config = store.config
    tables = "".join(
        _toml_tables(name, msgspec.to_builtins(getattr(config, name))) for name in ("zones", "shelves", "motion_tags")
    )
    path = directory / "edge.toml"
    path.write_text(
        '[gateway]\nstore = "store-1"\ngateway = "gw-1"\nstate_dir = "state"\nroster_file = "roster.json"\n\n'
        f'[ble]\nbackend = "replay"\ntrace = "trace.jsonl"\nspeed = {speed}\n' + tables
    )
    return path


def high_water_mb(status: str) -> float:
    """``VmHWM`` of a ``/proc/PID/status`` text, in MB (the kernel gives kB)."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/PID/status (Linux only)")


_OWN_HWM = "print(open('/proc/self/status').read())"


def bare_interpreter() -> tuple[float, float]:
    """(exec → exit in s of ``python -c pass``, peak RSS in MB of the bare interpreter)."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    took = time.perf_counter() - started
    own = subprocess.run([sys.executable, "-c", _OWN_HWM], check=True, capture_output=True, text=True)
    return took, high_water_mb(own.stdout)


def run_gateway(config: Path, notify: Path, seconds: float) -> tuple[float, float]:
    """(exec → READY=1 in s, peak RSS in MB) of one ``edge run`` stopped after ``seconds``."""
    log = config.with_name("edge-run.log")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, log.open("wb") as stderr:
        notify.unlink(missing_ok=True)
        sock.bind(str(notify))
        env = dict(os.environ, NOTIFY_SOCKET=str(notify))
        env.pop("WATCHDOG_USEC", None)
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", "edge", "run", "--config", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            sock.settimeout(READY_TIMEOUT_S)
            while not sock.recv(4096).startswith(b"READY=1"):
                pass
            ready_s = time.perf_counter() - started
            status = Path(f"/proc/{process.pid}/status")
            rss = high_water_mb(status.read_text())
            until = time.monotonic() + seconds
            while time.monotonic() < until and process.poll() is None:
                time.sleep(0.25)
                with contextlib.suppress(OSError, RuntimeError):  # it may just have exited
                    rss = max(rss, high_water_mb(status.read_text()))
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            raise RuntimeError(
                f"edge run did not stop {STOP_TIMEOUT_S:g} s after SIGTERM; its log ends: {tail}"
            ) from None
        finally:
            if process.returncode is None:
                process.kill()
                process.wait(timeout=10)
    if code != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"edge run exited {code}; its log ends: {tail}")
    return ready_s, rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0, help="how long the measured run lasts")
    parser.add_argument("--speed", type=float, default=30.0, help="replay speed (x real time)")
    parser.add_argument("--starts", type=int, default=3, help="start-ups measured (the first also for RSS)")
    parser.add_argument("--quick", action="store_true", help="4 s, one start")
    args = parser.parse_args()
    seconds, starts = (4.0, 1) if args.quick else (args.seconds, args.starts)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config = write_gateway(tmp, seconds * args.speed * 1.5 + 60, args.speed)
        ready_s, peak_mb = run_gateway(config, tmp / "notify.sock", seconds)
        readies = [ready_s] + [run_gateway(config, tmp / "notify.sock", 0.2)[0] for _ in range(starts - 1)]
    bare = [bare_interpreter() for _ in range(max(starts, 3))]
    bare_s = statistics.median(s for s, _ in bare)
    bare_mb = max(mb for _, mb in bare)
    ready = statistics.median(readies)
    print(f"edge run, replay of the simulated store at {args.speed:g}x for {seconds:g} s; start-ups: {len(readies)}")
    print(f"{'':36}{'edge run':>12}{'python -c pass':>16}")
    print(f"{'start-up (exec -> READY=1 / exit) s':36}{ready:12.3f}{bare_s:16.3f}")
    print(f"{'peak RSS MB':36}{peak_mb:12.1f}{bare_mb:16.1f}   goal <= {GOAL_PEAK_RSS_MB:g}")
    report(
        "footprint",
        {
            "peak_rss_mb": round(peak_mb, 1),
            "bare_python_rss_mb": round(bare_mb, 1),
            "goal_peak_rss_mb": GOAL_PEAK_RSS_MB,
            "startup_to_ready_s": round(ready, 3),
            "bare_python_startup_s": round(bare_s, 3),
            "run_seconds": seconds,
            "speed": args.speed,
        },
    )


if __name__ == "__main__":
    main()
