"""The metrics endpoint shows what the presence engine learned of the store's radio (issue #13's self-calibration
knobs, visible to operations): the exponent and sigma in use, and per scanner the learned calibration offset, the
offset applied and its standard error (``edge_presence_radio{quantity,scanner}``). A scanner that reads 4 dB low
is what an operator looks for there. Labels name scanners, never a shopper."""

from __future__ import annotations

import random
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from edge.core import Core
from edge.events import EventFactory
from edge.ops.metrics import Snapshot, _families
from edge.presence import PresenceEngine
from edge.sim.store import default_config


class _Shot(Collector):
    def __init__(self, shot: Snapshot) -> None:
        self.shot = shot

    def collect(self) -> Iterator[Metric]:
        yield from _families(self.shot)


def _scrape(core: Core) -> str:
    registry = CollectorRegistry()
    registry.register(_Shot(Snapshot(radio=core.radio())))
    return generate_latest(registry).decode()


def test_the_grid_engines_learned_radio_is_on_the_endpoint_per_scanner() -> None:
    config = default_config("grid")
    core = Core(config, EventFactory("store-1", "gw-1", random.Random(1)))
    text = _scrape(core)
    exponent = config.presence.path_loss_exponent
    assert f'edge_presence_radio{{quantity="exponent",scanner=""}} {exponent}' in text
    for scanner in config.scanners:  # nothing learned yet: applied 0, standard error infinite, learned absent
        assert f'edge_presence_radio{{quantity="offset_applied_db",scanner="{scanner.id}"}} 0.0' in text
        assert f'edge_presence_radio{{quantity="offset_se_db",scanner="{scanner.id}"}} +Inf' in text
        assert f'quantity="offset_db",scanner="{scanner.id}"' not in text


def test_the_threshold_engine_shows_nothing_before_it_has_learned_an_offset() -> None:
    core = Core(default_config("threshold"), EventFactory("store-1", "gw-1", random.Random(1)))
    assert core.radio() == {}
    text = _scrape(core)
    assert "# TYPE edge_presence_radio gauge" in text
    assert "edge_presence_radio{" not in text


def test_the_threshold_engines_learned_offsets_are_on_the_endpoint() -> None:
    """Its scanner offsets, once learned (edge.presence_offsets): the hot scanner's applied, the others' 0."""
    from tests.test_presence_offsets import config, run, store

    engine = PresenceEngine(*config())
    run(engine, store(1, {"scn-b": 4.0}))
    registry = CollectorRegistry()
    registry.register(_Shot(Snapshot(radio=engine.radio())))
    text = generate_latest(registry).decode()
    assert 'edge_presence_radio{quantity="offset_applied_db",scanner="scn-b"} -4.0' in text
    assert 'edge_presence_radio{quantity="offset_applied_db",scanner="scn-a"} 0.0' in text
    assert 'quantity="offset_se_db",scanner="scn-b"' in text
