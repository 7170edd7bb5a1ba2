"""CPU of the gateway at real time, one advertisement at a time: µs of CPU per advert and idle CPU %,
each beside a bare ``BleakScanner`` on the same fake BlueZ in the same run.

``edge replay`` (batch) costs ~7 µs per advert; a gateway runs in real time, where every advert
arrives alone. This measures that path, as ``edge run`` (a child process, no broker, no screen)
runs it:

- **bleak**: ``ble.backend = "bleak"`` against the fake BlueZ (python-dbusmock's ``bluez5`` on a
  private D-Bus, tests/fake_bluez.py): bleak's BlueZ backend and dbus-fast decode every
  ``PropertiesChanged`` signal for real. The crowd (tests/bluez_feed.py: 90 % unrostered phones,
  10 % rostered shoppers on the roster the gateway is given) is fed at each ``--rates`` for
  ``--seconds`` after ``--warmup``. Peer, in the same run on the same signals: a bare
  ``BleakScanner`` (same passive patterns) with a no-op callback, in its own process, started
  before the gateway, and a second one started after it (the order they subscribe in costs a
  few per cent: the ratio is taken against the mean of the two; ``--no-bracket``: the first
  alone). CPU is
  user + system of each process (all its threads) from the process's CPU clock (nanoseconds; the
  clock ticks of ``/proc/PID/stat`` beside it as a check), the feed's and the mock's not counted.
  Each rate's window is ``--pairs`` consecutive pairs (both processes over the same seconds of
  the same signals): the ratio is the median of the pairs' ratios, their spread and the load
  average at each pair's end beside it (benchmarks/realtime/pairs.py). Goal: the gateway costs
  ≤ 1.3× the bare scanner.
- **replay**: ``ble.backend = "replay"`` at ``speed = 1`` over a trace of the same crowd at each
  rate (its shoppers in four zones, one scanner each): goal ≤ 20 µs of CPU per advert.
- **idle**: the bleak gateway with nobody in the store for ``--idle`` s (the scanner watchdog's
  restart after 30 s of silence included, as at night): goal ≤ 0.5 % of a core.

The fake BlueZ offers the AdvertisementMonitor API, so both scan passively; it forwards every
advert (real BlueZ in passive mode drops the third of the phones whose payloads match no pattern
before D-Bus; in active mode, BlueZ's default without ``--experimental``, it forwards them all).

After each window, ``strace -c`` (where installed) counts the event loop's turns (``epoll_wait``
calls) per advert for ``--turns-seconds``, one ``strace`` per process, the gateway and the bare
scanners traced over the same seconds (``bare_turns``: the bare scanners' mean). Tracing slows a
process so it reads more messages per wake-up (0.59-0.66 turns per advert traced against 0.71-0.79
untraced at 3,000/s), and by how much moves with what else runs: the two columns compare with each
other, not with an untraced count (``python -m benchmarks.realtime.turns`` counts in-process).
``--profile DIR`` then records the gateway with py-spy (``--nonblocking``, raw collapsed stacks) at
``--profile-rates`` (default: the middle rate), bleak and replay, and prints the top functions by self
and total samples. Each row carries the 1-minute load average at the end of its window (the machine is shared).
``--against DIR`` runs a second ``edge run`` from another checkout (e.g. ``git archive`` of an older
commit) beside the first on the bleak path, in the same pairs: before and after a change measured
over the same seconds, each against the same bare scanner; ``--tree DIR`` runs the first one from
another checkout too, so the two can swap places between runs (the second-registered of two
gateways reads a few per cent higher: swap, and compare each with itself).

    python benchmarks/realtime_cost.py [--rates 200 800 3000] [--seconds 60] [--pairs 6] [--idle 30] [--quick]
                                       [--only bleak|replay] [--profile DIR [--profile-rates 800 3000]]
                                       [--tree DIR] [--against DIR]

The parts live in ``benchmarks/realtime/`` (processes and their CPU, the bare peer, the scenarios,
the probes, the table). ``python -m benchmarks.realtime.split`` splits the gap the same way, inside
the gateway's process: bare scanners and gateway variants (bleak's callback only counting, only asking
the admission question, or the whole gateway) over the same seconds. Findings, before and after
each change, with profiles and the projection to a Raspberry Pi: docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.realtime.scenarios import run_bleak, run_replay
from benchmarks.realtime.table import print_table, report_figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", type=int, nargs="+", default=[200, 800, 3000], help="adverts/s")
    parser.add_argument("--seconds", type=float, default=60.0, help="steady window per rate")
    parser.add_argument("--pairs", type=int, default=6, help="pairs the steady window is cut into (bleak)")
    parser.add_argument("--warmup", type=float, default=5.0, help="before each window")
    parser.add_argument("--idle", type=float, default=30.0, help="idle window (nobody in the store)")
    parser.add_argument("--settle", type=float, default=3.0, help="after READY=1, before the idle window")
    parser.add_argument("--only", choices=["bleak", "replay"], default=None, help="one of the two paths")
    parser.add_argument("--profile", type=Path, default=None, help="py-spy the gateway into DIR")
    parser.add_argument("--profile-rates", type=int, nargs="+", default=None, help="rates to profile (the middle)")
    parser.add_argument("--profile-seconds", type=float, default=20.0)
    parser.add_argument("--turns-seconds", type=float, default=5.0, help="strace count of loop turns per rate")
    parser.add_argument("--tree", type=Path, default=None, help="the gateway's checkout (default: this one)")
    parser.add_argument("--against", type=Path, default=None, help="a second gateway from this checkout, same pairs")
    parser.add_argument("--no-bracket", action="store_true", help="no second bare scanner after the gateway")
    parser.add_argument("--quick", action="store_true", help="3 s windows, 1 s warm-up")
    args = parser.parse_args()
    if args.pairs < 1:
        parser.error("--pairs must be >= 1")
    if args.quick:
        args.seconds, args.warmup, args.idle, args.settle, args.turns_seconds = 3.0, 1.0, 3.0, 1.0, 1.0
        args.pairs = 3
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    if args.profile_rates is None:
        args.profile_rates = [args.rates[len(args.rates) // 2]]
    args.profile_lines = {}
    start = time.time() - 60.0
    idle = None
    bleak_rows, replay_rows = [], []
    with tempfile.TemporaryDirectory(prefix="edge-realtime-") as name:
        tmp = Path(name)
        if args.only != "replay":
            idle, bleak_rows = run_bleak(tmp, args, start)
        if args.only != "bleak":
            replay_rows = run_replay(tmp, args, start)
    print_table(bleak_rows, replay_rows, idle, args.profile_lines)
    report_figures(bleak_rows, replay_rows, idle, args.seconds)


if __name__ == "__main__":
    main()
