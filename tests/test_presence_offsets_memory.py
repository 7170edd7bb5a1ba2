"""The threshold engine's learned scanner offsets kept across restarts (edge.presence_offsets_memory,
edge.radio_keeper): the file's format and its refusals, the layout it is valid for, the engine started from it, a
gateway that starts from a kept file on a real state directory (cold, and counted, when the file is bad) and ``edge
doctor``'s row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from edge.ops.checks import check_radio
from edge.presence import PresenceEngine
from edge.presence_offsets_memory import OFFSETS_FILE, OffsetsFile, OffsetsMemory, encode, layout_key, read
from edge.sim.store import default_config
from tests.gateway_runs import last_health, presence_of, run_gateway
from tests.test_presence_scanner_offset import engine as two_zones
from tests.test_presence_scanner_offset import run as walked
from tests.test_presence_scanner_offset import walk

CONFIG = default_config("threshold")
LAYOUT = layout_key(CONFIG)
FIRST = CONFIG.scanners[0].id
HOT = OffsetsMemory(offsets_db={FIRST: -2.5})
STEEPER = msgspec.structs.replace(CONFIG, presence=msgspec.structs.replace(CONFIG.presence, path_loss_exponent=3.0))


def test_kept_offsets_round_trip_with_their_layout() -> None:
    data = encode(HOT, LAYOUT, 1_795_428_000.0)
    found = read(data, LAYOUT, CONFIG.scanners)
    assert isinstance(found, OffsetsFile)
    assert (found.version, found.layout, found.saved_at, found.radio) == (1, LAYOUT, 1_795_428_000.0, HOT)


def _file(**radio: Any) -> dict[str, Any]:
    return {"version": 1, "layout": LAYOUT, "saved_at": 0.0, "radio": {"offsets_db": {FIRST: -2.5}, **radio}}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        # (the checks every kept radio shares, edge.radio_file.read: tests/test_radio_memory.py; here this file's own)
        (msgspec.json.encode(_file(offsets_db={FIRST: 30.0})), "radio.offsets_db"),
        (msgspec.json.encode(_file(exponent=3.0)), "exponent"),  # (the grid's radio is not this engine's)
        (msgspec.json.encode({**_file(), "layout": layout_key(STEEPER)}), "another layout"),
        (msgspec.json.encode({**_file(), "token": "s-0001"}), "token"),
        (msgspec.json.encode(_file()).replace(b'"saved_at":0.0', b'"saved_at":1e400'), "saved_at"),
    ],
)
def test_kept_offsets_that_cannot_be_used_say_why(data: bytes, why: str) -> None:
    found = read(data, LAYOUT, CONFIG.scanners)
    assert isinstance(found, str)
    assert why in found


def test_the_layout_is_what_the_learner_expects_from() -> None:
    """A scanner moved or recalibrated, a zone's floor, the configured exponent or 1 m power: another layout; the
    zones' tags or the health interval: the same."""
    moved = msgspec.structs.replace(CONFIG.scanners[0], x_m=CONFIG.scanners[0].x_m + 1.0)
    assert layout_key(msgspec.structs.replace(CONFIG, scanners=(moved, *CONFIG.scanners[1:]))) != LAYOUT
    smaller = msgspec.structs.replace(CONFIG.zones[0], radius_m=2.0)
    assert layout_key(msgspec.structs.replace(CONFIG, zones=(smaller, *CONFIG.zones[1:]))) != LAYOUT
    assert layout_key(STEEPER) != LAYOUT
    louder = msgspec.structs.replace(CONFIG.presence, measured_power_1m_dbm=-55.0)
    assert layout_key(msgspec.structs.replace(CONFIG, presence=louder)) != LAYOUT
    tagged = msgspec.structs.replace(CONFIG.zones[0], tags=("fresh",))
    assert layout_key(msgspec.structs.replace(CONFIG, zones=(tagged, *CONFIG.zones[1:]))) == LAYOUT
    quieter = msgspec.structs.replace(CONFIG.presence, health_interval_s=5.0)
    assert layout_key(msgspec.structs.replace(CONFIG, presence=quieter)) == LAYOUT


def test_the_engine_starts_from_kept_offsets() -> None:
    """Nothing to keep at first; a kept offset is in use at once, as a configured one is: a hot scanner's walks give
    the events a true scanner's do."""
    engine = PresenceEngine(CONFIG.zones, CONFIG.presence, CONFIG.scanners)
    assert engine.learns_offsets
    assert engine.memory() is None
    engine.recall(HOT)
    assert engine.memory() == HOT
    for seed in range(5):
        true = walked(two_zones(), walk(seed, 0.0))
        kept = two_zones()
        kept.recall(OffsetsMemory(offsets_db={"gw-1": -4.0}))
        assert walked(kept, walk(seed, 4.0)) == walked(two_zones(-4.0), walk(seed, 4.0))
        assert [(e.kind, e.zone, e.at) for e in walked(kept, walk(seed, 4.0))] == [(e.kind, e.zone, e.at) for e in true]


def test_a_gateway_starts_from_kept_offsets_and_counts_a_bad_file(tmp_path: Path, store_trace_5min: Path) -> None:
    """Five minutes of the bundled store (no scanner off: nothing learned, no file written); a kept file is loaded and
    its offset in use (presence differs from the cold run's); a truncated one is counted and the run is the cold one."""
    for name in ("cold", "kept", "bad"):
        (tmp_path / name).mkdir()
    cold = run_gateway(tmp_path / "cold", store_trace_5min, CONFIG)
    assert last_health(cold)["radio_memory_loaded"] == 0
    assert not (tmp_path / "cold" / OFFSETS_FILE).exists()
    (tmp_path / "kept" / OFFSETS_FILE).write_bytes(encode(OffsetsMemory(offsets_db={FIRST: 8.0}), LAYOUT, 0.0))
    kept = run_gateway(tmp_path / "kept", store_trace_5min, CONFIG)
    assert (last_health(kept)["radio_memory_loaded"], last_health(kept)["radio_memory_rejected"]) == (1, 0)
    assert presence_of(kept) != presence_of(cold)  # (a scanner read 8 dB louder: its zone entered from further away)
    (tmp_path / "bad" / OFFSETS_FILE).write_bytes(b'{"version": 1, "lay')
    bad = run_gateway(tmp_path / "bad", store_trace_5min, CONFIG)
    assert (last_health(bad)["radio_memory_loaded"], last_health(bad)["radio_memory_rejected"]) == (0, 1)
    assert presence_of(bad) == presence_of(cold)


def test_edge_doctor_shows_the_kept_offsets(tmp_path: Path) -> None:
    config = msgspec.structs.replace(CONFIG, gateway=msgspec.structs.replace(CONFIG.gateway, state_dir=str(tmp_path)))
    first = check_radio(config, Path("/"))
    assert (first.status, first.detail) == ("ok", "nothing learned yet: the engine starts from the configured scanner "
                                            "offsets")  # fmt: skip
    (tmp_path / OFFSETS_FILE).write_bytes(encode(HOT, LAYOUT, 1_795_428_000.0))
    kept = check_radio(config, Path("/"), now=1_795_428_000.0 + 600)
    assert (kept.status, kept.detail) == ("ok", f"learned: scanner offsets {FIRST} -2.5 dB; saved 10 min ago")
    (tmp_path / OFFSETS_FILE).write_bytes(b"[]")
    assert check_radio(config, Path("/")).status == "warn"
    unplaced = msgspec.structs.replace(config, scanners=())
    assert check_radio(unplaced, Path("/")).status == "skip"
