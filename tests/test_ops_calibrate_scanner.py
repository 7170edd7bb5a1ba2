"""``edge calibrate --scanner ID``: one scanner's offset measured at 1 m and written to its ``[[scanners]]`` table.

Over a recorded trace (the replay backend), like the gateway-wide calibration's tests: a card advertising -59 dBm
at 1 m reads a median of -55 dBm at the hot scanner, so its offset is -4 dB; the other scanner's readings (the same
card, further away) are not counted.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import load
from edge.ops.calibrate import CalibrationError, set_scanner_value
from tests.helpers import CARD_UUID, ble_line, card_advert, write_trace

BEACON = json.dumps({"type": "ibeacon", "uuid": str(CARD_UUID), "major": 1, "minor": 2})
CONFIG = """# the store
[ble]
backend = "replay"
trace = "cal.jsonl"

[[scanners]]
id = "gw-1"   # by the baby aisle
x_m = 0.0
y_m = 0.0

[[scanners]]
id = 'gw-2'
x_m = 8.0
y_m = 0.0
offset_db = 1.5

[presence]
path_loss_exponent = 2.4  # measured
"""


def _trace(tmp_path: Path, hot_dbm: list[int], far: bool = True) -> None:
    lines = []
    for i, value in enumerate(hot_dbm * 3):
        lines.append(ble_line(i * 0.5, card_advert(1_795_428_000.0 + i * 0.5, rssi=value, scanner="gw-1")))
        if far:
            lines.append(ble_line(i * 0.5 + 0.1, card_advert(1_795_428_000.1 + i * 0.5, rssi=-80, scanner="gw-2")))
    write_trace(tmp_path / "cal.jsonl", lines)


def _calibrate(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", "calibrate", "--config", str(config), "--beacon", BEACON, *extra],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_calibrate_a_scanner_writes_its_offset(tmp_path: Path) -> None:
    _trace(tmp_path, [-55, -54, -56, -55, -70, -55, -53, -55, -57, -55])  # one deep fade
    config = tmp_path / "edge.toml"
    config.write_text(CONFIG)
    result = _calibrate(config, "--scanner", "gw-1", "--seconds", "60")
    assert result.returncode == 0, result.stderr
    assert "30 samples: median -55.0 dBm" in result.stdout
    assert "scanner gw-1's offset: -4.0 dB" in result.stdout
    loaded = load(config)
    assert {s.id: s.offset_db for s in loaded.scanners} == {"gw-1": -4.0, "gw-2": 1.5}
    assert loaded.presence.measured_power_1m_dbm == -59.0  # the gateway-wide value untouched
    text = config.read_text()
    assert 'id = "gw-1"   # by the baby aisle' in text
    assert "path_loss_exponent = 2.4  # measured" in text
    assert text.index("offset_db = -4.0") < text.index("id = 'gw-2'")  # in gw-1's own table


def test_calibrate_a_scanner_far_off_or_dry_run_writes_nothing(tmp_path: Path) -> None:
    _trace(tmp_path, [-61] * 10)
    config = tmp_path / "edge.toml"
    config.write_text(CONFIG)
    result = _calibrate(config, "--scanner", "gw-2", "--seconds", "60")  # gw-2 hears the card at -80: far off
    assert result.returncode == 2
    assert "more than 12 dB off" in result.stderr
    assert config.read_text() == CONFIG  # nothing written
    result = _calibrate(config, "--scanner", "gw-1", "--seconds", "60", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "offset: +2.0 dB" in result.stdout
    assert config.read_text() == CONFIG


def test_calibrate_an_unknown_scanner_says_what_to_do(tmp_path: Path) -> None:
    _trace(tmp_path, [-55] * 10)
    config = tmp_path / "edge.toml"
    config.write_text(CONFIG)
    result = _calibrate(config, "--scanner", "gw-9", "--seconds", "60")
    assert result.returncode == 2
    assert "no [[scanners]] entry with id = 'gw-9'" in result.stderr
    assert config.read_text() == CONFIG


def test_set_scanner_value_replaces_or_adds_in_the_scanners_own_table() -> None:
    two = '[[scanners]]\nid = "a"\nx_m = 0\n\n# b, by the door\n[[scanners]]\nid = "b"\noffset_db = 2\ny_m = 1\n'
    assert set_scanner_value(two, "a", "offset_db", "-4.0") == (
        '[[scanners]]\nid = "a"\nx_m = 0\noffset_db = -4.0\n\n# b, by the door\n[[scanners]]\nid = "b"\n'
        "offset_db = 2\ny_m = 1\n"
    )
    assert set_scanner_value(two, "b", "offset_db", "-4.0") == two.replace("offset_db = 2", "offset_db = -4.0")
    with pytest.raises(CalibrationError, match="no \\[\\[scanners\\]\\] table with id = 'c'"):
        set_scanner_value(two, "c", "offset_db", "1.0")
    inline = 'scanners = [{id = "a", x_m = 0, y_m = 0}]\n'
    with pytest.raises(CalibrationError, match="by hand"):
        set_scanner_value(inline, "a", "offset_db", "1.0")


def test_the_gateway_wide_calibration_reads_a_scanner_through_its_offset(tmp_path: Path) -> None:
    """Once gw-1's offset is written, the 1 m power measured over it is the corrected one the engines compare with."""
    _trace(tmp_path, [-55] * 10, far=False)
    config = tmp_path / "edge.toml"
    config.write_text(CONFIG)
    assert _calibrate(config, "--scanner", "gw-1", "--seconds", "60").returncode == 0
    result = _calibrate(config, "--seconds", "60")
    assert result.returncode == 0, result.stderr
    assert "30 samples: median -59.0 dBm" in result.stdout
    assert load(config).presence.measured_power_1m_dbm == -59.0
