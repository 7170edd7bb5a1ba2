"""Where the gateway's CPU per advert goes, measured in its own process on the real path: bare
``BleakScanner``\\ s and ``edge run`` variants (benchmarks/realtime/variant.py) on the same fake BlueZ,
fed the same crowd, over the same seconds.

    python -m benchmarks.realtime.split [--rate 3000] [--pairs 8] [--seconds 8]
                                        [--order bare admit full full admit bare]

Each name in ``--order`` is one process, started in that order: ``bare`` (benchmarks/realtime/peer.py),
``noop`` (the gateway, its callback only counting), ``pre`` (the callback's lines before the admission
question), ``admit`` (the callback asking the admission question, nothing built or handled), ``late``
(the whole gateway asking in bleak's callback, after bleak built its objects, as before the seventh
pass) and ``full`` (the gateway as it is, asking before bleak's own handling). The later-started of two identical
processes reads higher (docs/performance.md, fourth pass), so the default order is symmetric: each
variant's mean over its two places cancels a linear effect of the place. Each process's CPU is divided
by the mean of the first and the last process's (bare scanners) in each pair; the median over the pairs
is printed for each process and, for a name that appears twice, the mean of its two medians.
``KIND@DIR`` runs that variant from another checkout (``git archive`` of an older commit): before and
after a change to the callback, each in two mirrored places, e.g. ``bare admit@OLD admit admit
admit@OLD bare``.
``late - admit`` is then what building, queueing and handling the admitted tenth costs (the writer),
``admit - 1`` what the question asked of every advert costs, ``late - full`` what asking before bleak
builds anything saves, ``noop - 1`` what the gateway process
costs doing nothing per advert. Last stdout line: one JSON object."""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent.parent))

from benchmarks.realtime.processes import ROOT, Child, Reporter, gateway, measure
from benchmarks.realtime.scenarios import SEED, fake_store, write_config
from tests.bluez_feed import Crowd

KINDS = ("bare", "noop", "pre", "admit", "late", "full")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=int, default=3000, help="adverts/s")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0, help="per pair")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument(
        "--order", nargs="+", default=["bare", "admit", "full", "full", "admit", "bare"], help="KIND or KIND@DIR"
    )
    args = parser.parse_args()
    if any(entry.partition("@")[0] not in KINDS for entry in args.order):
        parser.error(f"--order: each one of {', '.join(KINDS)}, optionally @DIR")
    if args.order[0] != "bare" or args.order[-1] != "bare":
        parser.error("--order must start and end with bare (the ratio's denominator)")

    start = time.time() - 60.0
    crowd = Crowd(SEED, start, args.rate)
    # a name per process: its place and kind, and which checkout (@1, @2...: the order's own trees)
    trees = list(dict.fromkeys(entry.partition("@")[2] for entry in args.order if "@" in entry))
    names = [
        f"{i}-{kind}" + (f"@{trees.index(tree) + 1}" if tree else "")
        for i, (kind, _, tree) in enumerate(entry.partition("@") for entry in args.order)
    ]
    with tempfile.TemporaryDirectory(prefix="edge-split-") as directory, contextlib.ExitStack() as running:
        tmp = Path(directory)
        env = fake_store(running, tmp, crowd)
        children: list[Child] = []
        for name, entry in zip(names, args.order, strict=True):
            kind, _, tree = entry.partition("@")
            if kind == "bare":
                peer = Reporter(name, [sys.executable, "-m", "benchmarks.realtime.peer"], env)
                running.callback(peer.child.stop)
                children.append(peer.child)
            else:
                config = write_config(tmp, backend="bleak", tag=f"-{name}")
                launcher = (str(Path(__file__).with_name("variant.py")), kind)  # a script: edge from `where`
                where = Path(tree) if tree else ROOT
                children.append(running.enter_context(gateway(config, env, tree=where, name=name, launcher=launcher)))
        bus = env["DBUS_SYSTEM_BUS_ADDRESS"]
        feed_argv = [sys.executable, "-m", "tests.bluez_feed", bus, str(SEED), str(start), str(args.rate)]
        feed = Reporter("feed", feed_argv, env)
        running.callback(feed.child.stop)
        time.sleep(args.warmup)
        windows = [measure(children, args.seconds, feed) for _ in range(args.pairs)]
    ratios: dict[str, list[float]] = defaultdict(list)
    for w in windows:
        base = (w.cpu_s[names[0]] + w.cpu_s[names[-1]]) / 2
        for name in names:
            ratios[name].append(w.cpu_s[name] / base)
        print(f"load {w.load:5.2f}  " + "  ".join(f"{n} {ratios[n][-1]:.3f}" for n in names), flush=True)
    medians = {n: round(statistics.median(r), 3) for n, r in ratios.items()}
    by_kind: dict[str, list[float]] = defaultdict(list)
    for name in names:
        by_kind[name.partition("-")[2]].append(medians[name])
    kinds = {k: round(statistics.fmean(v), 3) for k, v in by_kind.items()}
    adverts = statistics.fmean(w.adverts / w.seconds for w in windows)
    bare_us = statistics.fmean(1e6 * (w.cpu_s[names[0]] + w.cpu_s[names[-1]]) / 2 / w.adverts for w in windows)
    for number, tree in enumerate(trees, 1):
        print(f"@{number}: {tree}")
    print(f"medians {medians}\nby kind (mean over places) {kinds}; bare {bare_us:.1f} µs/advert at {adverts:.0f}/s")
    figures = {
        "benchmark": "realtime_split",
        "rate": args.rate,
        "achieved_per_s": round(adverts, 1),
        "bare_us": round(bare_us, 1),
        "medians": medians,
        "by_kind": kinds,
        "loads": [round(w.load, 2) for w in windows],
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
