"""``edge bench``: every benchmark in ``benchmarks/`` in one run, each figure beside its goal and its
peer measured in the same run.

Each benchmark is a script (``python benchmarks/X.py``) that prints a table and ends with one JSON
line (``benchmarks/common.py:report``). This module runs them as subprocesses (so one cannot skew
another's memory or imports), reads that last line and turns it into :class:`Figure` rows with a
pass / fail each. :data:`BENCHMARKS` (:mod:`edge.commands.bench_specs`) is the one place that
knows each script's quick arguments, figures and goals; a script in ``benchmarks/`` it does not
know is still run and reported raw.
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
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import edge
from edge.commands.bench_specs import BENCHMARKS, Figure, Spec
from edge.commands.bench_specs import fig as fig  # re-exported: `from edge.bench import fig` goes on working
from edge.errors import EdgeError

BENCH_TIMEOUT_S = 900.0
"""Bound on one benchmark script: the slowest full run (presence accuracy, 60 simulated minutes)
takes about a minute on the CI-class machine, a Pi 4 five times that; past this it is wedged."""

SCHEMA_VERSION = 1
"""Of the ``--json`` document; bump on an incompatible change (the README generator checks it)."""


class BenchError(EdgeError):
    """``edge bench`` cannot run: no ``benchmarks/`` directory, or an unknown ``--only`` name."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """One script's run: its final JSON line (``raw``), or why there is none (``error``/``skipped``)."""

    name: str
    seconds: float
    raw: dict[str, Any] | None = None
    error: str | None = None
    skipped: str | None = None
    figures: tuple[Figure, ...] = field(default_factory=tuple)


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
    names = [s.name for s in BENCHMARKS if (s.script or s.name) in present] + sorted(present - _SPECS.keys())
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
    script = (spec.script or name) if spec else name
    arguments = (spec.quick_args if quick else spec.args) if spec else ()
    argv = [python, str(directory / f"{script}.py"), *arguments]
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
