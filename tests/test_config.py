from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import load
from edge.errors import ConfigError

GOOD = """
[gateway]
store = "store-1"
gateway = "gw-1"
state_dir = "state"

[ble]
backend = "replay"
trace = "trace.jsonl"
speed = 4.0

[[zones]]
id = "baby"
scanners = ["gw-1"]
tags = ["baby"]
exit_timeout_s = 4.0

[[screens]]
id = "screen-1"
zone = "baby"

[[shelves]]
id = "shelf-a3"
zone = "baby"

[vision]
enabled = false
source = "/dev/video0"
screen = "screen-1"
"""


def test_the_design_keys_load(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(GOOD)
    config = load(path)
    assert config.gateway.store == "store-1"
    assert config.ble.trace == str(tmp_path / "trace.jsonl")
    assert config.zones[0].tags == ("baby",)
    assert config.zones[0].exit_timeout_s == 4.0
    assert config.zones[0].enter_rssi_dbm is None  # unset: the threshold engine derives it
    assert config.state_path() == tmp_path / "state"


@pytest.mark.parametrize(
    ("change", "where", "what"),
    [
        (("speed = 4.0", 'speed = "fast"'), "ble.speed", "Expected `float`"),
        (("speed = 4.0", "speed = 0"), "ble.speed", "> 0"),
        (('tags = ["baby"]', 'tags = ["baby"]\ncolour = 1'), "zones[0]", "unknown field `colour`"),
        (('zone = "baby"\n\n[[shelves]]', 'zone = "toys"\n\n[[shelves]]'), "screens[0].zone", "no zone 'toys'"),
        (("exit_timeout_s = 4.0", "exit_rssi_dbm = -10.0"), "zones[0].exit_rssi_dbm", "must not be above"),
        (("exit_timeout_s = 4.0", "exit_rssi_dbm = nan"), "zones[0].exit_rssi_dbm", "finite"),
        (("exit_timeout_s = 4.0", "enter_rssi_dbm = -inf"), "zones[0].enter_rssi_dbm", "finite"),
        (("exit_timeout_s = 4.0", "exit_timeout_s = inf"), "zones[0].exit_timeout_s", "finite"),
        (("speed = 4.0", "speed = inf"), "ble.speed", "finite"),
        (("speed = 4.0", "speed = 4.0\nstart_at = 0"), "ble.start_at", "> 0"),
        (("speed = 4.0", "speed = 4.0\nstart_at = inf"), "ble.start_at", "finite"),
        (("speed = 4.0", 'speed = 4.0\nstart_at = "now"'), "ble.start_at", "Expected `float | null`, got `str`"),
        (("speed = 4.0", "speed = 4.0\nwatchdog_s = nan"), "ble.watchdog_s", "finite"),
        (("[vision]", "[presence]\ntick_interval_s = inf\n\n[vision]"), "presence.tick_interval_s", "finite"),
        (("[vision]", "[presence]\nmeasured_power_1m_dbm = nan\n[vision]"), "presence.measured_power_1m_dbm", "finite"),
        (("exit_timeout_s = 4.0", "enter_rssi_dbm = 1e300"), "zones[0].enter_rssi_dbm", "<= 20"),
        (
            ("[vision]", '[[scanners]]\nid = "gw-1"\nx_m = 0\ny_m = 0\noffset_db = 40\n\n[vision]'),
            "scanners[0].offset_db",
            "<= 20",
        ),
        (
            ("[vision]", '[[scanners]]\nid = "gw-1"\nx_m = 0\ny_m = 0\noffset_db = -21\n\n[vision]'),
            "scanners[0].offset_db",
            ">= -20",
        ),
        (('store = "store-1"', 'store = "store/1"'), "gateway.store", "not a valid id"),
        (('backend = "replay"', 'backend = "hci"'), "ble.backend", "Invalid enum value 'hci'"),
        (('screen = "screen-1"', 'screen = "screen-9"'), "vision.screen", "no screen"),
    ],
)
def test_a_bad_key_is_named_with_the_problem(tmp_path: Path, change: tuple[str, str], where: str, what: str) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(GOOD.replace(*change))
    with pytest.raises(ConfigError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: {where}")
    assert what in str(err.value)


def test_unreadable_and_invalid_toml_are_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[gateway\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(bad)


def test_relative_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "etc" / "edge"
    folder.mkdir(parents=True)
    path = folder / "config.toml"
    path.write_text(
        """
[gateway]
state_dir = "state"
roster_file = "roster.json"

[ble]
backend = "replay"
trace = "traces/store.jsonl"

[mqtt]
url = "mqtts://broker.example:8883"
ca_file = "tls/ca.pem"
cert_file = "/etc/edge/tls/gw.pem"
key_file = "~/gw.key"

[signage]
backend = "headless"
frames_dir = "frames"
content_dir = "../content"
"""
    )
    config = load(path)
    assert config.gateway.state_dir == str(folder / "state")
    assert config.gateway.roster_file == str(folder / "roster.json")
    assert config.ble.trace == str(folder / "traces/store.jsonl")
    assert config.mqtt.ca_file == str(folder / "tls/ca.pem")
    assert config.mqtt.cert_file == "/etc/edge/tls/gw.pem"  # absolute: as written
    assert config.mqtt.key_file == "~/gw.key"  # the home directory: as written
    assert config.signage.frames_dir == str(folder / "frames")
    assert config.signage.content_dir == str(folder / "../content")


def test_enter_rssi_dbm_is_optional_and_an_explicit_value_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(GOOD.replace("exit_timeout_s = 4.0", "exit_timeout_s = 4.0\nenter_rssi_dbm = -71.5"))
    assert load(path).zones[0].enter_rssi_dbm == -71.5  # the default's value, written out: the operator's


def test_exit_above_the_default_enter_is_refused_when_enter_is_unset(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(GOOD.replace("exit_timeout_s = 4.0", "exit_rssi_dbm = -71.0"))
    with pytest.raises(ConfigError, match="must not be above enter_rssi_dbm"):
        load(path)
