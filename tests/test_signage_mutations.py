"""Every field of the example offers and rules replaced by a hostile value: the payload is rejected with a
DownlinkError naming the field, or accepted and then decided, carded and drawn (SDL's dummy driver) for opted-in
shoppers in every zone it names at several times of the week -- never another exception. Session 49's mutation
runs found a NUL in a text (SDL_ttf's ValueError in the player), a directory for a time zone (zoneinfo's
OSError) and a long word's quadratic cut this way; the values below are the ones that found them and their kin."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

import pygame
import pytest

from edge.errors import DownlinkError
from edge.presence_values import Occupant
from edge.roster import parse_roster
from edge.signage.caps import CapLedger
from edge.signage.cards import card_for
from edge.signage.decide import Inputs, ScreenDecider
from edge.signage.offers import Catalogue, Rules, parse_offers, parse_rules
from edge.signage.rank import Place
from edge.signage.render import BUNDLED_CONTENT, CardRenderer, ContentCache
from tests.helpers import MISSING, put

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
HOSTILE: tuple[object, ...] = (
    -1, 0, 2**64, 1e308, "", "\x00", "x" * 2000, "Europe", "0001-01-01T00:00:00+23:59", [], {}, None, True,
)  # fmt: skip
MONDAY_0900 = 1_795_420_800.0 + 9 * 3600  # 2026-11-23 09:00 UTC
TIMES = tuple(MONDAY_0900 + k * 3600 * 29 for k in range(4))
"""Four moments across the week at different hours (the example's schedules and dayparts in and out)."""


def _paths(value: object, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if path:
        yield path
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield from _paths(inner, (*path, key))


def _mutated(base: dict[str, Any], path: tuple[str | int, ...], value: object) -> bytes:
    copy = json.loads(json.dumps(base))
    put(copy, path, value)
    return json.dumps(copy).encode()


@pytest.fixture(scope="module")
def renderer() -> Iterator[CardRenderer]:
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode((64, 64))
    yield CardRenderer((640, 360), ContentCache([BUNDLED_CONTENT]))
    pygame.quit()


def _show(renderer: CardRenderer, catalogue: Catalogue, rules: Rules) -> None:
    roster_raw = json.loads((EXAMPLES / "roster.json").read_text())
    roster_raw["expires_at"] = "2027-12-01T00:00:00Z"
    roster = parse_roster(json.dumps(roster_raw).encode())
    zones = sorted({zone for offer in catalogue.offers for zone in offer.zones} | {"baby"})
    for zone in zones:
        decider = ScreenDecider(Place("screen-1", zone, frozenset({zone, "checkout"})), CapLedger())
        for number, now in enumerate(TIMES):
            here = [Occupant(s.token, zone, now - 5.0, -60.0, 1.0, "eid") for s in roster.shoppers]
            play = decider.step(Inputs(now, roster, here, catalogue, rules))
            if play is not None:
                renderer.render(card_for(play, catalogue, number, code="OAT25-ABCDEF"))


@pytest.mark.parametrize("name", ["offers", "rules"])
def test_every_field_mutated_is_rejected_by_name_or_drawn(renderer: CardRenderer, name: str) -> None:
    offers = json.loads((EXAMPLES / "offers.json").read_text())
    rules = json.loads((EXAMPLES / "rules.json").read_text())
    catalogue, good_rules = parse_offers(json.dumps(offers).encode()), parse_rules(json.dumps(rules).encode())
    base = offers if name == "offers" else rules
    accepted = rejected = 0
    for path in _paths(base):
        for value in (*HOSTILE, MISSING):
            payload = _mutated(base, path, value)
            try:
                if name == "offers":
                    mutated, mutated_rules = parse_offers(payload), good_rules
                else:
                    mutated, mutated_rules = catalogue, parse_rules(payload)
            except DownlinkError as err:
                why = str(err)
                rejected += 1
            else:
                why = ""
            if why:
                assert why.startswith(f"{name}: {name} rejected: $"), why
                continue
            _show(renderer, mutated, mutated_rules)
            accepted += 1
    assert accepted > 0
    assert rejected > 0
