"""`edge calibrate` over a replayed trace, the TOML edit it makes, and the metrics hooks."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from edge.config import load
from edge.histogram import Histogram
from edge.ops import metrics
from edge.ops.calibrate import CalibrationError, set_toml_value, summarise
from tests.helpers import CARD_UUID, START, ble_line, card_advert, uid_advert, write_trace


def _trace(tmp_path: Path) -> Path:
    rssi = [-63, -61, -60, -62, -61, -75, -61, -60, -62, -61, -59, -61]  # one deep fade (a passer-by)
    lines = []
    for i, value in enumerate(rssi * 3):
        lines.append(ble_line(i * 0.5, card_advert(START + i * 0.5, rssi=value)))
        lines.append(ble_line(i * 0.5 + 0.1, uid_advert(START + i * 0.5 + 0.1, rssi=-40)))  # another beacon
    return write_trace(tmp_path / "cal.jsonl", lines)


def test_calibrate_writes_the_median_at_1m_to_the_config(tmp_path: Path) -> None:
    _trace(tmp_path)
    config = tmp_path / "edge.toml"
    config.write_text(
        '# the store\n[gateway]\nstore = "store-1"\n\n[presence]\npath_loss_exponent = 2.4  # measured\n\n'
        '[ble]\nbackend = "replay"\ntrace = "cal.jsonl"\n'
    )
    beacon = json.dumps({"type": "ibeacon", "uuid": str(CARD_UUID), "major": 1, "minor": 2})
    result = subprocess.run(
        [sys.executable, "-m", "edge", "calibrate", "--config", str(config), "--beacon", beacon, "--seconds", "60"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "36 samples: median -61.0 dBm" in result.stdout
    assert load(config).presence.measured_power_1m_dbm == -61.0
    text = config.read_text()
    assert "# the store" in text
    assert "path_loss_exponent = 2.4  # measured" in text


def test_calibrate_without_the_beacon_says_what_to_do(tmp_path: Path) -> None:
    _trace(tmp_path)
    config = tmp_path / "edge.toml"
    config.write_text('[ble]\nbackend = "replay"\ntrace = "cal.jsonl"\n')
    beacon = json.dumps({"type": "ibeacon", "uuid": str(CARD_UUID), "major": 9, "minor": 9})
    result = subprocess.run(
        [sys.executable, "-m", "edge", "calibrate", "--config", str(config), "--beacon", beacon, "--seconds", "5"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "only 0 samples" in result.stderr
    assert "1 m away" in result.stderr
    assert "measured_power_1m_dbm" not in config.read_text()


def test_set_toml_value_replaces_adds_or_appends() -> None:
    assert set_toml_value(
        "[presence]\nmeasured_power_1m_dbm = -59\n", "presence", "measured_power_1m_dbm", "-61.0"
    ) == ("[presence]\nmeasured_power_1m_dbm = -61.0\n")
    assert set_toml_value("[presence]\na = 1\n\n[ble]\nb = 2\n", "presence", "m", "1") == (
        "[presence]\na = 1\nm = 1\n\n[ble]\nb = 2\n"
    )
    assert set_toml_value("[ble]\nb = 2\n", "presence", "m", "1") == "[ble]\nb = 2\n\n[presence]\nm = 1\n"


def test_summarise_needs_enough_samples() -> None:
    with pytest.raises(CalibrationError, match="only 3 samples"):
        summarise([-60, -61, -62], None)
    assert summarise([-60] * 9 + [-90], -59.0).median_dbm == -60.0


def test_scrape_time_families_carry_the_latency_histogram_and_decisions() -> None:
    latency = Histogram((0.005, 0.05, 1.0))
    for seconds in (0.003, 0.005, 0.02, 7.0):
        latency.observe(seconds)
    assert latency.cumulative() == [("0.005", 2.0), ("0.05", 3.0), ("1.0", 3.0), ("+Inf", 4.0)]
    shot = metrics.Snapshot(
        publish_latency=(latency.cumulative(), latency.sum_s),
        decisions={("screen-1", "personal"): 2, ("screen-1", "generic"): 5},
    )

    class Fixed(Collector):
        def collect(self) -> Iterator[Metric]:
            return metrics._families(shot)

    registry = CollectorRegistry()
    registry.register(Fixed())
    assert registry.get_sample_value("edge_publish_latency_seconds_bucket", {"le": "0.005"}) == 2
    assert registry.get_sample_value("edge_publish_latency_seconds_count") == 4
    assert registry.get_sample_value("edge_publish_latency_seconds_sum") == pytest.approx(7.028)
    assert registry.get_sample_value("edge_decisions_total", {"screen": "screen-1", "kind": "generic"}) == 5
    with pytest.raises(ValueError, match="increasing"):
        Histogram((1.0, 0.5))
