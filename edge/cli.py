"""The ``edge`` command line: demo, run, replay, record, vision, bench (and provision, doctor, calibrate).

SIGINT and SIGTERM end ``demo``, ``run`` and ``replay`` cleanly within 5 s in any state (see
:mod:`edge.shutdown`): ``demo`` and ``run`` exit 0 (stopping is how they end), ``replay``
130 or 143 (its output is cut short); a second signal forces the exit at once. A reader of
``replay``'s stdout that goes away (``edge replay TRACE | head``) stops it the same way, without a
traceback: exit 141, 128 + SIGPIPE, as a shell reports a pipeline's writer killed by it; any other
command whose stdout reader goes away exits 141 too, without a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import signal
import sys
from pathlib import Path

from edge import __version__
from edge.config import Config, load
from edge.errors import EdgeError, TraceError
from edge.events import Event
from edge.shutdown import Shutdown, handling

log = logging.getLogger("edge")

EXIT_USAGE = 2
"""Exit code for bad input (a bad trace line, config or argument), as argparse uses."""
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE
"""``edge replay`` whose stdout reader went away (141): its output is cut short, as by a signal."""
DEMO_ENGINES: tuple[str, ...] = ("threshold", "model", "grid")
"""``edge demo --engine``: the values of ``[presence] engine`` (edge.sim.store.Engine; not imported here, so
``edge --help`` does not load the simulator)."""


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _stdout_gone() -> None:
    """stdout's reader went away: what is still buffered, and the interpreter's last flush, go to /dev/null
    (else they raise BrokenPipeError again, at exit, with a traceback)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _config(path: str | None) -> Config:
    if path is None:
        from edge.sim.store import default_config

        return default_config()
    return load(Path(path), trace_given=True)  # TRACE is the trace: ble.trace may be absent


def _cmd_replay(args: argparse.Namespace) -> int:
    from edge import app
    from edge.beacons.replay import ReplaySource

    config = _config(args.config)
    source = ReplaySource(Path(args.trace), speed=None, strict=True)
    out = sys.stdout.buffer
    factory_source = f"urn:edge:{config.gateway.store}:{config.gateway.gateway}"
    stops: list[asyncio.Event] = []
    reader_gone = False

    def gone() -> None:
        """The reader closed the pipe: stop the replay as a signal would, and send what is left nowhere."""
        nonlocal reader_gone
        reader_gone = True
        for stop in stops:
            stop.set()
        _stdout_gone()

    def sink(event: Event) -> None:
        if reader_gone:
            return
        try:
            out.write(event.to_json(factory_source) + b"\n")
        except BrokenPipeError:
            gone()

    rng = random.Random(f"edge-replay:{source.start}")  # noqa: S311 - ids, not secrets: same trace, same ids

    async def replay(shutdown: Shutdown, state_dir: Path | None) -> None:
        stop = shutdown.stop_event()
        stops.append(stop)
        await app.run(config, source, sinks=[sink], fast=True, rng=rng, state_dir=state_dir, stop=stop)

    with handling() as shutdown:
        if config.gateway.state_dir:
            asyncio.run(replay(shutdown, None))
        else:
            with app.temporary_state() as state:
                shutdown.cleanup.append(Path(state))
                asyncio.run(replay(shutdown, Path(state)))
        if not reader_gone:
            try:
                out.flush()
            except BrokenPipeError:
                gone()
    if reader_gone:
        return EXIT_BROKEN_PIPE
    # Stopped by SIGINT/SIGTERM: what was committed is on stdout, the rest of the trace is not (130/143).
    return shutdown.exit_code


def _cmd_run(args: argparse.Namespace) -> int:
    # edge.ops.run: systemd notify (READY/WATCHDOG/STOPPING), metrics, remote config overrides.
    from edge.ops.run import run_gateway

    return run_gateway(Path(args.config))


def _cmd_demo(args: argparse.Namespace) -> int:
    from edge.demo import run_demo

    return run_demo(
        seconds=args.seconds,
        speed=args.speed,
        seed=args.seed,
        broker=args.broker,
        headless=Path(args.headless) if args.headless else None,
        screen=args.screen,
        windowed=args.windowed,
        engine=args.engine,
    )


def _cmd_record(args: argparse.Namespace) -> int:
    from edge.commands.record import run_record

    return run_record(
        out=Path(args.out),
        seconds=args.seconds,
        config=load(Path(args.config)) if args.config else None,
        roster=Path(args.roster) if args.roster else None,
        everything=args.all,
    )


def _cmd_vision_enroll(args: argparse.Namespace) -> int:
    import json

    from edge.vision.enroll import enroll

    print(json.dumps(enroll(Path(args.image))))
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from edge.commands.bench import command

    return command(args.only or (), quick=args.quick, as_json=args.json, markdown_out=args.markdown)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="edge", description="instore-edge: the in-store edge gateway")
    parser.add_argument("--version", action="version", version=f"edge {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="the simulated store through the whole pipeline, in real time")
    demo.add_argument(
        "--seconds", type=_positive, default=None, help="stop after N seconds (default: run until Ctrl-C)"
    )
    demo.add_argument("--speed", type=_positive, default=1.0, help="simulation speed (1.0 = real time)")
    demo.add_argument("--seed", type=int, default=7, help="the simulated store's random seed")
    demo.add_argument(
        "--broker", default=None, metavar="URL", help="also publish to this MQTT broker (mqtt://host:1883)"
    )
    demo.add_argument("--headless", default=None, metavar="DIR", help="no window: write the screen as PNG frames here")
    demo.add_argument("--screen", default="screen-1", help="the screen to show (screen-1: baby, screen-2: drinks)")
    demo.add_argument("--windowed", action="store_true", help="a 960x540 window instead of fullscreen")
    demo.add_argument(
        "--engine",
        choices=DEMO_ENGINES,
        default="threshold",
        help="the presence engine the gateway runs ([presence] engine; the store's config carries its floor plan "
        "and scanner positions, so every one runs): %(choices)s (default: %(default)s)",
    )
    demo.set_defaults(func=_cmd_demo)

    run = sub.add_parser("run", help="the gateway daemon (systemd runs this)")
    run.add_argument("--config", required=True, help="the TOML config file")
    run.set_defaults(func=_cmd_run)

    replay = sub.add_parser("replay", help="a recorded trace as fast as possible; CloudEvents as JSON lines on stdout")
    replay.add_argument("trace", help="the trace file (JSON Lines)")
    replay.add_argument("--config", default=None, help="the TOML config (default: the simulated store's)")
    replay.set_defaults(func=_cmd_replay)

    record = sub.add_parser("record", help="record advertisements from the BLE adapter into a trace")
    record.add_argument("out", help="the trace file to write")
    record.add_argument("--seconds", type=_positive, required=True, help="how long to record")
    record.add_argument("--config", default=None, help="the TOML config (adapter, scanner id)")
    record.add_argument("--roster", default=None, help="keep only adverts that resolve against this roster")
    record.add_argument(
        "--all", action="store_true", help="keep every advert (a shielded lab only: bystanders' devices are recorded)"
    )
    record.set_defaults(func=_cmd_record)

    vision = sub.add_parser("vision", help="the consent-gated camera")
    vision_sub = vision.add_subparsers(dest="vision_command", required=True)
    enroll = vision_sub.add_parser("enroll", help="print the roster face entry (JSON) for the one face in IMAGE")
    enroll.add_argument("image", help="a photo with exactly one face")
    enroll.set_defaults(func=_cmd_vision_enroll)

    bench = sub.add_parser("bench", help="run benchmarks/ and print every figure beside its goal and peer")
    bench.add_argument("--only", nargs="+", metavar="NAME", help="just these benchmarks (e.g. parsing footprint)")
    bench.add_argument("--quick", action="store_true", help="small runs (seconds each): plumbing, not figures")
    output = bench.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON document on stdout, for machines")
    output.add_argument("--markdown", action="store_true", help="the README's markdown table on stdout")
    bench.set_defaults(func=_cmd_bench)

    from edge.ops.commands import add_commands

    add_commands(sub)  # provision, doctor, calibrate

    from edge.report.commands import add_commands as add_report_commands

    add_report_commands(sub)  # edge report lift

    from central.cli import add_commands as add_central_commands

    add_central_commands(sub)  # edge central fleet-sim | ingest | downlink | consume (central/)
    return parser


STOPPABLE = frozenset({"demo", "run", "replay"})
"""Commands whose SIGINT/SIGTERM edge.shutdown handles from the very start."""


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    command = next((word for word in words if not word.startswith("-")), None)
    if command in STOPPABLE:
        with handling():  # before the command's imports: a signal during start-up is not lost
            return _main(argv)
    return _main(argv)


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    from edge.app import setup_logging

    setup_logging(args.verbose)
    try:
        return int(args.func(args))
    except TraceError as err:
        print(f"edge {args.command}: bad trace: {err}", file=sys.stderr)
        return EXIT_USAGE
    except EdgeError as err:
        print(f"edge {args.command}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # any command's stdout reader went away (`edge report lift … | head`)
        _stdout_gone()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        return 130
