"""The repository explains itself: examples/ replays through the real CLI with the events its README
promises, its payloads are valid, docs/configuration.md covers every key, and nothing points outside."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import msgspec
import pytest

from edge.config import Config, from_mapping, load
from edge.roster import parse_roster
from edge.signage.offers import parse_offers, parse_rules
from edge.trace import header_line, item_line, parse_start

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"

APP = "shopper-a1c9"
"""The opted-in shopper with the app (Eddystone-EID): enters the baby zone, picks up, leaves."""
CARD = "shopper-b7e2"
"""The loyalty card (iBeacon) whose consent is withdrawn at t = 55 s."""
STRANGER_ADDRESS = "4E:9A:21:C3:77:10"
"""The phone nobody rostered."""
MAC = re.compile(r"([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}")


def _make_trace() -> ModuleType:
    spec = importlib.util.spec_from_file_location("examples_make_trace", EXAMPLES / "make_trace.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def replay() -> tuple[list[dict[str, Any]], str, str]:
    """``edge replay examples/trace.jsonl --config examples/store.toml``, as the examples README says."""
    result = subprocess.run(
        [sys.executable, "-m", "edge", "replay", "examples/trace.jsonl", "--config", "examples/store.toml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()], result.stdout, result.stderr


def _of(events: list[dict[str, Any]], type_: str, **data: object) -> list[dict[str, Any]]:
    return [e for e in events if e["type"] == type_ and all(e["data"].get(k) == v for k, v in data.items())]


def test_the_opted_in_shopper_enters_and_leaves_the_baby_zone(replay: tuple[list[dict[str, Any]], str, str]) -> None:
    events, _, _ = replay
    entered = _of(events, "edge.presence.entered", token=APP, zone="baby")
    exited = _of(events, "edge.presence.exited", token=APP, zone="baby")
    assert len(entered) == 1
    assert len(exited) == 1
    assert entered[0]["data"]["via"] == "eddystone-eid"
    assert entered[0]["subject"] == "baby"
    assert entered[0]["time"] < exited[0]["time"]
    assert exited[0]["data"]["dwell_s"] > 20


def test_the_pickup_is_attributed_and_the_strangers_touch_is_not(replay: tuple[list[dict[str, Any]], str, str]) -> None:
    events, _, _ = replay
    shelf = _of(events, "edge.shelf.interaction", shelf="shelf-a3")
    assert [(e["data"]["action"], e["data"]["token"], e["data"]["reason"]) for e in shelf] == [
        ("pickup", APP, "nearest"),
        ("touch", None, "nobody-opted-in"),
    ]
    assert shelf[0]["data"]["sku"] == "4006381333931"
    assert all(e["subject"] == "shelf-a3" for e in shelf)


def test_the_withdrawal_is_acknowledged_and_nothing_else_about_the_card_remains(
    replay: tuple[list[dict[str, Any]], str, str],
) -> None:
    events, _, _ = replay
    about_card = [e for e in events if e["data"].get("token") == CARD]
    assert [e["type"] for e in about_card] == ["edge.consent.withdrawn"]
    ack = about_card[0]
    assert ack["subject"] == "gw-1"
    assert ack["data"]["purged_rows"] >= 1  # the card's entry into the drinks zone, purged before anyone saw it
    assert ack["time"] == "2026-11-23T10:00:55.000Z"


def test_the_unrostered_phone_and_every_address_leave_no_trace(replay: tuple[list[dict[str, Any]], str, str]) -> None:
    events, stdout, stderr = replay
    assert STRANGER_ADDRESS in (EXAMPLES / "trace.jsonl").read_text()  # it was there to be heard
    assert STRANGER_ADDRESS not in stdout + stderr
    assert not MAC.search(stdout)
    assert not MAC.search(stderr)
    tokens = {APP, CARD, None}
    for event in events:
        assert event["source"] == "urn:edge:store-1:gw-1"
        assert event["subject"] not in tokens
        assert event["data"].get("token") in tokens


def test_the_payloads_are_valid_and_the_roster_is_in_force_for_the_whole_trace() -> None:
    roster = parse_roster((EXAMPLES / "roster.json").read_bytes())
    start = parse_start(json.loads((EXAMPLES / "trace.jsonl").read_text().splitlines()[0])["start"])
    assert not roster.expired(start)
    assert not roster.expired(start + 3600)
    assert {s.token for s in roster.shoppers} >= {APP, CARD}
    catalogue = parse_offers((EXAMPLES / "offers.json").read_bytes())
    assert {o.id for o in catalogue.offers} >= {"o-nappies"}
    rules = parse_rules((EXAMPLES / "rules.json").read_bytes())
    assert rules.excluded_categories(frozenset({"baby"})) == {"alcohol"}


def test_the_example_config_loads_with_paths_relative_to_it() -> None:
    config = load(EXAMPLES / "store.toml")
    assert config.ble.backend == "replay"
    assert config.ble.trace is not None
    assert Path(config.ble.trace) == EXAMPLES / "trace.jsonl"
    assert config.gateway.roster_file is not None
    assert Path(config.gateway.roster_file).is_file()
    assert {z.id for z in config.zones} == {"entrance", "baby", "drinks"}
    assert [s.id for s in config.screens] == ["screen-1"]
    assert [s.id for s in config.shelves] == ["shelf-a3"]


def test_the_sample_files_are_what_make_trace_writes() -> None:
    make_trace = _make_trace()
    lines = [header_line(make_trace.START), *(item_line(item, make_trace.START) for item in make_trace.items())]
    assert b"".join(lines) == (EXAMPLES / "trace.jsonl").read_bytes()
    assert make_trace.roster() == json.loads((EXAMPLES / "roster.json").read_text())
    assert (EXAMPLES / "trace.jsonl").stat().st_size < 200_000


def _keys(struct: type[msgspec.Struct], prefix: str = "") -> list[str]:
    """Every config key as ``section.key`` (arrays of tables as ``zones.id``)."""
    out = []
    for field in msgspec.structs.fields(struct):
        inner = field.type
        args = getattr(inner, "__args__", ())
        nested = next((a for a in (inner, *args) if isinstance(a, type) and issubclass(a, msgspec.Struct)), None)
        name = f"{prefix}{field.encode_name}"
        if nested is not None:
            out += _keys(nested, f"{name}.")
        else:
            out.append(name)
    return out


def test_the_configuration_doc_names_every_key_and_its_example_loads() -> None:
    text = (DOCS / "configuration.md").read_text()
    sections = {}
    for part in text.split("\n## ")[1:]:
        heading = re.match(r"`\[+([a-z_]+)\]+`", part)
        if heading:
            sections[heading.group(1)] = part
    missing = []
    for key in _keys(Config):
        section, name = key.split(".", 1)[0], key.rpartition(".")[2]
        if f"`{name}`" not in sections.get(section, ""):
            missing.append(key)
    assert missing == [], f"docs/configuration.md does not describe {missing} in their sections"
    example = text.split("## A complete example", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    config = from_mapping(tomllib.loads(example), source="docs/configuration.md")
    assert config.mqtt.url is not None
    assert config.metrics.listen is not None
    assert len(config.motion_tags) == 1


SKIPPED_DIRS = {".git", ".venv", "__pycache__", "build", "dist"}


def test_no_file_points_outside_the_repository() -> None:
    """The repository explains itself: no reference to a design file that is not in it."""
    this = Path(__file__).resolve()
    offenders = []
    for path in sorted(ROOT.rglob("*")):
        parts = path.relative_to(ROOT).parts
        if any(p in SKIPPED_DIRS or p.endswith(".egg-info") or (p.startswith(".") and p != ".ci") for p in parts[:-1]):
            continue
        if not path.is_file() or path == this:
            continue
        data = path.read_bytes()
        if b"\0" in data:
            continue  # images, databases
        if b"shared/" in data or b"DESIGN.md" in data:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == [], f"these files refer to shared/ or DESIGN.md: {offenders}"
