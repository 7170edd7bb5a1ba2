"""What a CPU figure alone does not say: event-loop turns per advert (``strace -c``) and where the
time goes (py-spy). Both run after the CPU window: they slow what they watch."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

PROFILE_HZ = 250
"""py-spy's sampling rate: 5,000 samples in 20 s, enough for frames of 1 %, light enough not to
starve the gateway on 2 shared cores."""
TOP_SELF = 15
TOP_TOTAL = 25
_LINE = re.compile(r":\d+\)$")
_IDLE = ("EpollSelector.select", "_connection_worker_thread")
"""Frames where a thread waits (py-spy's idle detection does not work on this VM): left out of the
busy share printed beside the raw one."""


def profile(pid: int, seconds: float, out: Path) -> list[str]:
    """py-spy on ``pid`` for ``seconds`` (``--nonblocking``): collapsed stacks in ``out``; the top
    functions by self and total samples, as text, also as a share of the busy samples (a thread
    waiting in ``select`` or on aiosqlite's queue is not busy)."""
    spy = Path(sys.executable).with_name("py-spy")
    cmd = [str(spy), "record", "--pid", str(pid), "--duration", str(int(seconds)), "--rate", str(PROFILE_HZ)]
    subprocess.run([*cmd, "--nonblocking", "--format", "raw", "--output", str(out)], check=True, capture_output=True)
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = busy = 0
    for line in out.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        count = int(count_text)
        frames = [_LINE.sub(")", frame) for frame in stack.split(";")]  # per function, not per line
        samples += count
        own[frames[-1]] += count
        if not frames[-1].startswith(_IDLE):
            busy += count
        for frame in set(frames):
            total[frame] += count
    busy = busy or 1
    lines = [f"{samples} samples ({busy} busy); top self (% of all, % of busy):"]
    for f, n in own.most_common(TOP_SELF):
        of_busy = "idle" if f.startswith(_IDLE) else f"{100 * n / busy:5.1f} %"
        lines.append(f"  {100 * n / samples:5.1f} % {of_busy:>7}  {f}")
    lines += ["top total:"] + [f"  {100 * n / samples:5.1f} %  {f}" for f, n in total.most_common(TOP_TOTAL)]
    return lines


def loop_turns(pid: int, seconds: float, adverts_per_s: float) -> float | None:
    """Event-loop turns (``epoll_wait`` calls, counted by ``strace -c``) per advert; None without strace."""
    strace = shutil.which("strace")
    if strace is None:
        return None
    counting = subprocess.Popen(
        [strace, "-c", "-f", "-e", "trace=epoll_wait", "-p", str(pid)], stderr=subprocess.PIPE, text=True
    )
    time.sleep(seconds)
    counting.send_signal(signal.SIGINT)
    summary = counting.communicate(timeout=30)[1]
    calls = next((int(row.split()[3]) for row in summary.splitlines() if row.endswith(" epoll_wait")), 0)
    return round(calls / (adverts_per_s * seconds), 2)
