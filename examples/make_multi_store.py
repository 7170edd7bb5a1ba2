"""Writes a store of several gateways into a folder, to run them on one machine without Bluetooth.

The simulated row of :mod:`edge.sim.multi` (the one ``benchmarks/multi_gateway.py`` measures): zone ``zN``
is heard by gateway ``gw-N``'s one scanner ``gw-N-s``, 7 m apart; shoppers walk the row end to end, so each
is handed from gateway to gateway. Into DIR it writes, per gateway, ``gw-N.toml`` (``[store] peers``, the
zones listing every gateway's scanner, the ``replay`` backend playing ``gw-N.jsonl``: what its own scanner
heard, from the wall-clock moment ``ble.start_at``, ``--start-in`` seconds from now), the roster
``roster.json`` and ``mosquitto.conf``, a local broker without TLS (in a store: hardware/mosquitto/
store-broker.conf and its ACL). Then it prints the commands to start them
(docs/multi-gateway.md, "Try it on one machine").

Run from the repository root: ``.venv/bin/python examples/make_multi_store.py DIR``.
"""

from __future__ import annotations

import argparse
import shlex
import time
from pathlib import Path

from edge.sim.multi import MultiStore, gateway_id, toml_text

START_IN_S = 20.0
"""From writing the files to the store's first moment (``ble.start_at``, the same in every config): time to
paste the commands. All gateways play the store's time together, as real boxes share the wall clock; one
started later joins the store where it is, missing what happened before."""
PORT = 1884
"""The local broker's port: not 1883, so it does not clash with a broker already running."""


def write(
    directory: Path, *, gateways: int, shoppers: int, seconds: float, seed: int, port: int, start_at: float
) -> list[Path]:
    """The store's files in ``directory``; the gateways' configs, each playing its trace from ``start_at``."""
    directory = directory.resolve()
    directory.mkdir(parents=True, exist_ok=True)
    store = MultiStore(gateways=gateways, seed=seed)
    walks = store.walks(shoppers, seconds)
    roster = directory / "roster.json"
    roster.write_bytes(store.roster(shoppers))
    (directory / "mosquitto.conf").write_text(
        f"# A local store broker for trying several gateways on one machine: no TLS, no ACL.\n"
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
    )
    configs = []
    for g in range(gateways):
        me = gateway_id(g)
        trace = directory / f"{me}.jsonl"
        store.write_trace(trace, walks, g, seconds)
        mapping = store.config(
            g,
            gateway={"roster_file": str(roster), "state_dir": str(directory / f"state-{me}")},
            ble={"backend": "replay", "trace": str(trace), "start_at": start_at},
            mqtt={"url": f"mqtt://127.0.0.1:{port}"},
            presence={"health_interval_s": 10.0},
            signage={"backend": "headless"},  # its screen (zN's) plays without a display
        )
        path = directory / f"{me}.toml"
        path.write_text(toml_text(mapping))
        configs.append(path)
    return configs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--gateways", type=int, default=3)
    parser.add_argument("--shoppers", type=int, default=4, help="shoppers walking the row end to end")
    parser.add_argument("--seconds", type=float, default=180.0, help="the traces' length (each plays in real time)")
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--port", type=int, default=PORT, help="the local broker's port")
    parser.add_argument(
        "--start-in", type=float, default=START_IN_S, help="seconds from now to the store's first moment (ble.start_at)"
    )
    args = parser.parse_args(argv)
    if not 2 <= args.gateways <= 8 or args.shoppers < 1 or args.seconds <= 0 or args.start_in < 0:
        parser.error("--gateways 2..8, --shoppers >= 1, --seconds > 0, --start-in >= 0")
    start_at = time.time() + args.start_in
    configs = write(
        args.directory, gateways=args.gateways, shoppers=args.shoppers, seconds=args.seconds, seed=args.seed,
        port=args.port, start_at=start_at,
    )  # fmt: skip
    d = shlex.quote(str(args.directory.resolve()))
    print(f"mosquitto -c {d}/mosquitto.conf &")
    for config in configs:
        print(f"edge run --config {shlex.quote(str(config))} &")
    print(f"mosquitto_sub -p {args.port} -v -t 'store-local/v1/store-1/+/owner/+' -t 'edge/v1/store-1/+/events/+'")
    at = time.strftime("%H:%M:%S", time.localtime(start_at))
    print(f"# the store's time starts at {at} (ble.start_at): a gateway started later skips what it missed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
