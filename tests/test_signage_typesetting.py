"""Typesetting and artwork: no widowed word, a number never parted from its unit, kerning from the font,
every glyph the demo and the currencies need in the bundled font, and artwork without speckles."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

import itertools

import numpy as np
import pygame
import pygame.freetype
import pytest

from edge.phrases import LANGUAGES
from edge.signage.artwork import ARTWORK, SIZE
from edge.signage.cards import CURRENCY_SYMBOL, format_price
from edge.signage.render import BUNDLED_CONTENT, GLUE, WIDOW_MAX_CHARS, CardRenderer, ContentCache
from edge.sim.store import SimulatedStore

BUNDLED_FONT = Path(pygame.__file__).parent / pygame.font.get_default_font()
NOT_IN_ANY_FONT = "\ue000"
SPECKLE_STEP = 24
"""Luminance steps (of 255) a pixel must stand out from all eight neighbours to count as a speckle."""


@pytest.fixture(scope="module")
def renderer() -> Iterator[CardRenderer]:
    pygame.display.init()
    pygame.font.init()
    pygame.freetype.init()
    pygame.display.set_mode((64, 64))
    yield CardRenderer((1920, 1080), ContentCache([BUNDLED_CONTENT]))
    pygame.quit()


# --- line breaks -----------------------------------------------------------------------------------

TEXTS = [
    "Apples, pears and greens from farms within 50 km.",
    "Äpfel, Birnen und Salate von Höfen im Umkreis von 50 km.",
    "Pumpkin, kale and lentils in 20 minutes.",
    "Gentle on skin, dry all night. For families like yours.",
    "Prosecco: 30 % off this weekend",
    "Freshly roasted in the region. 500 g.",
]


@pytest.mark.parametrize("text", TEXTS)
def test_no_widow_and_no_number_parted_from_its_unit(renderer: CardRenderer, text: str) -> None:
    font = renderer.font(50)
    full = font.size(text)[0]
    widest = max(font.size(word.replace(GLUE, " "))[0] for word in renderer.words(text))  # no hyphenation
    for width in range(widest, full + 40, 19):
        lines = renderer.wrap(font, text, width, 20)
        assert " ".join(lines).split() == text.split(), "no word lost or cut"
        if len(lines) >= 2:
            last = lines[-1]
            pair = f"{lines[-2].split()[-1]} {last}"
            avoidable = font.size(pair)[0] <= width and " " in lines[-2]
            assert " " in last or len(last) > WIDOW_MAX_CHARS or not avoidable, f"widow {last!r} at {width}: {lines}"
        for before, after in itertools.pairwise(lines):
            assert not (before.split()[-1][-1].isdigit() and after.split()[0] in {"km.", "km", "%", "g."}), (
                f"{before!r} / {after!r}"
            )
        assert all(font.size(line)[0] <= width for line in lines), "every line fits"


def test_the_example_that_started_it(renderer: CardRenderer) -> None:
    font = renderer.font(50)
    text = "Apples, pears and greens from farms within 50 km."
    width = font.size("Apples, pears and greens from farms within 50")[0] + 2
    lines = renderer.wrap(font, text, width, 3)
    assert lines[-1] != "km."
    assert "50 km." in lines[-1]


def test_kerning_comes_from_the_font(renderer: CardRenderer) -> None:
    font = renderer.font(100)
    for pair in ("AV", "To", "LT"):
        assert font.size(pair)[0] < font.size(pair[0])[0] + font.size(pair[1])[0], pair


# --- glyphs ----------------------------------------------------------------------------------------


def demo_texts() -> set[str]:
    payload = json.loads(SimulatedStore(seed=1).offers_payload())
    texts: set[str] = set()
    for entry in [*payload["offers"], *payload["playlist"]]:
        for field in ("headline", "text"):
            texts.update(entry.get(field, {}).values())
    return texts


def test_every_glyph_of_the_demo_and_the_currencies_is_in_the_font(renderer: CardRenderer) -> None:
    face = pygame.freetype.Font(str(BUNDLED_FONT), 40)
    font = renderer.font(40)

    def drawn(char: str) -> bytes:
        return pygame.image.tobytes(font.render(char, True, (255, 255, 255), (0, 0, 0)), "RGB")

    tofu = drawn(NOT_IN_ANY_FONT)
    prices = [format_price(123456, currency, language) for currency in CURRENCY_SYMBOL for language in LANGUAGES]
    needed = [*demo_texts(), "€ £ zł Kč TL", *prices]
    missing = []
    for char in sorted({ch for text in needed for ch in text if not ch.isspace()}):
        if face.get_metrics(char) == [None] or drawn(char) == tofu:
            missing.append(f"{char!r} U+{ord(char):04X}")
    assert missing == []
    # The lira sign (U+20BA, 2012) is not in FreeSans Bold: prices in TRY are written "TL", as on
    # Turkish price tags, never as a missing-glyph box.
    assert face.get_metrics("₺") == [None]
    assert format_price(1999, "TRY", "tr") == "19,99 TL"


# --- artwork ---------------------------------------------------------------------------------------


def speckles(surface: pygame.Surface) -> int:
    """Pixels lighter or darker than all eight neighbours by more than SPECKLE_STEP: isolated noise.

    An anti-aliased edge lies between its neighbours; a dot left by a pinhole in a stroke or by
    transparent black bleeding into an outline stands out from all of them."""
    rgb = pygame.surfarray.array3d(surface).astype(np.int32)
    lum = (rgb * np.array([299, 587, 114])).sum(-1) // 1000
    centre = lum[1:-1, 1:-1]
    around = np.stack(
        [lum[1 + dy : lum.shape[0] - 1 + dy, 1 + dx : lum.shape[1] - 1 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)
         if dx or dy]
    )  # fmt: skip
    return int(((centre < around.min(0) - SPECKLE_STEP) | (centre > around.max(0) + SPECKLE_STEP)).sum())


def test_speckle_measure_finds_a_pinhole() -> None:
    surface = pygame.Surface((32, 32))
    surface.fill((250, 250, 250))
    assert speckles(surface) == 0
    surface.set_at((10, 10), (120, 120, 120))
    assert speckles(surface) == 1


@pytest.mark.parametrize("name", sorted(ARTWORK))
def test_artwork_has_no_speckles_on_light_or_dark_panels(renderer: CardRenderer, name: str) -> None:
    shipped = pygame.image.load(str(BUNDLED_CONTENT / name))
    assert shipped.get_size() == (SIZE, SIZE)
    for background in ((255, 255, 255), (232, 240, 246), (40, 40, 40)):
        panel = pygame.Surface(shipped.get_size())
        panel.fill(background)
        panel.blit(shipped, (0, 0))
        assert speckles(panel) == 0, f"{name} on {background}"
