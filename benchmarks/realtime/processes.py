"""The processes whose CPU is measured: each a child, its CPU (user + system of all its threads, the
ones that ended included) read at the start and the end of a window from the kernel's CPU clock of
the process (``clock_gettime`` on its ``CLOCK_PROCESS_CPUTIME_ID``: nanoseconds), and the split
between user and system from ``/proc/PID/stat`` (clock ticks of 10 ms).

Why not ``/proc/PID/stat`` alone: it counts in clock ticks. At 200 adverts/s a bare scanner uses
~20 ms of CPU a second, so a 10 s window reads ~20 ticks and one tick is 5 % of the figure; the
process clock is exact to the microsecond at any window."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TICKS_S = 1.0 / os.sysconf("SC_CLK_TCK")
"""/proc counts CPU in clock ticks (10 ms here): a short window at a low rate may read 0."""
READY_TIMEOUT_S = 60.0
"""How long ``edge run`` may take to send READY=1 (imports, the roster, bleak's start) on a loaded VM."""
STOP_TIMEOUT_S = 30.0
"""How long a child may take to stop after SIGTERM before it is killed."""


def _cpu_clock_id(pid: int) -> int:
    """The clock id of process ``pid``'s CPU time (the kernel's MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED):
    what glibc's ``clock_getcpuclockid`` returns; Python has no wrapper for it)."""
    return ((~pid) << 3) | 2


def cpu_total_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and all its threads, to the nanosecond (the
    clock ticks of ``/proc/PID/stat`` where the process clock cannot be read)."""
    try:
        return time.clock_gettime_ns(_cpu_clock_id(pid)) / 1e9
    except OSError:
        return sum(cpu_s(pid))


def cpu_s(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of process ``pid`` and all its threads (``/proc/PID/stat``)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rfind(")") + 2 :].split()
    return int(fields[11]) * TICKS_S, int(fields[12]) * TICKS_S  # utime, stime (fields 14, 15)


def load_average() -> float:
    """The 1-minute load average (the machine is shared: a figure says what else ran)."""
    return os.getloadavg()[0]


@dataclass
class Child:
    """A child process whose CPU is measured."""

    name: str
    process: subprocess.Popen[bytes]

    def cpu(self) -> tuple[float, float]:
        """(user, system) in clock ticks (for the split)."""
        return cpu_s(self.process.pid)

    def cpu_total(self) -> float:
        """User + system, exact (the process's CPU clock)."""
        return cpu_total_s(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@contextlib.contextmanager
def gateway(
    config: Path,
    env: dict[str, str],
    *,
    tree: Path = ROOT,
    name: str = "edge run",
    launcher: tuple[str, ...] = ("-m", "edge"),
) -> Iterator[Child]:
    """``edge run --config`` until READY=1 (its own NOTIFY_SOCKET); SIGTERM on the way out.
    ``tree``: the checkout whose ``edge`` runs (another one: an older commit, measured beside);
    ``launcher``: what python runs with those arguments (benchmarks/realtime/split.py: a variant's script,
    which then imports ``edge`` from ``tree``)."""
    notify = config.with_name(f"{config.stem}.notify")
    log = config.with_name(f"{config.stem}.log")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, log.open("wb") as stderr:
        notify.unlink(missing_ok=True)
        sock.bind(str(notify))
        child = Child(
            name,
            subprocess.Popen(
                [sys.executable, *launcher, "run", "--config", str(config)],
                env={**env, "NOTIFY_SOCKET": str(notify), "PYTHONPATH": str(tree)},
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                cwd=tree,
            ),
        )
        try:
            sock.settimeout(READY_TIMEOUT_S)
            while not sock.recv(4096).startswith(b"READY=1"):
                pass
            yield child
        except OSError:
            tail = log.read_text(errors="replace").strip().splitlines()[-5:]
            raise RuntimeError(f"edge run did not become ready; its log ends: {tail}") from None
        finally:
            child.stop()


class Reporter:
    """A child that prints a line on SIGUSR1 (the feed: adverts sent; the peer: adverts heard)."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.child = Child(name, subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, cwd=ROOT))
        assert self.child.process.stdout is not None
        self._out = self.child.process.stdout
        self.ready = self._out.readline().decode().split()
        if not self.ready or self.ready[0] != "ready":
            self.child.stop()
            raise RuntimeError(f"{name} did not start: {self.ready}")

    def ask(self) -> list[str]:
        self.child.process.send_signal(signal.SIGUSR1)
        return self._out.readline().decode().split()


@dataclass
class Window:
    """What each child used over one steady window."""

    cpu_s: dict[str, float]
    """User + system CPU seconds of each child over the window (its process CPU clock)."""
    ticks_s: dict[str, float]
    """The same from ``/proc/PID/stat``'s clock ticks (the grain check: they agree to a tick or two)."""
    sys_s: dict[str, float]
    adverts: int
    seconds: float
    load: float
    """The 1-minute load average at the window's end."""

    def sys_share(self, name: str) -> float:
        return self.sys_s[name] / self.ticks_s[name] if self.ticks_s[name] else 0.0

    def pct(self, name: str) -> float:
        return 100.0 * self.cpu_s[name] / self.seconds

    def us(self, name: str) -> float | None:
        return 1e6 * self.cpu_s[name] / self.adverts if self.adverts else None


def measure(children: list[Child], seconds: float, feed: Reporter | None) -> Window:
    """Each child's CPU over ``seconds`` (and the adverts ``feed`` sent meanwhile)."""
    sent0 = int(feed.ask()[0]) if feed else 0
    ticks0, exact0, t0 = (
        {c.name: c.cpu() for c in children},
        {c.name: c.cpu_total() for c in children},
        time.monotonic(),
    )
    time.sleep(seconds)
    exact1, ticks1, t1 = (
        {c.name: c.cpu_total() for c in children},
        {c.name: c.cpu() for c in children},
        time.monotonic(),
    )
    sent1 = int(feed.ask()[0]) if feed else 0
    return Window(
        {n: exact1[n] - exact0[n] for n in exact0},
        {n: sum(ticks1[n]) - sum(ticks0[n]) for n in ticks0},
        {n: ticks1[n][1] - ticks0[n][1] for n in ticks0},
        sent1 - sent0,
        t1 - t0,
        load_average(),
    )
