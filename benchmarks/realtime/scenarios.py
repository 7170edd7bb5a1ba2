"""What the benchmark runs: ``edge run`` on bleak's BlueZ path against the fake BlueZ beside the bare
peer, fed the crowd at each rate (tests/bluez_feed.py), and ``edge run`` replaying a trace of the same
crowd at real time. Each returns its rows (one per rate)."""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sqlite3
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchmarks.realtime.pairs import summary, with_mean
from benchmarks.realtime.probes import loop_turns, profile
from benchmarks.realtime.processes import ROOT, Child, Reporter, gateway, load_average, measure
from edge.beacons.advert import Advertisement
from edge.trace import header_line, item_line
from tests.bluez_feed import ZONES, Crowd

SEED = 7
SCANNERS = tuple(f"scn-{chr(ord('a') + z)}" for z in range(ZONES))
GATEWAY = "edge run"
BARE = "bare BleakScanner"
BARE_AFTER = "bare BleakScanner, started after"
"""A second bare scanner, started after the gateway(s), so its D-Bus match comes after theirs (the
first one's comes before): the ratio's denominator is the mean of the two (benchmarks/realtime/pairs.py)."""
BARE_MEAN = "bare BleakScanners, mean"
AGAINST = "edge run (--against)"
"""A second gateway from another checkout (``--against DIR``), measured in the same pairs."""


def write_config(directory: Path, *, backend: str, trace: str | None = None, tag: str = "") -> Path:
    zones = "".join(f'\n[[zones]]\nid = "zone-{s[-1]}"\nscanners = ["{s}"]\n' for s in SCANNERS)
    ble = f'backend = "replay"\ntrace = "{trace}"\nspeed = 1.0\n' if backend == "replay" else (
        f'backend = "bleak"\nscanner = "{SCANNERS[0]}"\n'
    )  # fmt: skip
    path = directory / f"edge-{backend}-{trace or 'live'}{tag}.toml"
    path.write_text(
        f'[gateway]\nstore = "store-1"\ngateway = "gw-1"\nstate_dir = "state-{path.stem}"\n'
        f'roster_file = "roster.json"\n\n[ble]\n{ble}{zones}'
    )
    return path


def write_trace(path: Path, crowd: Crowd, start: float, seconds: int) -> None:
    """``seconds`` of the crowd, each rostered shopper at the scanner of its zone."""
    rng = random.Random(SEED)
    with path.open("wb") as out:
        out.write(header_line(start))
        for second in range(seconds):
            for offset, index in crowd.schedule:
                a = crowd.advertisers[index]
                at = start + second + offset
                advert = Advertisement(
                    at=at,
                    scanner=SCANNERS[a.zone],
                    address=a.address,
                    rssi=crowd.rssi(index, at, rng),
                    manufacturer_data=a.manufacturer_data,
                    service_data=a.service_data,
                )
                out.write(item_line(advert, start))


def outbox_types(config: Path) -> dict[str, int]:
    """Events by type in the outbox of the gateway run with ``config``: proof the roster resolved."""
    database = next(config.parent.joinpath(f"state-{config.stem}").glob("*.sqlite"), None)
    if database is None:
        return {}
    with contextlib.closing(sqlite3.connect(database)) as db:
        return {
            kind.removeprefix("edge."): n for kind, n in db.execute("SELECT type, count(*) FROM outbox GROUP BY type")
        }


def _profiled(args: argparse.Namespace, rate: int) -> bool:
    return bool(args.profile) and rate in args.profile_rates


def _turns_together(
    edge_run: Child, children: list[Child], seconds: float, rate: int
) -> tuple[float | None, float | None]:
    """Loop turns per advert of the gateway and of the bare scanners (their mean), each counted by its own
    ``strace`` over the same seconds: tracing slows a process so it reads more per wake-up, and by how
    much moves with what else runs, so one process traced after the other is no comparison."""
    bares = [c for c in children if c.name in (BARE, BARE_AFTER)]
    traced = [edge_run, *bares]
    with ThreadPoolExecutor(len(traced)) as pool:
        jobs = [pool.submit(loop_turns, c.process.pid, seconds, rate) for c in traced]
        counts = [job.result() for job in jobs]
    if counts[0] is None or None in counts[1:]:
        return None, None  # no strace
    bare = [c for c in counts[1:] if c is not None]
    return counts[0], round(sum(bare) / len(bare), 2)


def fake_store(running: contextlib.ExitStack, tmp: Path, crowd: Crowd) -> dict[str, str]:
    """The crowd's roster in ``tmp`` and a fake BlueZ (one adapter, the crowd's devices) kept up by
    ``running``: the environment that points a child process at it (split.py, turns.py)."""
    from tests.fake_bluez import FakeBlueZ

    (tmp / "roster.json").write_bytes(crowd.roster())
    (tmp / "bluez").mkdir()
    fake = running.enter_context(FakeBlueZ(tmp / "bluez"))
    fake.add_adapter()
    crowd.add_devices(fake)
    return {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": fake.address, "PYTHONPATH": str(ROOT)}


def run_bleak(tmp: Path, args: argparse.Namespace, start: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Idle, then each rate: the gateway and the bare peer on the same signals. (idle figures, rows)"""
    from tests.fake_bluez import FakeBlueZ

    biggest = Crowd(SEED, start, max(args.rates))
    (tmp / "roster.json").write_bytes(biggest.roster())
    work = tmp / "bluez"
    work.mkdir()
    with FakeBlueZ(work) as fake:
        fake.add_adapter()
        began = time.monotonic()
        biggest.add_devices(fake)
        print(f"fake BlueZ: {len(biggest.advertisers)} devices added in {time.monotonic() - began:.1f} s", flush=True)
        env = {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": fake.address, "PYTHONPATH": str(ROOT)}
        config = write_config(tmp, backend="bleak")
        peer = Reporter(BARE, [sys.executable, "-m", "benchmarks.realtime.peer"], env)
        try:
            with contextlib.ExitStack() as running:
                edge_run = running.enter_context(gateway(config, env, tree=args.tree or ROOT))
                children = [edge_run, peer.child]
                if args.against:
                    other = write_config(tmp, backend="bleak", tag="-against")
                    children.append(running.enter_context(gateway(other, env, tree=args.against, name=AGAINST)))
                if not args.no_bracket:
                    after = Reporter(BARE_AFTER, [sys.executable, "-m", "benchmarks.realtime.peer"], env)
                    running.callback(after.child.stop)
                    children.append(after.child)
                time.sleep(args.settle)
                idle_window = measure(children, args.idle, None)
                idle: dict[str, Any] = {
                    "gateway_pct": idle_window.pct(GATEWAY),
                    "bare_pct": idle_window.pct(BARE),
                    "load": round(idle_window.load, 2),
                }
                if args.against:
                    idle["against_pct"] = idle_window.pct(AGAINST)
                rows = []
                for rate in args.rates:
                    feed_argv = [sys.executable, "-m", "tests.bluez_feed", fake.address, str(SEED), str(start)]
                    feed = Reporter("feed", [*feed_argv, str(rate)], env)
                    try:
                        heard0 = int(peer.ask()[0])
                        time.sleep(args.warmup)
                        windows = [measure(children, args.seconds / args.pairs, feed) for _ in range(args.pairs)]
                        lag = float(feed.ask()[2])
                        turns, bare_turns = _turns_together(edge_run, children, args.turns_seconds, rate)
                        if _profiled(args, rate):
                            out = args.profile / f"bleak-{rate}.txt"
                            args.profile_lines[f"bleak at {rate}/s"] = profile(
                                edge_run.process.pid, args.profile_seconds, out
                            )
                    finally:
                        feed.child.stop()
                    bares = (BARE,) if args.no_bracket else (BARE, BARE_AFTER)
                    windows = with_mean(windows, BARE_MEAN, bares)
                    rows.append(
                        {
                            "rate": rate,
                            **summary(windows, GATEWAY, BARE_MEAN),
                            "feed_max_lag_s": round(lag, 4),
                            "peer_heard": int(peer.ask()[0]) - heard0,
                            "gateway_turns": turns,
                            "bare_turns": bare_turns,
                        }
                    )
                    early = summary(windows, GATEWAY, BARE)
                    rows[-1].update({"bare_before_us": early["bare_us"], "ratio_before": early["ratio"]})
                    if not args.no_bracket:
                        late = summary(windows, GATEWAY, BARE_AFTER)
                        rows[-1].update({"bare_after_us": late["bare_us"], "ratio_after": late["ratio"]})
                        rows[-1]["after_over_before"] = summary(windows, BARE_AFTER, BARE)["ratio"]
                    if args.against:
                        theirs = summary(windows, AGAINST, BARE_MEAN)
                        keys = ("gateway_us", "ratio", "ratio_min", "ratio_max", "ratio_whole", "ratio_pairs")
                        rows[-1]["against"] = {key: theirs[key] for key in keys}
                    print(f"bleak {rate}/s: {rows[-1]}", flush=True)
        finally:
            peer.child.stop()
    idle["outbox"] = outbox_types(config)
    print(f"bleak gateway's outbox: {idle['outbox']}", flush=True)
    if args.against:
        print(f"--against gateway's outbox: {outbox_types(write_config(tmp, backend='bleak', tag='-against'))}")
    return idle, rows


def run_replay(tmp: Path, args: argparse.Namespace, start: float) -> list[dict[str, Any]]:
    """Each rate: ``edge run`` replaying the crowd's trace at ``speed = 1``."""
    rows = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    roster = tmp / "roster.json"
    if not roster.exists():
        roster.write_bytes(Crowd(SEED, start, max(args.rates)).roster())
    for rate in args.rates:
        crowd = Crowd(SEED, start, rate)
        trace = f"trace-{rate}.jsonl"
        profiled = _profiled(args, rate)
        spare = args.turns_seconds + (args.profile_seconds + 2 if profiled else 0)
        write_trace(tmp / trace, crowd, time.time(), int(args.settle + args.warmup + args.seconds + spare + 10))
        config = write_config(tmp, backend="replay", trace=trace)
        with gateway(config, env) as edge_run:
            time.sleep(args.warmup)
            w = measure([edge_run], args.seconds, None)
            turns = loop_turns(edge_run.process.pid, args.turns_seconds, crowd.rate)
            if profiled:
                out = args.profile / f"replay-{rate}.txt"
                args.profile_lines[f"replay at {rate}/s"] = profile(edge_run.process.pid, args.profile_seconds, out)
        adverts = round(crowd.rate * w.seconds)
        rows.append(
            {
                "rate": rate,
                "gateway_pct": round(w.pct(GATEWAY), 2),
                "gateway_us": round(1e6 * w.cpu_s[GATEWAY] / adverts, 1),
                "gateway_sys_share": round(w.sys_share(GATEWAY), 2),
                "gateway_turns": turns,
                "load": round(w.load, 2),
            }
        )
        print(f"replay {rate}/s: {rows[-1]}; outbox: {outbox_types(config)}; load {load_average():.2f}", flush=True)
    return rows
