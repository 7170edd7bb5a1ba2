"""Typesetting and artwork: no widowed word, a number never parted from its unit, kerning from the font,
every glyph the demo, the phrases and the currencies need in both typefaces (DejaVu Sans Bold from
the system, pygame's bundled FreeSans Bold without it: ₺ spelled TL), and artwork without speckles."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

import itertools

import msgspec
import numpy as np
import pygame
import pygame.freetype
import pytest

from edge.phrases import LANGUAGES, PHRASES, upper
from edge.signage.artwork import ARTWORK, SIZE
from edge.signage.cards import CURRENCY_SYMBOL, Card, format_price
from edge.signage.fonts import BUNDLED, SYSTEM_FONTS, Typeface, find_typeface
from edge.signage.render import BUNDLED_CONTENT, GLUE, WIDOW_MAX_CHARS, CardRenderer, ContentCache
from edge.sim.store import SimulatedStore

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


def test_a_long_word_is_cut_to_the_lines_shown_as_it_always_was(renderer: CardRenderer) -> None:
    """A word wider than the column is cut with a hyphen at the longest head that fits (found by bisection
    since session 49: a 2,000-character word was measured cut by cut, 3.7 s a card) and only the lines shown are
    made; the same lines as cutting one character at a time."""
    font = renderer.font(50)
    width = font.size("Windelgrößenwechsel")[0]
    word = "Windelgrößenwechselzeitraumverlängerung" * 50
    lines = renderer.wrap(font, word, width, 3)
    assert len(lines) == 3
    assert lines[-1].endswith("…")
    assert all(font.size(line)[0] <= width for line in lines)
    head = len(word) - 1  # what the one-character-at-a-time loop found
    while head > 1 and font.size(word[:head] + "-")[0] > width:
        head -= 1
    assert lines[0] == word[:head] + "-"
    assert renderer.wrap(font, "kurz " + word[:60], width, 20)[0] == "kurz"
    assert "".join(line.rstrip("-") for line in renderer.wrap(font, word[:200], width, 20)) == word[:200]


def test_a_nul_in_a_cdp_text_is_left_out_not_a_crash(renderer: CardRenderer) -> None:
    """SDL_ttf refuses NUL (ValueError in the player before session 49); the other control characters draw."""
    card = Card(play=1, kind="offer", headline="Soft\x00 nappies", text="Gentle\x00", code="BABY20\x00")
    spelled = renderer.spelled(card)
    assert (spelled.headline, spelled.text, spelled.code) == ("Soft nappies", "Gentle", "BABY20")
    renderer.render(card)
    assert renderer.spelled(spelled) is spelled


def test_kerning_comes_from_the_font(any_renderer: CardRenderer) -> None:
    font = any_renderer.font(100)
    for pair in ("AV", "To", "LT"):
        assert font.size(pair)[0] < font.size(pair[0])[0] + font.size(pair[1])[0], pair


# --- glyphs ----------------------------------------------------------------------------------------
#
# Two typefaces (edge.signage.fonts): DejaVu Sans Bold from the system (fonts-dejavu-core; make test
# installs it: missing, these tests fail and say so, as the Xvfb test does) and pygame's bundled
# FreeSans Bold, the fallback. Each character is checked twice: the font file has a glyph of its
# own for it (FreeType), and SDL_ttf does not draw it as the font's missing-glyph box.

TYPEFACES = ("system", "bundled")


def typeface(kind: str) -> Typeface:
    if kind == "bundled":
        return find_typeface(BUNDLED)
    found = find_typeface()
    if found.path is None:
        pytest.fail(
            "DejaVu Sans Bold is missing: install the Debian package fonts-dejavu-core "
            f"(make test does, via .ci/system-packages); looked in {[str(p) for p in SYSTEM_FONTS]}"
        )
    return found


@pytest.fixture(scope="module", params=TYPEFACES)
def any_renderer(request: pytest.FixtureRequest, renderer: CardRenderer) -> CardRenderer:
    return CardRenderer((1920, 1080), ContentCache([BUNDLED_CONTENT]), typeface(request.param))


def demo_texts() -> set[str]:
    payload = json.loads(SimulatedStore(seed=1).offers_payload())
    texts: set[str] = set()
    for entry in [*payload["offers"], *payload["playlist"]]:
        for field in ("headline", "text"):
            texts.update(entry.get(field, {}).values())
    return texts


def needed_texts() -> list[str]:
    """The demo catalogue (de, en, fr, tr), every phrase of every language (and its capitals), and every
    currency's price written in every language."""
    prices = [format_price(123456, currency, language) for currency in CURRENCY_SYMBOL for language in LANGUAGES]
    phrases = [
        text
        for language, words in PHRASES.items()
        for text in (words.welcome, words.label, upper(words.label, language), words.scan, words.code, words.was)
    ]
    return [*demo_texts(), *phrases, *prices, "€ £ ₺ zł Kč"]


def missing_glyphs(renderer: CardRenderer, texts: list[str]) -> list[str]:
    path = renderer.typeface.path
    face = pygame.freetype.Font(str(path) if path is not None else None, 40)
    font = renderer.font(40)

    def drawn(char: str) -> bytes:
        return pygame.image.tobytes(font.render(char, True, (255, 255, 255), (0, 0, 0)), "RGB")

    tofu = drawn(NOT_IN_ANY_FONT)
    assert face.get_metrics(NOT_IN_ANY_FONT) == [None], "the check's private-use character has no glyph"
    chars = {ch for text in texts for ch in renderer.spell(text) if not ch.isspace()}
    return [f"{c!r} U+{ord(c):04X}" for c in sorted(chars) if face.get_metrics(c) == [None] or drawn(c) == tofu]


def test_every_glyph_of_the_demo_the_phrases_and_the_currencies_is_drawn(any_renderer: CardRenderer) -> None:
    assert missing_glyphs(any_renderer, needed_texts()) == []


def test_with_dejavu_every_currency_symbol_is_its_own_glyph_the_lira_sign_too(renderer: CardRenderer) -> None:
    dejavu = CardRenderer((1920, 1080), ContentCache([BUNDLED_CONTENT]), typeface("system"))
    assert dejavu.typeface.name == "DejaVuSans-Bold"
    assert dejavu.spelling == {}
    assert format_price(1999, "TRY", "tr") == "19,99 ₺"
    assert missing_glyphs(dejavu, ["€ £ ₺ zł Kč $ Ft kr lei CHF"]) == []
    card = Card(play=1, kind="offer", headline="Kahve", price="19,99 ₺", image="coffee.png")
    as_tl = msgspec.structs.replace(card, price="19,99 TL")
    assert frame_bytes(dejavu, card) != frame_bytes(dejavu, as_tl), "₺ is drawn, not spelled"


def test_the_bundled_font_spells_the_lira_sign_tl_and_draws_the_rest(renderer: CardRenderer) -> None:
    bundled = CardRenderer((1920, 1080), ContentCache([BUNDLED_CONTENT]), typeface("bundled"))
    assert bundled.typeface.path is None
    # FreeSans Bold has no lira sign (U+20BA, 2012): "TL", as on Turkish price tags, never a box.
    assert pygame.freetype.Font(None, 40).get_metrics("₺") == [None]
    assert bundled.spelling == {"₺": "TL"}
    assert bundled.spell("19,99 ₺") == "19,99 TL"
    card = Card(play=1, kind="offer", headline="Kahve: 5 ₺ indirim", price="19,99 ₺", image="coffee.png")
    spelled = msgspec.structs.replace(card, headline="Kahve: 5 TL indirim", price="19,99 TL")
    assert frame_bytes(bundled, card) == frame_bytes(bundled, spelled)
    assert missing_glyphs(bundled, ["€ £ zł Kč"]) == []


def test_the_typeface_is_found_where_distributions_install_it(tmp_path: Path) -> None:
    assert find_typeface("", [tmp_path / "nowhere.ttf"]).path is None, "none installed: the bundled font"
    installed = tmp_path / "DejaVuSans-Bold.ttf"
    installed.write_bytes(b"")
    assert find_typeface("", [tmp_path / "nowhere.ttf", installed]).path == installed
    assert find_typeface(BUNDLED, [installed]).path is None
    assert find_typeface(str(installed)).path == installed
    assert find_typeface(str(tmp_path / "typo.ttf")).path is None


def test_both_typefaces_are_sized_alike_for_the_layout(renderer: CardRenderer) -> None:
    dejavu = CardRenderer((1920, 1080), ContentCache([BUNDLED_CONTENT]), typeface("system"))
    bundled = CardRenderer((1920, 1080), ContentCache([BUNDLED_CONTENT]), typeface("bundled"))
    text = "Soft nappies: 20 % off. For families like yours."
    ratio = dejavu.font(96).size(text)[0] / bundled.font(96).size(text)[0]
    assert 0.9 < ratio < 1.1, ratio


def frame_bytes(renderer: CardRenderer, card: Card) -> bytes:
    return pygame.image.tobytes(renderer.render(card), "RGB")


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
