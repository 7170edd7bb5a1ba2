"""``edge central …``: the fleet side's commands, registered by :func:`add_commands` in edge/cli.py.

Only argparse is imported here: nats-py and the other ``central`` extra packages are imported when a
command runs, so ``edge`` works on a gateway that does not have them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from central import constants as c  # plain values: no extra package

MQTT_EXPIRY_MAX_S = 0xFFFF_FFFF
"""MQTT 5's largest Session Expiry Interval (a four-byte integer; this value means "never expires")."""


def _session_expiry(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MQTT_EXPIRY_MAX_S:
        # 0 would end the session at each disconnect: the events queued for the bridge meanwhile would be lost.
        raise argparse.ArgumentTypeError(f"{value}: give 1 to {MQTT_EXPIRY_MAX_S} seconds")
    return value


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _metrics(port: int | None, registry: Any) -> None:
    if port is not None:
        from prometheus_client import start_http_server

        start_http_server(port, addr="127.0.0.1", registry=registry)


def ingest_from(args: argparse.Namespace) -> Any:
    """The :class:`central.ingest.Ingest` that ``edge central ingest`` runs with these arguments."""
    from central.ingest import Ingest
    from central.nats_link import servers

    return Ingest(args.mqtt, servers(args.nats), name=args.name, session_expiry_s=args.session_expiry)


def _cmd_ingest(args: argparse.Namespace) -> int:
    ingest = ingest_from(args)

    async def main() -> None:
        _metrics(args.metrics_port, ingest.registry)
        await ingest.run(_stop_on_signals())

    asyncio.run(main())
    # "held": messages still awaiting their JetStream ack at the stop (0 after a clean one)
    print(json.dumps({"ingest": args.name, **ingest.stats.as_dict(), "held": ingest.inflight}), flush=True)
    return 0


def _cmd_downlink(args: argparse.Namespace) -> int:
    from central.downlink import Downlink
    from central.nats_link import servers

    downlink = Downlink(args.mqtt, servers(args.nats), name=args.name)

    async def main() -> None:
        await downlink.run(_stop_on_signals())

    asyncio.run(main())
    print(json.dumps({"downlink": args.name, "published": downlink.published, "withdrawals": downlink.withdrawals}))
    return 0


def _cmd_consume(args: argparse.Namespace) -> int:
    from central.consumer import CdpConsumer
    from central.nats_link import connect, servers

    out = sys.stdout

    def deliver(store: str, gateway: str, seq: int, event: dict[str, Any]) -> None:
        out.write(json.dumps(event) + "\n")

    async def main() -> None:
        nc = await connect(servers(args.nats), f"cdp-consumer-{args.durable}")
        consumer = CdpConsumer(nc.jetstream(), deliver, durable=args.durable)
        _metrics(args.metrics_port, consumer.registry)
        try:
            await consumer.run(_stop_on_signals())
        finally:
            await nc.close()

    asyncio.run(main())
    return 0


def _cmd_fleet(args: argparse.Namespace) -> int:
    from central.fleet import FleetSpec, run_fleet

    if args.processes > 1:
        return _fleet_processes(args)
    state = Path(args.state_dir) if args.state_dir else Path(tempfile.mkdtemp(prefix="edge-fleet-"))
    spec = FleetSpec(
        args.mqtt, args.gateways, args.rate, args.seconds, state, first=args.first, mqtt5=not args.mqtt3, seed=args.seed
    )
    summary = asyncio.run(run_fleet(spec))
    print(json.dumps(summary), flush=True)
    return 0 if summary["unsent"] == 0 else 1


def _fleet_processes(args: argparse.Namespace) -> int:
    """Split the fleet over ``--processes`` copies of this command; one merged summary."""
    n = args.processes
    sizes = [args.gateways // n + (1 if i < args.gateways % n else 0) for i in range(n)]
    procs, first = [], args.first
    for size in sizes:
        cmd = [sys.executable, "-m", "edge", "central", "fleet-sim", "--mqtt", args.mqtt, "--gateways", str(size)]
        cmd += [
            "--rate",
            str(args.rate),
            "--seconds",
            str(args.seconds),
            "--first",
            str(first),
            "--seed",
            str(args.seed),
        ]
        if args.state_dir:
            cmd += ["--state-dir", args.state_dir]
        if args.mqtt3:
            cmd.append("--mqtt3")
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE))  # noqa: S603 - this very command
        first += size
    parts = []
    for proc in procs:
        out, _ = proc.communicate()
        parts.append(json.loads(out.decode().strip().splitlines()[-1]))
    merged: dict[str, Any] = {"gateways": [g for p in parts for g in p["gateways"]], "processes": n}
    for key in ("made", "published", "acked", "dropped", "unsent", "cpu_s"):
        merged[key] = round(sum(p[key] for p in parts), 3)
    merged["wall_s"] = max(p["wall_s"] for p in parts)
    print(json.dumps(merged), flush=True)
    return 0 if merged["unsent"] == 0 else 1


def add_commands(sub: Any) -> None:
    """Register ``edge central`` with its subcommands on the ``edge`` parser's subparsers."""
    central = sub.add_parser("central", help="the fleet side: events into NATS JetStream, downlinks back")
    csub = central.add_subparsers(dest="central_command", required=True)

    fleet = csub.add_parser("fleet-sim", help="many simulated gateways (edge outbox + drain + MQTT each)")
    fleet.add_argument("--mqtt", required=True, metavar="URL", help="the fleet broker, mqtt://host:port")
    fleet.add_argument("--gateways", type=int, required=True, metavar="N")
    fleet.add_argument(
        "--rate", type=float, required=True, metavar="EVENTS_PER_S", help="events per second per gateway"
    )
    fleet.add_argument("--seconds", type=float, required=True, metavar="S", help="how long events are made")
    fleet.add_argument("--processes", type=int, default=1, help="split the gateways over this many processes")
    fleet.add_argument("--first", type=int, default=0, help="index of the first gateway (a slice of a fleet)")
    fleet.add_argument("--state-dir", default=None, help="where the outboxes live (default: a new temporary dir)")
    fleet.add_argument("--mqtt3", action="store_true", help="MQTT 3.1.1 (e.g. NATS's own MQTT listener)")
    fleet.add_argument("--seed", type=int, default=1)
    fleet.set_defaults(func=_cmd_fleet)

    ingest = csub.add_parser("ingest", help="the bridge: MQTT → JetStream (run 2, each forwards every event)")
    ingest.add_argument("--mqtt", required=True, metavar="URL")
    ingest.add_argument("--nats", required=True, metavar="URL[,URL…]")
    ingest.add_argument("--name", default="1", help="this process's name: its MQTT client id is cdp-ingest-NAME")
    ingest.add_argument("--metrics-port", type=int, default=None, help="Prometheus metrics on 127.0.0.1:PORT")
    ingest.add_argument(
        "--session-expiry",
        type=_session_expiry,
        default=c.INGEST_SESSION_EXPIRY_S,
        metavar="S",
        help="how long the broker keeps this bridge's session (its subscription and queued events) while it is "
        f"away, in seconds (default {c.INGEST_SESSION_EXPIRY_S}: 7 days; the broker's persistent_client_expiration "
        "caps it, its max_queued_messages bounds what it holds)",
    )
    ingest.set_defaults(func=_cmd_ingest)

    downlink = csub.add_parser("downlink", help="KV snapshots and withdrawals → retained cdp/v1/{store}/… topics")
    downlink.add_argument("--mqtt", required=True, metavar="URL")
    downlink.add_argument("--nats", required=True, metavar="URL[,URL…]")
    downlink.add_argument("--name", default="1")
    downlink.set_defaults(func=_cmd_downlink)

    consume = csub.add_parser("consume", help="the CDP consumer example: events as JSON lines, per-gateway order")
    consume.add_argument("--nats", required=True, metavar="URL[,URL…]")
    consume.add_argument("--durable", default="cdp")
    consume.add_argument("--metrics-port", type=int, default=None, help="Prometheus metrics (gaps, lag) on this port")
    consume.set_defaults(func=_cmd_consume)
