"""The grid engine's learned radio kept across restarts (edge.presence_grid_memory, edge.radio_keeper): the file's
format and its refusals, the layout it is valid for, the engine started from it, and a gateway that keeps it on
a real state directory -- started warm the next time, cold (and counted) when the file is bad or unwritable."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec
import pytest

from edge import presence_grid_memory
from edge.config import Config
from edge.presence_grid import GridEstimator
from edge.presence_grid_memory import (
    MEMORY_MAX_BYTES,
    RADIO_FILE,
    RadioFile,
    RadioMemory,
    decode,
    describe,
    encode,
    layout_key,
)
from edge.presence_grid_radio import MISS_P, SIGMA_DB
from edge.presence_grid_range import FAR_LEARNED_P
from edge.presence_grid_wall import WALL_PRIOR_DB
from edge.sim.store import default_config
from tests.gateway_runs import last_health, presence_of, run_gateway

CONFIG = default_config("grid")
LAYOUT = layout_key(CONFIG.scanners, CONFIG.floor, CONFIG.presence)
FIRST = CONFIG.scanners[0].id
STEEP = RadioMemory(exponent=3.2, sigma_db=6.5, offsets_db={FIRST: -2.5}, miss_p=0.25, wall_db=12.0)


def test_a_kept_radio_round_trips_with_its_layout() -> None:
    data = encode(STEEP, LAYOUT, 1_795_428_000.0)
    assert decode(data, LAYOUT, CONFIG.scanners) == STEEP
    kept = msgspec.json.decode(data, type=RadioFile)
    assert (kept.version, kept.layout, kept.saved_at) == (1, LAYOUT, 1_795_428_000.0)


def _file(**radio: Any) -> dict[str, Any]:
    return {"version": 1, "layout": LAYOUT, "saved_at": 0.0, "radio": {"exponent": 3.0, "sigma_db": 5.0, **radio}}


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b'{"version": 1, "layout"', "not JSON"),
        (msgspec.json.encode({**_file(), "version": 2}), "version 2"),
        (msgspec.json.encode({**_file(), "layout": "0" * 32}), "another layout"),
        (msgspec.json.encode(_file(offsets_db={"scn-nowhere": 1.0})), "scn-nowhere"),
        (msgspec.json.encode(_file(exponent=9.0)), "radio.exponent"),
        (msgspec.json.encode(_file(sigma_db=0.5)), "radio.sigma_db"),
        (msgspec.json.encode(_file(offsets_db={FIRST: 30.0})), "radio.offsets_db"),
        (msgspec.json.encode(_file(miss_p=0.9)), "radio.miss_p"),
        (msgspec.json.encode(_file(wall_db=-3.0)), "radio.wall_db"),
        (msgspec.json.encode(_file(far_p=1.5)), "radio.far_p"),
        (msgspec.json.encode({**_file(), "token": "s-0001"}), "token"),
        (b" " * (MEMORY_MAX_BYTES + 1), "more than"),
        (b'{"radio": ' + b"[" * 30_000 + b"]" * 30_000 + b"}", "nests deeper than 32 levels"),  # RecursionError once
    ],
)
def test_a_kept_radio_that_cannot_be_used_says_why(data: bytes, why: str) -> None:
    found = decode(data, LAYOUT, CONFIG.scanners)
    assert isinstance(found, str)
    assert why in found


def test_the_layout_is_the_radios_not_the_zones() -> None:
    """A scanner moved, its configured offset changed, the floor or the configured exponent: another layout (the kept
    radio was learned on other geometry); the zones' tags or thresholds: the same."""
    moved = msgspec.structs.replace(CONFIG.scanners[0], x_m=CONFIG.scanners[0].x_m + 1.0)
    assert layout_key((moved, *CONFIG.scanners[1:]), CONFIG.floor, CONFIG.presence) != LAYOUT
    calibrated = msgspec.structs.replace(CONFIG.scanners[0], offset_db=3.0)
    assert layout_key((calibrated, *CONFIG.scanners[1:]), CONFIG.floor, CONFIG.presence) != LAYOUT
    steeper = msgspec.structs.replace(CONFIG.presence, path_loss_exponent=3.0)
    assert layout_key(CONFIG.scanners, CONFIG.floor, steeper) != LAYOUT
    quieter = msgspec.structs.replace(CONFIG.presence, health_interval_s=5.0)
    assert layout_key(CONFIG.scanners, CONFIG.floor, quieter) == LAYOUT


def _engine(config: Config = CONFIG) -> GridEstimator:
    return GridEstimator(config.zones, config.presence, config.scanners, config.floor)


def test_the_engine_starts_from_a_kept_radio() -> None:
    """The exponent and the offsets kept are in use at once (the offset on top of the configured one); the sigma is
    learned again (KEEP_SIGMA off), unless asked for."""
    engine = _engine()
    assert engine.memory() is None  # nothing learned yet: nothing to keep
    engine.recall(STEEP)
    radio = engine.radio()
    assert radio["exponent"] == 3.2
    assert radio["sigma_in_use_db"] == SIGMA_DB
    assert radio[f"offset_applied_db:{FIRST}"] == -2.5
    assert (radio["miss_p"], radio["wall_db"]) == (MISS_P, WALL_PRIOR_DB)  # (learned again: KEEP_MISS_WALL off)
    assert engine.memory() == STEEP  # (the kept sigma stays the record until the learner moves the one in use)
    assert _engine().memory() is None  # (another engine of the store: cold)


def test_the_kept_sigma_miss_rate_and_wall_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(presence_grid_memory, "KEEP_SIGMA", True)
    monkeypatch.setattr(presence_grid_memory, "KEEP_MISS_WALL", True)
    engine = _engine()
    engine.recall(STEEP)
    radio = engine.radio()
    assert (radio["sigma_in_use_db"], radio["miss_p"], radio["wall_db"]) == (6.5, 0.25, 12.0)
    assert engine.memory() == STEEP


@pytest.mark.parametrize(("far_p", "proven"), [(FAR_LEARNED_P, False), (1.0, True)])
def test_the_engine_starts_from_the_kept_far_hearing_when_asked(
    far_p: float, proven: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With KEEP_FAR, a store learned (or proven) to hear beyond the grid's 15 m range starts so after a restart; a
    proven one stays so for good (the share cannot move it); a file from before session 40 (no ``far_p``) reads as
    one cut off there, as a cold start is."""
    monkeypatch.setattr(presence_grid_memory, "KEEP_FAR", True)
    kept = msgspec.structs.replace(STEEP, far_p=far_p)
    assert decode(encode(kept, LAYOUT, 0.0), LAYOUT, CONFIG.scanners) == kept
    engine = _engine()
    engine.recall(kept)
    assert engine.radio()["far_p"] == far_p
    assert engine.memory() == kept
    range_learner = engine._range
    assert range_learner is not None
    assert range_learner.proven is proven
    assert range_learner.step() is False  # (nothing counted yet: the kept value stands)
    assert describe(kept).endswith(
        "heard beyond 15 m (proven)" if proven else f"heard beyond 15 m (far readings x{far_p:g})"
    )
    old = _file()
    assert decode(msgspec.json.encode(old), LAYOUT, CONFIG.scanners) == RadioMemory(exponent=3.0, sigma_db=5.0)


def test_the_kept_far_hearing_is_the_record_not_the_start() -> None:
    """By default (KEEP_FAR off) a restarted engine cuts readings off at 15 m until its learner sees far ones again,
    and keeps the far hearing it was given as the record until then."""
    kept = msgspec.structs.replace(STEEP, far_p=FAR_LEARNED_P)
    engine = _engine()
    engine.recall(kept)
    assert engine.radio()["far_p"] == 0.0
    assert engine.memory() == kept


def test_a_gateway_keeps_its_radio_across_a_restart(tmp_path: Path, store_trace_5min: Path) -> None:
    """The first run learns and writes ``radio.json`` (nothing in it but the radio: no token); the second starts
    from it and has nothing new to write; a stop writes what changed since the last health event."""
    first = run_gateway(tmp_path, store_trace_5min, CONFIG)
    assert last_health(first)["radio_memory_loaded"] == 0
    assert last_health(first)["radio_memory_saved"] >= 1
    data = (tmp_path / RADIO_FILE).read_bytes()
    kept = msgspec.json.decode(data, type=RadioFile)  # (forbid_unknown_fields: the radio and nothing else)
    assert kept.layout == LAYOUT
    assert set(kept.radio.offsets_db) <= {s.id for s in CONFIG.scanners}
    assert b"token" not in data
    second = run_gateway(tmp_path, store_trace_5min, CONFIG)
    health = last_health(second)
    assert (health["radio_memory_loaded"], health["radio_memory_rejected"]) == (1, 0)
    again = msgspec.json.decode((tmp_path / RADIO_FILE).read_bytes(), type=RadioFile)  # (learned on from the kept)
    assert again.layout == LAYOUT
    assert again.radio.miss_p is not None  # (the store's miss rate and wall were learned and kept)
    assert again.radio.wall_db is not None


def test_a_bad_radio_file_starts_cold_and_is_counted(tmp_path: Path, store_trace_5min: Path) -> None:
    """A truncated file: the run is the cold run, event for event, with the file counted as rejected (and replaced
    by what this run learned)."""
    (tmp_path / "cold").mkdir()
    (tmp_path / "bad").mkdir()
    cold = run_gateway(tmp_path / "cold", store_trace_5min, CONFIG)
    (tmp_path / "bad" / RADIO_FILE).write_bytes(b'{"version": 1, "lay')
    bad = run_gateway(tmp_path / "bad", store_trace_5min, CONFIG)
    assert last_health(bad)["radio_memory_rejected"] == 1
    assert last_health(bad)["radio_memory_loaded"] == 0
    assert presence_of(bad) == presence_of(cold)
    assert decode((tmp_path / "bad" / RADIO_FILE).read_bytes(), LAYOUT, CONFIG.scanners) == decode(
        (tmp_path / "cold" / RADIO_FILE).read_bytes(), LAYOUT, CONFIG.scanners
    )


def test_a_radio_that_cannot_be_written_is_counted_not_raised(tmp_path: Path, store_trace_5min: Path) -> None:
    """``radio.json`` a directory: it cannot be read nor replaced; the run ends normally, the writes counted."""
    (tmp_path / RADIO_FILE).mkdir()
    events = run_gateway(tmp_path, store_trace_5min, CONFIG)
    health = last_health(events)
    assert health["radio_memory_rejected"] == 1
    assert health["radio_memory_save_errors"] >= 1
    assert health["radio_memory_saved"] == 0
    assert presence_of(events)


def test_edge_doctor_shows_the_kept_radio(tmp_path: Path) -> None:
    """``edge doctor``'s radio row: nothing learned yet, what was learned and when, or why the next start will not use
    it (a warning, never a failure); the model engine keeps none (the threshold engine's offsets:
    tests/test_presence_offsets_memory.py)."""
    from edge.ops.checks import check_radio

    config = msgspec.structs.replace(CONFIG, gateway=msgspec.structs.replace(CONFIG.gateway, state_dir=str(tmp_path)))
    assert check_radio(default_config("model"), tmp_path).status == "skip"
    first = check_radio(config, Path("/"))
    assert (first.status, first.detail) == ("ok", "nothing learned yet: the engine starts from the configured radio "
                                            "(path-loss exponent 2.2)")  # fmt: skip
    (tmp_path / RADIO_FILE).write_bytes(encode(STEEP, LAYOUT, 1_795_428_000.0))
    kept = check_radio(config, Path("/"), now=1_795_428_000.0 + 600)
    assert kept.status == "ok"
    assert (
        kept.detail
        == f"learned: path-loss exponent 3.2, sigma 6.5 dB, scanner offsets {FIRST} -2.5 dB, adverts missed 25 %, "
        "wall 12 dB; saved 10 min ago"
    )
    moved = msgspec.structs.replace(CONFIG.scanners[0], y_m=CONFIG.scanners[0].y_m + 2.0)
    elsewhere = msgspec.structs.replace(config, scanners=(moved, *CONFIG.scanners[1:]))
    stale = check_radio(elsewhere, Path("/"))
    assert stale.status == "warn"
    assert "another layout" in stale.detail
    assert str(tmp_path / RADIO_FILE) in stale.detail
