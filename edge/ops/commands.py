"""The operations commands of ``edge``: provision, doctor, calibrate (argparse wiring only;
each imports its module when it runs, so ``edge --help`` stays fast)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def _provision(args: argparse.Namespace) -> int:
    from edge.ops.provision import Request, next_steps, provision

    req = Request(
        store=args.store,
        gateway=args.gateway,
        broker=args.broker,
        root=Path(args.root),
        ca=Path(args.ca) if args.ca else None,
        force=args.force,
        display=args.display,
        camera=args.camera,
        executable=args.executable,
        units_dir=Path(args.units) if args.units else None,
    )
    report = provision(req)
    for action, rel in report:
        print(f"{action:>9}  {Path(args.root) / rel}")
    print("\nnext steps:")
    for number, step in enumerate(next_steps(req), 1):
        print(f"  {number}. {step}")
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from edge.ops.doctor import doctor

    return doctor(Path(args.config) if args.config else None, Path(args.root))


def _calibrate(args: argparse.Namespace) -> int:
    from edge.ops.calibrate import calibrate

    return calibrate(
        Path(args.config),
        token=args.token,
        beacon=args.beacon,
        seconds=args.seconds,
        write=not args.dry_run,
        scanner=args.scanner,
    )


def add_commands(sub: Any) -> None:
    """Adds the subcommands to ``edge``'s subparsers."""
    from edge import constants as c

    prov = sub.add_parser("provision", help="write a device config, key + CSR and the systemd units")
    prov.add_argument("--store", required=True, help="the store id")
    prov.add_argument("--gateway", required=True, help="this gateway's id")
    prov.add_argument("--broker", required=True, metavar="URL", help="mqtts://host:8883 (or mqtt:// in a lab)")
    prov.add_argument("--ca", default=None, metavar="FILE", help="the CA bundle that signed the broker's certificate")
    prov.add_argument("--root", default="/", metavar="DIR", help="install under this directory (default /)")
    prov.add_argument("--force", action="store_true", help="replace files that differ (never the device key)")
    prov.add_argument("--display", action="store_true", help="this box drives a screen: install the display drop-in")
    prov.add_argument("--camera", action="store_true", help="this box has the consent-gated camera: its drop-in")
    prov.add_argument("--executable", default=None, help="the edge command the units run (default: this one)")
    prov.add_argument("--units", default=None, metavar="DIR", help="where the unit files are (default: systemd/)")
    prov.set_defaults(func=_provision)

    doc = sub.add_parser("doctor", help="check adapter, camera, display, broker, clock, disk and config")
    doc.add_argument("--config", default=None, help="the TOML config (default: {root}/etc/edge/edge.toml)")
    doc.add_argument("--root", default="/", metavar="DIR", help="a provisioned tree (default /)")
    doc.set_defaults(func=_doctor)

    cal = sub.add_parser("calibrate", help="measure a beacon's RSSI at 1 m and write it to the config")
    cal.add_argument("--config", required=True, help="the TOML config (updated in place)")
    which = cal.add_mutually_exclusive_group(required=True)
    which.add_argument("--token", default=None, help="a rostered shopper's token (their device)")
    which.add_argument("--beacon", default=None, metavar="JSON", help='a roster id, e.g. {"type": "ibeacon", …}')
    cal.add_argument(
        "--scanner",
        default=None,
        metavar="ID",
        help="the beacon is 1 m from this scanner: write its [[scanners]] offset_db instead of the 1 m power",
    )
    cal.add_argument("--seconds", type=float, default=c.CALIBRATE_SECONDS, help="how long to listen")
    cal.add_argument("--dry-run", action="store_true", help="measure only; do not write the config")
    cal.set_defaults(func=_calibrate)
