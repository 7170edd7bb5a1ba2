"""`edge doctor` without a config still runs what needs none, and a valid but useless config warns."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from edge.config import load
from edge.ops.checks import check_disk, check_zones
from edge.ops.doctor import NEEDS_CONFIG, run_checks

WITHOUT_CONFIG = ("bluetooth adapter", "permissions", "display", "clock", "disk")
"""Checks that run on the defaults when there is no valid config."""


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(text)
    return path


def test_without_a_config_every_check_that_needs_none_runs(tmp_path: Path) -> None:
    results = asyncio.run(run_checks(tmp_path / "missing.toml", tmp_path))
    by_name = {r.name: r for r in results}
    assert by_name["config"].status == "fail"
    assert "does not exist" in by_name["config"].detail
    assert "edge provision" in by_name["config"].fix
    for name in WITHOUT_CONFIG:
        assert by_name[name].detail != "needs a valid config", by_name[name]
    assert by_name["display"].status != "fail"  # a box without a screen is fine when none is configured
    for name in NEEDS_CONFIG:
        assert (by_name[name].status, by_name[name].detail) == ("skip", "needs a valid config")


def test_an_invalid_config_runs_the_same_checks_and_says_which_need_one(tmp_path: Path) -> None:
    config = _config(tmp_path, '[ble]\nbackend = "replay"\n')
    done = subprocess.run(
        [sys.executable, "-m", "edge", "doctor", "--config", str(config), "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "ble.trace" in done.stdout
    assert "clock" in done.stdout
    assert "disk" in done.stdout
    needs = ", ".join(NEEDS_CONFIG)
    assert f"without a valid config the {needs} checks cannot run: fix {config} or give --config FILE" in done.stdout


def test_a_config_without_zones_or_with_this_radio_in_none_warns(tmp_path: Path) -> None:
    empty = check_zones(load(_config(tmp_path, '[gateway]\ngateway = "gw-7"\n')))
    assert empty.status == "warn"
    assert "no [[zones]]" in empty.detail
    assert "scanners" in empty.fix
    elsewhere = check_zones(
        load(_config(tmp_path, '[gateway]\ngateway = "gw-7"\n\n[[zones]]\nid = "a"\nscanners = ["gw-1"]\n'))
    )
    assert elsewhere.status == "warn"
    assert "'gw-7' is in no zone's scanners" in elsewhere.detail
    good = check_zones(
        load(_config(tmp_path, '[gateway]\ngateway = "gw-7"\n\n[[zones]]\nid = "a"\nscanners = ["gw-7"]\n'))
    )
    assert (good.status, good.detail) == ("ok", "1 zone(s), 1 scanner id(s), the presence engine threshold")
    drawn = (
        '[gateway]\ngateway = "gw-7"\n\n[[zones]]\nid = "a"\nscanners = ["gw-7"]\narea_m = [0.0, 0.0, 4.0, 3.0]\n\n'
        '[[scanners]]\nid = "gw-7"\nx_m = 2.0\ny_m = 1.5\n\n[[floor.area]]\nrect_m = [0.0, 0.0, 12.0, 3.0]\n'
    )
    said = check_zones(load(_config(tmp_path, drawn))).detail
    assert said.endswith("the presence engine grid (auto: the store is drawn)")
    named = drawn.replace("[gateway]", '[presence]\nengine = "threshold"\n\n[gateway]')
    assert check_zones(load(_config(tmp_path, named))).detail.endswith("the presence engine threshold")
    replay = _config(
        tmp_path, '[ble]\nbackend = "replay"\ntrace = "t.jsonl"\n\n[[zones]]\nid = "a"\nscanners = ["s"]\n'
    )
    assert check_zones(load(replay)).status == "ok"  # a replay's scanner ids come from the trace
    results = asyncio.run(run_checks(_config(tmp_path, '[gateway]\nstate_dir = "state"\n'), tmp_path))
    assert next(r for r in results if r.name == "zones").status == "warn"


def test_a_rejected_roster_file_is_a_failure_naming_the_file_and_field(tmp_path: Path) -> None:
    import json

    from edge.ops.checks import check_roster
    from tests.helpers import roster_dict

    data = roster_dict()
    data["shoppers"][1]["ids"][0]["tk"] = "00"
    (tmp_path / "roster.json").write_text(json.dumps(data))
    config = load(_config(tmp_path, '[gateway]\nstate_dir = "state"\nroster_file = "roster.json"\n'))
    result = check_roster(config, Path("/"))
    assert result.status == "fail"
    assert f"{tmp_path / 'roster.json'} is invalid" in result.detail
    assert "$.shoppers[1].ids[0].tk: must be 16 bytes" in result.detail


async def test_the_roster_check_reads_what_the_gateway_stored_through_the_last_good_store(tmp_path: Path) -> None:
    """What a running gateway kept (its StateStore in the real SQLite file) is what doctor reports,
    read through edge.laststate.read_last_good: the store's read-only API, not SQL of its own."""
    from edge.laststate import StateStore, read_last_good
    from edge.ops.checks import check_roster
    from edge.outbox import Outbox
    from tests.helpers import START, roster_bytes

    config = load(_config(tmp_path, '[gateway]\nstore = "store-9"\nstate_dir = "state"\n'))
    state_dir = config.state_path()
    assert check_roster(config, Path("/"), now=START).status == "warn"  # nothing stored yet
    async with Outbox(state_dir, "edge://store-9/gw-1") as outbox:
        store = StateStore(outbox.db, outbox.lock)
        await store.open()
        await store.save("cdp/v1/store-9/roster", roster_bytes(version=7), START - 600)
        await store.save("cdp/v1/store-1/roster", roster_bytes(version=99), START)  # another store's
        stored = read_last_good(state_dir)  # beside the open writer (WAL)
        assert stored.received == {"cdp/v1/store-9/roster": START - 600, "cdp/v1/store-1/roster": START}
        fresh = check_roster(config, Path("/"), now=START)
    assert (fresh.status, fresh.detail) == ("ok", "version 7, 10 min old")
    expired = check_roster(config, Path("/"), now=START + 2 * 86_400)
    assert (expired.status, expired.detail) == ("fail", "version 7 has expired: nobody is recognised")


def test_a_damaged_state_file_fails_the_disk_check_saying_what_to_do(tmp_path: Path) -> None:
    """The gateway refuses to start on a state file SQLite reads as no database: doctor says so (it said
    "outbox unreadable" under an ok), naming the file, and leaves the file where it is."""
    config = load(_config(tmp_path, '[gateway]\nstate_dir = "/state"\n'))
    state = tmp_path / "state"
    state.mkdir()
    assert check_disk(config, tmp_path).status == "ok"
    (state / "signage.sqlite").write_bytes(b"\x00\x13 not SQLite " * 4096)
    result = check_disk(config, tmp_path)
    assert result.status == "fail"
    assert result.detail.startswith(f"{state / 'signage.sqlite'}: file is not a database")
    assert result.fix.startswith("the file is damaged: stop the gateway, move the file out of state_dir")
    assert (state / "signage.sqlite").exists()
