"""Where a process's event-loop turns come from, counted inside it: ``edge run`` (or a bare
``BleakScanner``, benchmarks/realtime/peer.py) on the fake BlueZ at one rate, with asyncio's
``BaseEventLoop._run_once``, ``Handle._run`` and ``EpollSelector.select`` wrapped to count, over one
window:

- turns (``_run_once`` calls: one ``epoll_wait`` each) per advert and per second;
- what each turn ran first (the callback that the turn exists for: a reader, a timer, a task step
  scheduled by the previous turn), by qualname, per second;
- what woke ``select``: the reader whose fd was ready (dbus-fast's, the self-pipe of
  ``call_soon_threadsafe``), a timeout (a timer was due), or nothing to wait for (the previous turn
  left ready handles: ``select(0)``);
- every handle run, by qualname, per second, and how many handles a turn ran.

    python -m benchmarks.realtime.turns [--rate 3000] [--seconds 10] [--warmup 5] [--kinds bare full]

The counting costs CPU (a Python frame per handle), so no CPU figure is printed: the counts are the
result. A slower loop batches more per turn, so turns per advert are if anything undercounted, for
both processes alike. Last stdout line: one JSON object.

Launcher (what the driver runs): ``python benchmarks/realtime/turns.py gw OUT edge-run-args...`` or
``... bare OUT``; SIGUSR2 writes the counts since the previous SIGUSR2 to OUT (JSON) and starts over."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import selectors
import signal
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

TOP = 12
"""Rows per table: the rest are under 1 % of turns at 3,000/s."""
DUMP_WAIT_S = 10.0
"""How long the driver waits for a process to write its counts after SIGUSR2 (a loaded VM)."""


class _Counts:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.since = time.monotonic()
        self.turns = 0
        self.in_turn = 0
        self.first: Counter[str] = Counter()
        self.handles: Counter[str] = Counter()
        self.per_turn: Counter[int] = Counter()
        self.woke: Counter[str] = Counter()

    def dump(self) -> dict[str, Any]:
        return {
            "seconds": time.monotonic() - self.since,
            "turns": self.turns,
            "first": dict(self.first),
            "handles": dict(self.handles),
            "per_turn": {str(k): v for k, v in sorted(self.per_turn.items())},
            "woke": dict(self.woke),
        }


def _label(callback: Any) -> str:
    if isinstance(callback, functools.partial):
        return "partial:" + _label(callback.func)
    owner = getattr(callback, "__self__", None)
    if isinstance(owner, asyncio.Task):
        coro = owner.get_coro()
        return f"task:{getattr(coro, '__qualname__', type(coro).__name__)}"
    name = getattr(callback, "__qualname__", None) or type(callback).__qualname__
    module = getattr(callback, "__module__", None) or ""
    return f"{module.split('.')[0]}:{name}" if module else name


def install(out: Path, *, light: bool = False) -> None:
    """Wrap asyncio's loop turn, handle run and epoll select to count; SIGUSR2 dumps to ``out``.
    ``light``: the turn only (one frame per turn, not per handle: the least perturbed count)."""
    from asyncio import base_events, events

    counts = _Counts()
    run_once = base_events.BaseEventLoop._run_once  # type: ignore[attr-defined]
    handle_run = events.Handle._run
    select = selectors.EpollSelector.select

    def counted_run_once(self: Any) -> None:
        counts.turns += 1
        counts.in_turn = 0
        run_once(self)
        counts.per_turn[min(counts.in_turn, 10)] += 1

    def counted_handle_run(self: events.Handle) -> None:
        name = _label(self._callback)  # type: ignore[attr-defined]
        if isinstance(self, events.TimerHandle):
            name = "timer " + name
        counts.handles[name] += 1
        if counts.in_turn == 0:
            counts.first[name] += 1
        counts.in_turn += 1
        handle_run(self)

    def counted_select(self: selectors.EpollSelector, timeout: float | None = None) -> Any:
        ready = select(self, timeout)
        if not ready:
            counts.woke["(nothing: select(0), ready handles left)" if timeout == 0 else "(timeout: a timer)"] += 1
        for key, _ in ready:
            reader = key.data[0] if isinstance(key.data, tuple) else None
            counts.woke["fd " + (_label(reader._callback) if reader is not None else repr(key.data))] += 1
        return ready

    def on_usr2(_signum: int, _frame: object) -> None:
        out.write_text(json.dumps(counts.dump()))
        counts.reset()

    base_events.BaseEventLoop._run_once = counted_run_once  # type: ignore[attr-defined]
    if not light:
        events.Handle._run = counted_handle_run  # type: ignore[method-assign]
        selectors.EpollSelector.select = counted_select  # type: ignore[method-assign,assignment]
    signal.signal(signal.SIGUSR2, on_usr2)


def launch(argv: list[str]) -> int:
    kind, out, rest = argv[0], Path(argv[1]), argv[2:]
    install(out, light=os.environ.get("EDGE_TURNS_LIGHT") == "1")
    if kind == "bare":
        from benchmarks.realtime import peer

        peer.main()
        return 0
    from edge.cli import main

    return main(rest)


def _table(title: str, counter: dict[str, int], seconds: float, turns: int) -> list[str]:
    rows = sorted(counter.items(), key=lambda kv: -kv[1])[:TOP]
    lines = [f"  {title}:"]
    lines += [f"    {n / seconds:8.1f}/s {100 * n / max(turns, 1):5.1f} % of turns  {name}" for name, n in rows]
    return lines


def drive() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=3000, help="adverts/s")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--kinds", nargs="+", default=["bare", "full"], choices=["bare", "full"])
    parser.add_argument("--light", action="store_true", help="count turns only (no per-handle tables)")
    parser.add_argument(
        "--strace",
        action="store_true",
        help="also count epoll_wait (strace -c -f), same window",
    )
    args = parser.parse_args()
    from benchmarks.realtime.probes import loop_turns
    from benchmarks.realtime.processes import Child, Reporter, gateway
    from benchmarks.realtime.scenarios import SEED, fake_store, write_config
    from tests.bluez_feed import Crowd

    start = time.time() - 60.0
    crowd = Crowd(SEED, start, args.rate)
    script = str(Path(__file__).resolve())
    with tempfile.TemporaryDirectory(prefix="edge-turns-") as directory, contextlib.ExitStack() as running:
        tmp = Path(directory)
        env = fake_store(running, tmp, crowd)
        env["EDGE_TURNS_LIGHT"] = "1" if args.light else "0"
        children: list[tuple[Child, Path]] = []
        for i, kind in enumerate(args.kinds):
            out = tmp / f"{i}-{kind}.json"
            if kind == "bare":
                peer = Reporter(f"{i}-bare", [sys.executable, script, "bare", str(out)], env)
                running.callback(peer.child.stop)
                children.append((peer.child, out))
            else:
                config = write_config(tmp, backend="bleak", tag=f"-{i}")
                launcher = (script, "gw", str(out))
                children.append((running.enter_context(gateway(config, env, name=f"{i}-full", launcher=launcher)), out))
        bus = env["DBUS_SYSTEM_BUS_ADDRESS"]
        feed_argv = [sys.executable, "-m", "tests.bluez_feed", bus, str(SEED), str(start), str(args.rate)]
        feed = Reporter("feed", feed_argv, env)
        running.callback(feed.child.stop)
        time.sleep(args.warmup)
        for child, _ in children:
            child.process.send_signal(signal.SIGUSR2)  # start counting
        sent0 = int(feed.ask()[0])
        straced: dict[str, float | None] = {}
        with ThreadPoolExecutor(len(children)) as pool:
            if args.strace:
                rate = float(args.rate)
                jobs = {c.name: pool.submit(loop_turns, c.process.pid, args.seconds, rate) for c, _ in children}
            time.sleep(args.seconds)
            sent1 = int(feed.ask()[0])
            if args.strace:
                straced = {name: job.result() for name, job in jobs.items()}
        for child, out in children:
            out.unlink(missing_ok=True)
            child.process.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + DUMP_WAIT_S
        results: dict[str, dict[str, Any]] = {}
        for child, out in children:
            while not out.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.1)  # the write is one call; let it end
            results[child.name] = json.loads(out.read_text())
    adverts_per_s = (sent1 - sent0) / args.seconds
    summary: dict[str, Any] = {"benchmark": "realtime_turns", "rate": args.rate, "sent_per_s": round(adverts_per_s)}
    for name, r in results.items():
        s, turns = r["seconds"], r["turns"]
        summary[name] = {
            "turns_per_s": round(turns / s),
            "turns_per_advert": round(turns / s / adverts_per_s, 3),
            "first_per_s": {k: round(v / s, 1) for k, v in sorted(r["first"].items(), key=lambda kv: -kv[1])[:TOP]},
            "woke_per_s": {k: round(v / s, 1) for k, v in sorted(r["woke"].items(), key=lambda kv: -kv[1])[:TOP]},
        }
        line = (
            f"{name}: {turns / s:.0f} turns/s, {turns / s / adverts_per_s:.3f} per advert sent ({adverts_per_s:.0f}/s)"
        )
        if name in straced:
            summary[name]["strace_epoll_wait_per_advert"] = straced[name]
            line += f"; strace -c epoll_wait: {straced[name]} per advert"
        print(line)
        if not r["handles"]:
            continue  # --light: the turns only
        print("  handles per turn: " + ", ".join(f"{k}: {100 * v / turns:.1f} %" for k, v in r["per_turn"].items()))
        for title, key in (
            ("what woke select", "woke"),
            ("first handle of the turn", "first"),
            ("all handles", "handles"),
        ):
            print("\n".join(_table(title, r[key], s, turns)))
    print(json.dumps(summary))


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] in ("gw", "bare"):
        raise SystemExit(launch(sys.argv[1:]))
    drive()
