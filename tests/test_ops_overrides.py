"""Remote config overrides: pure validation, persistence, rollback, and `edge run` applying one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge.config import Config, ZoneConfig, apply_override
from edge.errors import ConfigError, DownlinkError
from edge.inputs import Downlink
from edge.ops.overrides import OverrideHandler, OverrideStore
from edge.ops.service import EXIT_RESTART
from tests.helpers import START, write_trace

BASE = Config(zones=(ZoneConfig(id="baby", scanners=("gw-1",)),))
TOPIC = "cdp/v1/store-1/gw-1/config"


def test_an_override_merges_tables_and_replaces_arrays() -> None:
    config = apply_override(
        BASE, {"presence": {"path_loss_exponent": 2.8}, "zones": [{"id": "toys", "scanners": ["x"]}]}
    )
    assert config.presence.path_loss_exponent == 2.8
    assert config.presence.rssi_window_s == BASE.presence.rssi_window_s
    assert [z.id for z in config.zones] == ["toys"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"zones": [{"id": "a", "scanners": ["g"], "exit_rssi_dbm": -10}]}, "zones[0].exit_rssi_dbm"),
        ({"presence": {"path_loss_exponent": "far"}}, "presence.path_loss_exponent"),
        ({"presence": {"tick_interval_s": float("inf")}}, "presence.tick_interval_s: must be a finite number"),
        ({"zones": [{"id": "a", "scanners": ["g"], "exit_timeout_s": float("nan")}]}, "zones[0].exit_timeout_s"),
        ({"mqtt": {"url": "mqtt://evil"}}, "cannot be changed remotely"),
        ({"gateway": {"store": "other"}}, "cannot be changed remotely"),
        ([1, 2], "JSON object"),
    ],
)
def test_an_invalid_override_is_rejected_naming_the_key(override: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        apply_override(BASE, override)


def test_the_handler_persists_a_valid_override_once_and_rejects_an_invalid_one(tmp_path: Path) -> None:
    restarts: list[int] = []
    store = OverrideStore(tmp_path)
    handler = OverrideHandler(BASE, store, on_restart=lambda: restarts.append(1))
    with pytest.raises(DownlinkError, match=r"presence\.tick_interval_s"):
        handler(Downlink(0.0, TOPIC, b'{"presence": {"tick_interval_s": 0}}'))
    assert not store.path.exists()
    with pytest.raises(DownlinkError, match=r"presence\.tick_interval_s: must be a finite number"):
        handler(Downlink(0.0, TOPIC, b'{"presence": {"tick_interval_s": Infinity}}'))  # Python's JSON reads it
    assert not store.path.exists()
    assert restarts == []

    good = {"presence": {"path_loss_exponent": 3.0}}
    handler(Downlink(0.0, TOPIC, json.dumps(good).encode()))
    assert json.loads(store.path.read_bytes()) == good
    assert restarts == [1]
    handler(Downlink(1.0, TOPIC, json.dumps(good).encode()))  # the retained message again
    assert restarts == [1]
    assert handler.health() == {"config_overrides_accepted": 1, "config_overrides_rejected": 2}


def test_an_override_that_never_became_ready_is_rolled_back(tmp_path: Path) -> None:
    store = OverrideStore(tmp_path)
    store.accept({"presence": {"path_loss_exponent": 2.5}})
    store.confirm()
    store.accept({"presence": {"path_loss_exponent": 3.5}})

    first = OverrideStore(tmp_path).effective(BASE)  # the start that tries it…
    assert first.presence.path_loss_exponent == 3.5
    # …crashed before READY=1: the next start goes back to the last good one.
    second = OverrideStore(tmp_path).effective(BASE)
    assert second.presence.path_loss_exponent == 2.5

    confirmed = OverrideStore(tmp_path)
    confirmed.effective(BASE)
    confirmed.confirm()
    assert OverrideStore(tmp_path).effective(BASE).presence.path_loss_exponent == 2.5


def test_edge_run_applies_a_remote_override_by_restarting(tmp_path: Path) -> None:
    bad = {"zones": [{"id": "baby", "scanners": []}]}
    good = {"presence": {"path_loss_exponent": 3.1}}
    lines = [
        {"t": 0.2, "kind": "downlink", "topic": TOPIC, "payload": bad},
        {"t": 0.4, "kind": "downlink", "topic": TOPIC, "payload": good},
        {"t": 30.0, "kind": "shelf", "shelf": "nowhere", "action": "touch", "sku": "1"},
    ]
    write_trace(tmp_path / "trace.jsonl", lines, START)
    config = tmp_path / "edge.toml"
    config.write_text(
        '[gateway]\nstate_dir = "state"\n\n[ble]\nbackend = "replay"\ntrace = "trace.jsonl"\nspeed = 10.0\n\n'
        '[[zones]]\nid = "baby"\nscanners = ["gw-1"]\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "edge", "run", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == EXIT_RESTART, result.stderr
    assert "zones[0].scanners" in result.stderr  # the rejected one, by key
    assert json.loads((tmp_path / "state/config-override.json").read_text()) == good
