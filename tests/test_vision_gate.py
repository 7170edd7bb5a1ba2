"""Consent gating (pure) and the [vision] config keys."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edge.config import load
from edge.errors import ConfigError
from edge.roster import Roster, parse_roster
from edge.vision.gate import End, Gate, Refusal
from tests.helpers import START, roster_dict

FACE = {"model": "sface-2021dec", "embedding": base64.b64encode(np.ones(128, dtype="<f4").tobytes()).decode()}


def _roster(**changes: Any) -> Roster:
    shopper = {
        "token": "s-cam",
        "scopes": ["presence", "camera"],
        "ids": [{"type": "eddystone-uid", "namespace": "00" * 10, "instance": "00" * 6}],
        "face": FACE,
    }
    shopper.update(changes)
    plain = {"token": "s-plain", "scopes": ["presence"], "ids": []}
    return parse_roster(json.dumps(roster_dict(shoppers=[shopper, plain])).encode())


def _gate(enabled: bool = True) -> Gate:
    return Gate(enabled=enabled, screen="screen-1", screen_zones={"screen-1": "baby", "screen-2": "toys"}, window_s=10)


NOW = START + 5


def test_a_consented_present_shopper_opens_one_bounded_session() -> None:
    gate = _gate()
    session = gate.checkin("s-cam", "screen-1", NOW, _roster(), "baby")
    assert not isinstance(session, Refusal)
    assert session.deadline == NOW + 10
    assert session.zone == "baby"
    assert len(session.template) == 512
    assert gate.checkin("s-cam", "screen-1", NOW + 1, _roster(), "baby") is Refusal.BUSY
    assert gate.finish(session.id) is session
    assert gate.active is None


@pytest.mark.parametrize(
    ("enabled", "token", "screen", "roster", "zone", "why"),
    [
        (False, "s-cam", "screen-1", _roster(), "baby", Refusal.DISABLED),
        (True, "s-cam", "screen-2", _roster(), "toys", Refusal.WRONG_SCREEN),
        (True, "s-cam", "screen-1", None, "baby", Refusal.NO_ROSTER),
        (True, "s-nobody", "screen-1", _roster(), "baby", Refusal.UNKNOWN),
        (True, "s-plain", "screen-1", _roster(), "baby", Refusal.NO_CONSENT),
        (True, "s-cam", "screen-1", _roster(face=None), "baby", Refusal.NO_TEMPLATE),
        (True, "s-cam", "screen-1", _roster(), None, Refusal.NOT_PRESENT),
        (True, "s-cam", "screen-1", _roster(), "toys", Refusal.NOT_PRESENT),
    ],
)
def test_the_camera_stays_closed_without_every_condition(
    enabled: bool, token: str, screen: str, roster: Roster | None, zone: str | None, why: Refusal
) -> None:
    gate = _gate(enabled)
    assert gate.checkin(token, screen, NOW, roster, zone) is why
    assert gate.active is None


def test_an_expired_roster_opens_nothing() -> None:
    roster = _roster()
    assert _gate().checkin("s-cam", "screen-1", roster.expires_at, roster, "baby") is Refusal.NO_ROSTER


@pytest.mark.parametrize(
    ("later", "roster", "zone", "why"),
    [
        (10.0, _roster(), "baby", End.TIMEOUT),
        (1.0, _roster().without("s-cam"), "baby", End.WITHDRAWN),
        (1.0, _roster(), "toys", End.LEFT),
    ],
)
def test_a_session_ends_at_its_deadline_on_withdrawal_or_when_the_shopper_leaves(
    later: float, roster: Roster, zone: str, why: End
) -> None:
    gate = _gate()
    session = gate.checkin("s-cam", "screen-1", NOW, _roster(), "baby")
    assert not isinstance(session, Refusal)
    assert gate.review(NOW + 0.5, _roster(), "baby") is None
    ended = gate.review(NOW + later, roster, zone)
    assert ended is session
    assert gate.active is None
    assert gate.why_ended(session, NOW + later, roster, zone) is why
    assert gate.finish(session.id) is None  # the worker's late report changes nothing


CONFIG = """
[gateway]
store = "store-1"
[[zones]]
id = "baby"
scanners = ["gw-1"]
[[screens]]
id = "screen-1"
zone = "baby"
[[shelves]]
id = "shelf-a3"
zone = "baby"
[vision]
enabled = true
source = "frames"
screen = "screen-1"
window_s = 5
roi = [0.25, 0.0, 0.5, 1.0]
shelf_source = "shelf-frames"
[[vision.regions]]
id = "a3-left"
shelf = "shelf-a3"
sku = "4006381333931"
rect = [0.0, 0.5, 0.5, 0.5]
"""


def test_the_vision_keys_load(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(CONFIG)
    vision = load(path).vision
    assert vision.window_s == 5
    assert vision.roi == (0.25, 0.0, 0.5, 1.0)
    assert vision.regions[0].shelf == "shelf-a3"
    assert vision.regions[0].action == "touch"


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ('screen = "screen-1"\nwindow_s', "window_s", "vision.screen"),
        ("window_s = 5", "window_s = 600", "vision.window_s"),
        ("roi = [0.25, 0.0, 0.5, 1.0]", "roi = [0.75, 0.0, 0.5, 1.0]", "vision.roi"),
        ('shelf = "shelf-a3"', 'shelf = "shelf-zz"', "vision.regions[0].shelf"),
        ("rect = [0.0, 0.5, 0.5, 0.5]", "rect = [0.0, 0.5, 0.0, 0.5]", "vision.regions[0].rect"),
        ('shelf_source = "shelf-frames"\n', "", "vision.shelf_source"),
    ],
)
def test_bad_vision_keys_name_the_key(tmp_path: Path, old: str, new: str, where: str) -> None:
    assert old in CONFIG
    path = tmp_path / "edge.toml"
    path.write_text(CONFIG.replace(old, new, 1))
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert where in str(caught.value)
