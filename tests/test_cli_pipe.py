"""`edge replay TRACE | head`: a reader that goes away stops the replay like a signal, without a traceback.

Before, the first write after the reader closed the pipe raised BrokenPipeError out of the pipeline's
sink: a traceback of thirty lines and exit 1. Now the replay stops, removes its temporary state and
exits 141 (128 + SIGPIPE, what a shell reports for a writer killed by it); any other command whose
stdout reader goes away (`edge report lift … | head`) exits 141 without a traceback too."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
READINGS = 2_000
"""Shelf readings in the trace, one event each (~450 bytes): far more output than a pipe holds (64 KiB),
so the replay is still writing when the reader has gone."""


def _trace(path: Path) -> Path:
    lines = [json.dumps({"kind": "header", "start": "2026-11-23T10:00:00.000Z"})]
    reading = {"kind": "shelf", "shelf": "shelf-a3", "action": "touch", "sku": "4062300020719"}
    lines += [json.dumps({"t": 1.0 + i * 0.5, **reading}) for i in range(READINGS)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_reader_that_goes_away_ends_the_replay_quietly(tmp_path: Path) -> None:
    trace = _trace(tmp_path / "readings.jsonl")
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    command = [sys.executable, "-m", "edge", "replay", str(trace), "--config", str(EXAMPLES / "store.toml")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as child:
        assert child.stdout is not None
        assert child.stderr is not None
        first = json.loads(child.stdout.readline())
        child.stdout.close()  # the reader goes away, as `head -1` does
        try:
            stderr = child.stderr.read().decode()
            code = child.wait(timeout=60)
        finally:
            child.kill()
    assert first["type"] == "edge.shelf.interaction"
    assert "Traceback" not in stderr, stderr
    assert "BrokenPipeError" not in stderr, stderr
    assert code == 128 + signal.SIGPIPE  # 141
    assert list(temp.iterdir()) == []  # the temporary state is removed, as after a signal


def test_a_reader_that_stays_gets_every_event(tmp_path: Path) -> None:
    trace = _trace(tmp_path / "readings.jsonl")
    done = subprocess.run(
        [sys.executable, "-m", "edge", "replay", str(trace), "--config", str(EXAMPLES / "store.toml")],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    types = [json.loads(line)["type"] for line in done.stdout.splitlines()]
    assert types.count("edge.shelf.interaction") == READINGS


def test_any_command_whose_reader_is_gone_exits_141_without_a_traceback(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    trace, config = str(EXAMPLES / "trace.jsonl"), str(EXAMPLES / "store.toml")
    replay = [sys.executable, "-m", "edge", "replay", trace, "--config", config]
    events.write_bytes(subprocess.run(replay, capture_output=True, timeout=60, check=True).stdout)
    purchases = tmp_path / "purchases.jsonl"
    purchases.write_text("")
    command = [sys.executable, "-m", "edge", "report", "lift", "--events", str(events), "--purchases", str(purchases)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as child:
        assert child.stdout is not None
        assert child.stderr is not None
        child.stdout.close()  # gone before the report is printed
        try:
            stderr = child.stderr.read().decode()
            code = child.wait(timeout=60)
        finally:
            child.kill()
    assert "Traceback" not in stderr, stderr
    assert code == 128 + signal.SIGPIPE
