"""Headless rendering (SDL's dummy driver), read back pixel by pixel: the offer card draws its
regions, large text is larger, and crossfades never present a black frame."""

from __future__ import annotations

import os
from collections.abc import Iterator

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

import pygame
import pytest

from edge.signage.caps import CapLedger
from edge.signage.cards import Card, accent_for, boot_card, card_for
from edge.signage.compose import Compositor
from edge.signage.decide import Inputs, ScreenDecider
from edge.signage.offers import parse_offers, parse_rules
from edge.signage.rank import Place
from edge.signage.render import BACKGROUND, BUNDLED_CONTENT, CardRenderer, ContentCache
from edge.sim.catalogue import rules_payload
from edge.sim.store import SimulatedStore
from tests.test_signage_engine import here, roster, shopper

W, H = 960, 540


@pytest.fixture(scope="module")
def renderer() -> Iterator[CardRenderer]:
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode((W, H))
    yield CardRenderer((W, H), ContentCache([BUNDLED_CONTENT]))
    pygame.quit()


def offer_card(**kw: object) -> Card:
    fields: dict[str, object] = {
        "play": 1,
        "kind": "offer",
        "headline": "Prosecco: 30 % off this weekend",
        "text": "Dry, fresh and fruity.",
        "label": "Your offer",
        "price": "€5.59",
        "was_price": "was €7.99",
        "image": "prosecco.png",
        "code": "BUBBLES30",
        "code_label": "Code",
        "qr": "https://shop.example/r/BUBBLES30",
        "scan_hint": "Scan to save",
        "accent": (0, 102, 153),
    }
    fields.update(kw)
    return Card(**fields)  # type: ignore[arg-type]


def colours(surface: pygame.Surface, rect: pygame.Rect, step: int = 3) -> set[tuple[int, int, int]]:
    return {
        tuple(surface.get_at((x, y)))[:3]  # type: ignore[misc]
        for x in range(rect.left, rect.right, step)
        for y in range(rect.top, rect.bottom, step)
    }


def test_offer_card_draws_image_text_price_and_qr(renderer: CardRenderer) -> None:
    frame = renderer.render(offer_card())
    panel_tint = tuple(frame.get_at((5, 5)))[:3]
    assert panel_tint != BACKGROUND
    image_box = pygame.Rect(int(W * 0.1), int(H * 0.2), int(W * 0.24), int(H * 0.6))
    assert len(colours(frame, image_box) - {panel_tint}) > 20, "the product image is drawn on its panel"
    headline_box = pygame.Rect(int(W * 0.48), int(H * 0.15), int(W * 0.45), int(H * 0.2))
    assert (28, 28, 36) in colours(frame, headline_box, 1), "the headline ink is there"
    price_box = pygame.Rect(int(W * 0.48), int(H * 0.35), int(W * 0.2), int(H * 0.25))
    assert (0, 102, 153) in colours(frame, price_box, 1), "the price in the accent colour"
    qr_box = pygame.Rect(W - int(W * 0.2), H - int(H * 0.3), int(W * 0.15), int(H * 0.22))
    qr = colours(frame, qr_box, 1)
    assert (0, 0, 0) in qr, "a black-on-white QR code"
    assert (255, 255, 255) in qr, "a black-on-white QR code"


def test_missing_image_gets_a_placeholder_not_a_crash(renderer: CardRenderer) -> None:
    frame = renderer.render(offer_card(image="not-in-the-cache.png"))
    beside_the_initial = pygame.Rect(int(W * 0.22) - 90, int(H * 0.5) - 10, 20, 20)
    assert (0, 102, 153) in colours(frame, beside_the_initial, 1)


def test_large_text_is_larger_and_languages_render(renderer: CardRenderer) -> None:
    normal = renderer.font(96).size("Angebot")[1]
    large = renderer.font(96, large=True).size("Angebot")[1]
    assert large >= normal * 1.25
    for headline in ("Größe 3: 20 % Rabatt", "Bebek bezi: %20 indirim ğışç", "Couches douces : -20 %"):
        renderer.render(offer_card(headline=headline, large_text=True))


def test_cards_follow_language_and_never_carry_the_token() -> None:
    store = SimulatedStore(seed=2)
    catalogue = parse_offers(store.offers_payload())
    rules = parse_rules(rules_payload(store.start))
    token = store.shoppers[1].token  # has the personal birthday coupon
    from edge.roster import Prefs

    viewer = shopper(token, prefs=Prefs(large_text=True, language="fr"))
    place = Place("screen-3", "entrance", frozenset({"entrance"}))
    play = ScreenDecider(place, CapLedger()).step(
        Inputs(store.start + 60, roster([viewer]), [here(token, store.start, zone="entrance")], catalogue, rules)
    )
    assert play is not None
    assert play.offer is not None
    assert play.offer.id == "o-birthday"
    card = card_for(play, catalogue, 1)
    assert card.headline.startswith("Merci")
    assert card.label == "Votre offre"
    assert card.large_text
    assert token not in repr(card), "the screen shows an offer for a shopper, never who they are"


def test_no_black_frame_over_1000_crossfades(renderer: CardRenderer) -> None:
    small = CardRenderer((160, 90), ContentCache([BUNDLED_CONTENT]))
    cards = [
        boot_card(),
        offer_card(),
        Card(play=2, kind="generic", headline="Fresh", image="apples.png", accent=accent_for("g-fresh")),
        offer_card(image="missing.png", large_text=True),
        Card(play=3, kind="generic", headline="", accent=accent_for("g-recipes")),
    ]
    surfaces = [small.render(card) for card in cards]
    target = pygame.Surface((160, 90))
    compositor = Compositor(surfaces[0], 0, crossfade_s=0.3)
    now = 0.0
    transitions = frames = 0
    while transitions < 1000:
        play = transitions + 1
        compositor.enter(surfaces[play % len(surfaces)], play)
        # 5 frames of 0.1 s (a whole crossfade and a still frame), or 2: the next item interrupts the fade
        for _ in range(5 if play % 3 else 2):
            change = compositor.draw(target, now)
            frames += 1
            r, g, b, _ = pygame.transform.average_color(target)
            assert max(r, g, b) > 8, f"a black frame at transition {transitions}"
            now += 0.1
            transitions += len(change.ended)
    assert frames >= 3000
