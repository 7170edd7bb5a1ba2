"""Bad input is named, not swallowed: a rejected roster file stops the command (exit 2) with
``file: field: problem``; unknown fields and scopes from the CDP are accepted, ignored and named once
in the log without a value; ``edge replay TRACE --config`` needs no ``ble.trace``."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edge import unknown
from edge.config import apply_override
from edge.errors import ConfigError, DownlinkError, InputFileError
from edge.roster import load_roster_file, parse_roster
from edge.signage.offers import load_offers_file, load_rules_file, parse_offers, parse_rules
from edge.sim.store import SimulatedStore, default_config
from edge.sync.messages import decode_withdraw, note_checkin
from tests.helpers import CARD_UUID, TK, roster_dict

SECRET_TOKEN = "s-secret-7f3a9c"
"""A token that must never reach a log line or an error message."""


@pytest.fixture(autouse=True)
def _fresh_unknown_names() -> Iterator[None]:
    unknown._reset_for_tests()
    yield
    unknown._reset_for_tests()


def edge(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args], capture_output=True, text=True, timeout=90, check=False, cwd=cwd
    )


def roster_with(mutate: Any) -> dict[str, Any]:
    data = roster_dict()
    data["shoppers"][0]["token"] = SECRET_TOKEN
    mutate(data)
    return data


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trace") / "store.jsonl"
    SimulatedStore(seed=3).write_trace(path, 20)
    return path


ZONES = '[[zones]]\nid = "entrance"\nscanners = ["gw-1"]\n'


# --- a rejected roster file stops the command ------------------------------------------------------


def test_a_bad_roster_file_names_file_and_field_and_no_value(tmp_path: Path) -> None:
    path = tmp_path / "roster.json"
    path.write_text(json.dumps(roster_with(lambda d: d["shoppers"][1]["ids"][0].update(tk="00"))))
    with pytest.raises(InputFileError) as err:
        load_roster_file(path)
    assert str(err.value) == f"{path}: $.shoppers[1].ids[0].tk: must be 16 bytes, got 1"
    path.write_text(json.dumps(roster_with(lambda d: d["shoppers"][0]["ids"][0].update(uuid="nope-" + SECRET_TOKEN))))
    with pytest.raises(InputFileError) as err:
        load_roster_file(path)
    assert str(err.value) == f"{path}: $.shoppers[0].ids[0].uuid: is not a UUID"
    path.write_text(json.dumps(roster_with(lambda d: d["shoppers"][0]["ids"][0].update(major="1"))))
    with pytest.raises(InputFileError, match=r"\$\.shoppers\[0\]\.ids\[0\]\.major: Expected `int`, got `str`$"):
        load_roster_file(path)
    path.write_text(json.dumps(roster_with(lambda d: d["shoppers"][0]["ids"][0].update(type=SECRET_TOKEN))))
    with pytest.raises(InputFileError) as err:
        load_roster_file(path)
    assert str(err.value) == f"{path}: $.shoppers[0].ids[0].type: Invalid value '…'"  # msgspec quotes it: cut out
    with pytest.raises(InputFileError, match=r"missing\.json: cannot read the roster: No such file"):
        load_roster_file(tmp_path / "missing.json")


@pytest.mark.parametrize("command", ["replay", "run"])
def test_replay_and_run_exit_2_on_a_rejected_roster_file(tmp_path: Path, trace: Path, command: str) -> None:
    bad = roster_with(lambda d: d["shoppers"][0].update(face={"model": "sface", "embedding": "AAAA"}))
    (tmp_path / "roster.json").write_text(json.dumps(bad))
    config = tmp_path / "edge.toml"
    config.write_text(
        f'[gateway]\nroster_file = "roster.json"\nstate_dir = "state"\n\n'
        f'[ble]\nbackend = "replay"\ntrace = "{trace}"\nspeed = 50.0\n\n{ZONES}'
    )
    args = ["replay", str(trace), "--config", str(config)] if command == "replay" else ["run", "--config", str(config)]
    done = edge(*args)
    assert done.returncode == 2, done.stderr
    assert f"{tmp_path / 'roster.json'}: $.shoppers[0].face: a face template needs the camera scope" in done.stderr
    assert SECRET_TOKEN not in done.stderr + done.stdout
    assert str(CARD_UUID) not in done.stderr


# --- edge replay TRACE --config: the positional trace is the trace ---------------------------------


def test_replay_accepts_a_replay_backend_without_trace_but_run_does_not(tmp_path: Path, trace: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text(f'[presence]\nhealth_interval_s = 5.0\n\n[ble]\nbackend = "replay"\n\n{ZONES}')
    done = edge("replay", str(trace), "--config", str(config))
    assert done.returncode == 0, done.stderr
    assert "edge.gateway.health" in done.stdout
    health = [json.loads(line) for line in done.stdout.splitlines() if "edge.gateway.health" in line]
    assert health[-1]["data"]["unknown_fields_ignored"] == 0
    run = edge("run", "--config", str(config))
    assert run.returncode == 2
    assert f"{config}: ble.trace: the replay backend needs ble.trace" in run.stderr


# --- unknown scopes and fields: accepted, named once, counted, no value -----------------------------


def test_an_unknown_scope_is_ignored_named_once_with_a_hint(caplog: pytest.LogCaptureFixture) -> None:
    def mutate(d: dict[str, Any]) -> None:
        d["shoppers"][0]["scopes"] = ["presence", "personalisation"]
        d["shoppers"][1]["scopes"].append("personalisation")
        d["shoppers"][1]["nickname"] = SECRET_TOKEN
        d["shoppers"][1]["prefs"] = {"large_txt": True}
        d["campaign"] = TK.hex()

    payload = json.dumps(roster_with(mutate)).encode()
    with caplog.at_level(logging.WARNING, logger="edge.unknown"):
        roster = parse_roster(payload)
        parse_roster(payload)  # the same names again: counted, not logged again
    assert roster.shoppers[0].scopes == frozenset({"presence"})  # an unknown scope grants nothing
    assert not roster.shoppers[0].has("personalisation")
    lines = sorted(r.getMessage() for r in caplog.records)
    assert lines == sorted(
        [
            "roster: unknown field 'campaign' at $ — ignored",
            "roster: unknown scope 'personalisation' (did you mean 'personalization'?) — ignored",
            "roster: unknown field 'nickname' at $.shoppers[] — ignored",
            "roster: unknown field 'large_txt' at $.shoppers[].prefs (did you mean 'large_text'?) — ignored",
        ]
    )
    for secret in (SECRET_TOKEN, TK.hex(), str(CARD_UUID)):
        assert secret not in caplog.text
    assert unknown.health() == {"unknown_fields_ignored": 6, "unknown_scopes_ignored": 4}


def test_unknown_offer_rule_withdraw_and_checkin_fields_are_accepted(caplog: pytest.LogCaptureFixture) -> None:
    offers = {
        "version": 1,
        "issued_at": "2026-11-23T09:00:00Z",
        "offers": [{"id": "o-1", "campaign": "c", "headline": {"en": "Hi"}, "category": "food", "badge": "new"}],
        "playlist": [{"id": "g-1", "headline": {"en": "Hello"}, "duraton_s": 5}],
    }
    rules = {"version": 1, "issued_at": "2026-11-23T09:00:00Z", "exclude_recent_purchase": False}
    with caplog.at_level(logging.WARNING, logger="edge.unknown"):
        assert parse_offers(json.dumps(offers).encode()).offers[0].id == "o-1"
        assert parse_rules(json.dumps(rules).encode()).exclude_recent_purchases is True
        assert decode_withdraw(json.dumps({"token": SECRET_TOKEN, "reason": "app"}).encode()).token == SECRET_TOKEN
        note_checkin(json.dumps({"token": SECRET_TOKEN, "screen": "screen-1", "sreen": "x"}).encode())
        note_checkin(b"{not json")  # left to its handler
    text = caplog.text
    assert "offers: unknown field 'badge' at $.offers[]" in text
    assert "offers: unknown field 'duraton_s' at $.playlist[] (did you mean 'duration_s'?)" in text
    assert "rules: unknown field 'exclude_recent_purchase' at $ (did you mean 'exclude_recent_purchases'?)" in text
    assert "withdraw: unknown field 'reason' at $" in text
    assert "checkin: unknown field 'sreen' at $ (did you mean 'screen'?)" in text
    assert SECRET_TOKEN not in text


def test_a_bad_offers_or_rules_payload_or_file_names_the_field(tmp_path: Path) -> None:
    offers = {"version": 1, "issued_at": "2026-11-23T09:00:00Z", "offers": [{"id": "o-1"}]}
    with pytest.raises(DownlinkError, match=r"offers rejected: \$\.offers\[0\]: Object missing required field"):
        parse_offers(json.dumps(offers).encode())
    path = tmp_path / "offers.json"
    path.write_text(json.dumps({**offers, "timezone": "Mars/Base"}))
    with pytest.raises(InputFileError, match=r"offers\.json: \$\.offers\[0\]: Object missing required field"):
        load_offers_file(path)
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps({"version": 1, "issued_at": "yesterday"}))
    with pytest.raises(InputFileError) as err:
        load_rules_file(rules)
    assert str(err.value) == f"{rules}: $.issued_at: 'yesterday' is not an RFC 3339 time"


@pytest.mark.parametrize(
    ("zone", "what"),
    [
        ("Mars/Base", "is not an IANA time zone"),
        ("Europe", "is not an IANA time zone"),
        ("../../etc/passwd", "is not an IANA time zone"),
        ("Europe/\x00", "is not an IANA time zone"),
        ("x" * 65, "Expected `str` of length <= 64"),
    ],
)
def test_an_offers_time_zone_the_database_does_not_hold_is_named(zone: str, what: str) -> None:
    """zoneinfo reads the name as a path: a directory ("Europe") raised OSError, which no downlink handler
    expects (found by mutating the examples' fields, session 49); the schema bounds the name's length."""
    offers = json.loads((Path(__file__).parent.parent / "examples" / "offers.json").read_text())
    assert parse_offers(json.dumps(offers).encode()).timezone.key == "Europe/Berlin"
    with pytest.raises(DownlinkError, match=rf"offers rejected: \$\.timezone: .*{re.escape(what)}"):
        parse_offers(json.dumps({**offers, "timezone": zone}).encode())


def test_a_roster_offers_or_rules_file_nested_too_deep_is_named(tmp_path: Path) -> None:
    """A downlink is checked for depth before msgspec sees it; a file was not, and msgspec's RecursionError (no
    decode error) ended `edge run` with a traceback instead of exit 2 naming the file (session 49)."""
    path = tmp_path / "deep.json"
    path.write_bytes(b'{"version": 1, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")
    for load in (load_roster_file, load_offers_file, load_rules_file):
        with pytest.raises(InputFileError) as err:
            load(path)
        assert str(err.value) == f"{path}: nests deeper than 32 levels", load


def test_a_config_override_with_unknown_keys_applies_the_known_ones(caplog: pytest.LogCaptureFixture) -> None:
    base = default_config()
    override = {"presence": {"path_loss_exponnt": 3.0, "tick_interval_s": 0.5}, "lighting": {"level": 3}}
    with caplog.at_level(logging.WARNING, logger="edge.unknown"):
        config = apply_override(base, override)
    assert config.presence.tick_interval_s == 0.5
    assert config.presence.path_loss_exponent == base.presence.path_loss_exponent
    assert (
        "config override: unknown field 'path_loss_exponnt' at $.presence (did you mean 'path_loss_exponent'?)"
        in caplog.text
    )
    assert "config override: unknown field 'lighting' at $ — ignored" in caplog.text
    with pytest.raises(ConfigError, match="cannot be changed remotely"):
        apply_override(base, {"mqtt": {"url": "mqtt://elsewhere"}})


def test_a_config_file_still_rejects_an_unknown_key(tmp_path: Path) -> None:
    config = tmp_path / "edge.toml"
    config.write_text("[presence]\npath_loss_exponnt = 3.0\n")
    done = edge("run", "--config", str(config))
    assert done.returncode == 2
    assert "presence: Object contains unknown field `path_loss_exponnt`" in done.stderr
