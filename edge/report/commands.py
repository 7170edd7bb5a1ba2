"""``edge report lift --events FILE.jsonl --purchases FILE.jsonl [--png OUT] [--window-days N]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from edge.errors import EdgeError
from edge.signage.impression import ATTRIBUTION_WINDOW_S

EXIT_USAGE = 2
EXIT_MISSING_EXTRA = 3
"""The chart needs matplotlib, which only the bench extra installs."""


def _cmd_lift(args: argparse.Namespace) -> int:
    from edge.report.lift import report

    png = Path(args.png) if args.png else None
    if png is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print(
                "edge report lift --png needs matplotlib: pip install 'instore-edge[bench]' (or leave out --png)",
                file=sys.stderr,
            )
            return EXIT_MISSING_EXTRA
    try:
        print(report(Path(args.events), Path(args.purchases), png, args.window_days * 86_400.0))
    except EdgeError as err:
        print(f"edge report lift: {err}", file=sys.stderr)
        return EXIT_USAGE
    if png is not None:
        print(f"chart: {png}")
    return 0


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="reports from the gateway's events")
    reports = report.add_subparsers(dest="report_command", required=True)
    lift = reports.add_parser("lift", help="exposed vs holdout conversion, 95 %% interval, PNG chart")
    lift.add_argument("--events", required=True, metavar="FILE", help="CloudEvents JSON lines (edge replay output)")
    purchases = 'JSON lines {"token", "time", "campaign" | "offer"}'
    lift.add_argument("--purchases", required=True, metavar="FILE", help=purchases)
    lift.add_argument("--png", metavar="OUT", help="write the chart here (needs matplotlib: the bench extra)")
    lift.add_argument(
        "--window-days", type=float, default=ATTRIBUTION_WINDOW_S / 86_400.0, help="attribution window (default 7)"
    )
    lift.set_defaults(func=_cmd_lift)
