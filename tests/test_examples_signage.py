"""examples/README.md: `edge run --config examples/store.toml` "picks the nappies offer for the app shopper".

The decision is made here with the example's own files (offers, rules, roster) at the moment the app
shopper stands in the baby zone, by the gateway's own ranking: the nappies offer is aimed at the
shopper's segment in a sensitive category (baby), so it may play on the public screen only when
marked ``public_safe``; without it the screen stayed generic (``generic:excluded``: the wipes, the
other baby offer, are a recent purchase)."""

from __future__ import annotations

from pathlib import Path

from edge.config import load
from edge.roster import load_roster_file
from edge.signage.caps import CapLedger
from edge.signage.offers import parse_offers, parse_rules
from edge.signage.rank import Place, choose_offer
from edge.timefmt import parse_start

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
APP_SHOPPER = "shopper-a1c9"
IN_THE_BABY_ZONE = "2026-11-23T10:00:30.000Z"
"""The trace's app shopper entered the baby zone at 10:00:22.9 and stands there until ~10:01:02."""


def test_the_app_shopper_in_the_baby_zone_gets_the_nappies_offer() -> None:
    config = load(EXAMPLES / "store.toml")
    catalogue = parse_offers((EXAMPLES / "offers.json").read_bytes())
    rules = parse_rules((EXAMPLES / "rules.json").read_bytes())
    shopper = load_roster_file(EXAMPLES / "roster.json").get(APP_SHOPPER)
    assert shopper is not None
    screen = config.screens[0]
    zone = next(z for z in config.zones if z.id == screen.zone)
    place = Place(screen.id, zone.id, frozenset(zone.tags))
    choice = choose_offer(catalogue, rules, shopper, place, parse_start(IN_THE_BABY_ZONE), CapLedger())
    assert choice.offer is not None, choice.reasons
    assert choice.offer.id == "o-nappies"
    assert choice.offer.code == "BABY20"
