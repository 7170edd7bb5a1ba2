"""`edge replay` end to end: a simulated trace in, CloudEvents out, as the CDP will read them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from edge.sim.store import SimulatedStore

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MAC = re.compile(r"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}")


def edge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, SimulatedStore]:
    store = SimulatedStore(seed=3)
    path = tmp_path_factory.mktemp("trace") / "store.jsonl"
    store.write_trace(path, 240)
    return path, store


def test_replay_prints_one_cloudevent_per_line(trace: tuple[Path, SimulatedStore]) -> None:
    path, store = trace
    result = edge("replay", str(path))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    types = {e["type"] for e in events}
    assert {"edge.presence.entered", "edge.presence.exited", "edge.gateway.health"} <= types
    tokens = {s.token for s in store.shoppers}
    for event in events:
        assert event["specversion"] == "1.0"
        assert UUID7.match(event["id"])
        assert event["source"] == "urn:edge:store-1:gw-1"
        assert RFC3339.match(event["time"])
        assert event["datacontenttype"] == "application/json"
        assert event["subject"] not in tokens
        assert event["data"].get("token") in tokens | {None}
    entered = [e for e in events if e["type"] == "edge.presence.entered"]
    for event in entered:
        assert set(event["data"]) >= {"token", "zone", "via", "rssi", "distance_m"}
        assert event["data"]["via"] in {"ibeacon", "eddystone-eid", "eddystone-uid"}
    assert not MAC.search(result.stdout)
    assert not MAC.search(result.stderr)
    withdrawn = [e for e in events if e["type"] == "edge.consent.withdrawn"]
    assert [e["data"]["token"] for e in withdrawn] == [store.withdrawn_token]
    after = [e for e in events if e["data"].get("token") == store.withdrawn_token and e["time"] > withdrawn[0]["time"]]
    assert after == []


def test_replay_is_the_same_whatever_day_it_runs(trace: tuple[Path, SimulatedStore]) -> None:
    path, _ = trace
    first, second = edge("replay", str(path)), edge("replay", str(path))
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout


def test_a_bad_trace_line_exits_2_naming_file_and_line(tmp_path: Path, trace: tuple[Path, SimulatedStore]) -> None:
    path, _ = trace
    lines = path.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*lines[:5], '{"t": 1, "kind": "ble", "rssi": "loud"}', *lines[5:]]) + "\n")
    result = edge("replay", str(bad))
    assert result.returncode == 2
    assert f"{bad}:6:" in result.stderr
    assert "Traceback" not in result.stderr


def test_replay_takes_a_config(tmp_path: Path, trace: tuple[Path, SimulatedStore]) -> None:
    path, _ = trace
    config = tmp_path / "edge.toml"
    config.write_text(
        '[gateway]\nstore = "store-1"\ngateway = "gw-7"\n\n[[zones]]\nid = "all"\nscanners = ["nobody"]\n'
    )
    result = edge("replay", str(path), "--config", str(config))
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert all(e["source"] == "urn:edge:store-1:gw-7" for e in events)
    assert not [e for e in events if e["type"].startswith("edge.presence")]
    bad = tmp_path / "bad.toml"
    bad.write_text("[[zones]]\nid = 'x'\n")
    result = edge("replay", str(path), "--config", str(bad))
    assert result.returncode == 2
    assert "zones[0]" in result.stderr
    assert "scanners" in result.stderr
