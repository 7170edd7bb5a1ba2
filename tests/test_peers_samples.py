"""A gateway hears its peers' scanners through their summaries (edge.peers.summary, edge.sim.sweep.peers): every
sighting arrives, none before it was heard, and what the engine learns of the store's scanners is what it learns
hearing every scanner itself -- the samples rebuilt from a summary are as loud on average as the peer heard them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from edge.peers.summary import EARLY_AT_S, SLOT_S
from edge.presence import PresenceEngine
from edge.sim.sweep import simulate
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.peers import DELAY_S, as_gateway, owners


def _cell(name: str) -> int:
    return next(i for i, cell in enumerate(CELLS) if cell.name == name)


def test_a_gateway_gets_every_sighting_its_own_at_once_its_peers_at_their_parts_end() -> None:
    cell = CELLS[_cell("today's store")]
    run = simulate(cell, 1, minutes=2.0, shoppers=6)
    owner = owners(cell.layout, 3)
    assert sorted(set(owner.values())) == [0, 1, 2]
    got = as_gateway(run, owner, 1)
    assert len(got) == len(run.sightings)
    assert [t for t, _ in got] == sorted(t for t, _ in got)
    for arrived, sighting in got:
        if owner[sighting.scanner] == 1:
            assert arrived == sighting.at
        else:  # a part's end (half way or whole) plus the delivery delay, never before it was heard
            part = arrived - DELAY_S - math.floor(arrived - DELAY_S)
            assert part == pytest.approx(EARLY_AT_S) or part == pytest.approx(0.0, abs=1e-6)
            assert sighting.at <= arrived
            assert arrived - sighting.at <= SLOT_S + DELAY_S + 1e-6
    assert sorted((s.token, s.scanner) for _, s in got) == sorted((s.token, s.scanner) for s in run.sightings)


def test_a_streamed_peer_delivers_each_sighting_as_heard_after_the_delay() -> None:
    """``benchmarks/presence_peers.py --delivery stream``: no summary, each peer sighting ``delay_s`` after it was
    heard, unchanged; the gateway's own at their time."""
    cell = CELLS[_cell("today's store")]
    run = simulate(cell, 1, minutes=1.0, shoppers=4)
    owner = owners(cell.layout, 3)
    got = as_gateway(run, owner, 1, delay_s=0.2, stream=True)
    assert [t for t, _ in got] == sorted(t for t, _ in got)
    assert sorted((s.at, s.token, s.scanner, s.rssi) for _, s in got) == sorted(
        (s.at, s.token, s.scanner, s.rssi) for s in run.sightings
    )
    for arrived, sighting in got:
        late = 0.0 if owner[sighting.scanner] == 1 else 0.2
        assert arrived == pytest.approx(sighting.at + late)
    assert {t - s.at for t, s in as_gateway(run, owner, 1, delay_s=0.0, stream=True)} == {0.0}


@pytest.mark.parametrize("value", ["-0.1", "nan", "inf", "10.5"])
def test_the_peers_benchmark_refuses_a_delay_out_of_range(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """``--delay-s`` below 0, above ten slots or not a number is refused by name before anything runs."""
    from benchmarks import presence_peers

    with pytest.raises(SystemExit) as exited:
        presence_peers.main(["--delay-s", value, "--cells", "0", "--seeds", "1"])
    assert exited.value.code == 2
    assert "--delay-s" in capsys.readouterr().err


def _learned(cell_index: int, gateways: int) -> dict[str, float]:
    cell = CELLS[cell_index]
    run = simulate(cell, 1, minutes=30.0, shoppers=60)
    config = cell.layout.config()
    engine = PresenceEngine(config.zones, config.presence, config.scanners)
    owner = owners(cell.layout, gateways)
    tick = run.start
    for arrived, sighting in as_gateway(run, owner, 0):
        while tick + 0.25 <= arrived:
            tick += 0.25
            engine.tick(tick)
        engine.observe(sighting)
    learned = engine.radio()
    return {key.split(":", 1)[1]: v for key, v in learned.items() if key.startswith("offset_db:") and v is not None}


def test_a_scanner_heard_through_peers_is_learned_as_if_heard_directly() -> None:
    """Today's store, scn-baby 4 dB hot, gateway 0 of 3 (its own scanners: the entrance's and produce's; scn-baby
    and four more through two peers): every offset within 0.3 dB of hearing every scanner itself. Before the
    samples were rebuilt about the median, the loudest of each slot's 2-3 samples made the peers' scanners read
    louder than the gateway's own, which it learned about 0.8 dB quiet (the entrance's +0.97 against +0.14 dB,
    produce's +0.21 against -0.61)."""
    index = _cell("scanner calibration +4 dB (scn-baby)")
    alone = _learned(index, 1)
    shared = _learned(index, 3)
    assert alone.keys() == shared.keys()
    assert alone["scn-baby"] < -3.0
    for scanner, offset in alone.items():
        assert shared[scanner] == pytest.approx(offset, abs=0.5), scanner


def test_the_peers_benchmark_judges_both_ways(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """benchmarks/presence_peers.py on one small cell: both runs judged, the figure through peers beside the
    baseline hearing every scanner, and its ratio."""
    from benchmarks import presence_peers, presence_sweep

    for name in ("ONLY_ENGINES", "HEARD"):  # (the sweep's module state, as it was for the tests after this one)
        monkeypatch.setattr(presence_sweep, name, getattr(presence_sweep, name))

    argv = ["--cells", "0", "--seeds", "1", "--minutes", "2", "--shoppers", "6", "--jobs", "1"]
    assert presence_peers.main([*argv, "--cache", str(tmp_path)]) == 0
    last = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert last["benchmark"] == "presence_peers"
    assert last["figure"] >= 0.0
    assert last["baseline"] > 0.0
    assert last["ratio"] == pytest.approx(last["figure"] / last["baseline"], abs=1e-3)
    (cell,) = last["per_cell"]
    assert cell["alone"].keys() == cell["peers"].keys()
