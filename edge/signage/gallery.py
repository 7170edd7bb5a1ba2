"""The README's pictures of the screen: ``python -m edge.signage.gallery docs/images`` draws a
personalised offer card, a generic card and an override at 960x540 with the real renderer (SDL's
dummy driver), as PNG files small enough to commit."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame

from edge.signage.cards import Card, accent_for
from edge.signage.override import override_card, parse_override
from edge.signage.render import BUNDLED_CONTENT, CardRenderer, ContentCache

SIZE = (960, 540)


def cards() -> dict[str, Card]:
    offer = Card(
        play=1, kind="offer", headline="Barista-Haferdrink: neu und 25 % günstiger",
        text="Schäumt wie Milch, 100 % pflanzlich.", label="Ihr Angebot", price="1,49 €", was_price="statt 1,99 €",
        image="oat-drink.png", code="OAT25-7KQ2XM", code_label="Code", qr="OAT25-7KQ2XM",
        scan_hint="Scannen und sparen", accent=accent_for("food"), language="de",
    )  # fmt: skip
    generic = Card(
        play=2, kind="generic", headline="Frisch aus der Region, jeden Morgen",
        text="Äpfel, Birnen und Salate von Höfen im Umkreis von 50 km.", image="apples.png",
        accent=accent_for("g-fresh"), language="de",
    )  # fmt: skip
    override = parse_override(
        b'{"id": "exit-b", "priority": 90, "title": {"de": "Ausgang B ist gesperrt", "en": "Exit B is closed"},'
        b' "body": {"de": "Bitte benutzen Sie den Haupteingang. Danke!", "en": "Please use the main entrance."},'
        b' "ttl_s": 1800}'
    )
    assert override is not None
    return {"card-offer.png": offer, "card-generic.png": generic, "card-override.png": override_card(override, 3, "de")}


def main(directory: Path) -> None:
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode(SIZE)
    renderer = CardRenderer(SIZE, ContentCache([BUNDLED_CONTENT]))
    directory.mkdir(parents=True, exist_ok=True)
    for name, card in cards().items():
        pygame.image.save(renderer.render(card), str(directory / name))
    pygame.quit()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/images"))
