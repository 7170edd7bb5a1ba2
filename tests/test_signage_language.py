"""The screen's own words in the store's language: the welcome before any catalogue or rules, the
labels on personalised cards, every phrase drawable with the screen's typeface, and ``[gateway]
language`` / ``timezone`` validated. Real pygame on SDL's dummy driver."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

import msgspec
import pygame
import pygame.freetype
import pytest

from edge.app import Gateway
from edge.beacons.replay import ItemsSource
from edge.config import load
from edge.errors import ConfigError
from edge.phrases import FALLBACK_ID, LANGUAGES, PHRASES, Phrases, upper
from edge.roster import Prefs
from edge.signage.caps import CapLedger
from edge.signage.cards import Card, boot_card, card_for, format_price
from edge.signage.decide import Inputs, ScreenDecider
from edge.signage.offers import Catalogue, parse_offers, parse_rules
from edge.signage.render import BUNDLED_CONTENT, CardRenderer, ContentCache
from edge.signage.service import Signage
from edge.sim.catalogue import rules_payload
from edge.sim.store import SimulatedStore
from tests.helpers import START
from tests.test_signage_engine import BABY, here, roster, shopper

W, H = 640, 360
REQUIRED = ("de", "en", "fr", "es", "it", "nl", "pl", "tr", "cs")
NOT_IN_ANY_FONT = "\ue000"
"""A private-use code point: the font draws its missing-glyph box (.notdef) for it."""


@pytest.fixture(scope="module")
def renderer() -> Iterator[CardRenderer]:
    pygame.display.init()
    pygame.font.init()
    pygame.freetype.init()
    pygame.display.set_mode((W, H))
    yield CardRenderer((W, H), ContentCache([BUNDLED_CONTENT]))
    pygame.quit()


def all_phrases(words: Phrases) -> list[str]:
    return [words.welcome, words.label, words.scan, words.code, words.was.format(price="12,99 €")]


def rules() -> bytes:
    return rules_payload(START)


def catalogue(*, default_language: str = "de", playlist: bool = True) -> Catalogue:
    store = SimulatedStore(seed=2)
    payload = json.loads(store.offers_payload())
    payload["default_language"] = default_language
    if not playlist:
        payload["playlist"] = []
    return parse_offers(json.dumps(payload).encode())


# --- the welcome before any catalogue or rules -------------------------------------------------


def test_the_table_covers_the_required_languages() -> None:
    assert set(REQUIRED) <= LANGUAGES
    for language in LANGUAGES - {"en"}:
        assert PHRASES[language].welcome != PHRASES["en"].welcome, language
        assert PHRASES[language].label != PHRASES["en"].label, language


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_first_play_before_rules_is_the_welcome_in_the_store_language(
    renderer: CardRenderer, language: str
) -> None:
    decider = ScreenDecider(BABY, CapLedger(), language=language)
    play = decider.step(Inputs(START, roster([]), [], catalogue=None, rules=None))
    assert play is not None
    assert play.reasons == ("generic:no-catalogue",), "the reason codes are unchanged"
    assert play.content == FALLBACK_ID
    card = card_for(play, None, 1)
    assert card.headline == PHRASES[language].welcome
    assert card.image == "welcome.png"
    frame = pygame.image.tobytes(renderer.render(card), "RGB")
    wordless = renderer.render(msgspec.structs.replace(card, headline=""))
    assert frame != pygame.image.tobytes(wordless, "RGB"), "the welcome is drawn"
    if language != "en":
        english = renderer.render(msgspec.structs.replace(card, headline="Welcome"))
        assert frame != pygame.image.tobytes(english, "RGB"), "and it is not the English one"


def test_with_a_catalogue_but_no_rules_the_reason_stays_no_rules() -> None:
    decider = ScreenDecider(BABY, CapLedger(), language="pl")
    play = decider.step(Inputs(START, roster([]), [], catalogue(playlist=False), rules=None))
    assert play is not None
    assert play.reasons == ("generic:no-rules",)
    assert card_for(play, catalogue(playlist=False), 1).headline == "Witamy"


def test_a_catalogue_without_a_playlist_shows_the_welcome_in_the_store_language() -> None:
    decider = ScreenDecider(BABY, CapLedger(), language="it")
    empty = catalogue(default_language="de", playlist=False)
    play = decider.step(Inputs(START, roster([]), [], empty, parse_rules(rules())))
    assert play is not None
    assert play.reasons == ("generic:nobody-near",)
    assert card_for(play, empty, 1).headline == "Benvenuti"


def test_a_gateway_without_a_language_says_welcome_in_english() -> None:
    play = ScreenDecider(BABY, CapLedger()).step(Inputs(START, None, [], None, None))
    assert play is not None
    assert play.reasons == ("generic:no-roster",)
    assert card_for(play, None, 1).headline == "Welcome"


def test_the_boot_card_has_no_words() -> None:
    assert boot_card().headline == ""
    assert boot_card().text == ""


def test_the_demo_store_greets_in_german_from_its_first_decision(tmp_path: Path) -> None:
    """The simulated store's config says ``de``; the signage service passes it to its decider."""
    store = SimulatedStore(seed=1)
    assert store.config.gateway.language == "de"
    assert store.config.gateway.timezone == "Europe/Berlin"
    gateway = Gateway(store.config, ItemsSource(iter([]), start=store.start, speed=None), state_dir=tmp_path)
    signage = Signage(gateway.ports)
    play = signage.step()
    assert play is not None
    assert play.reasons[0].startswith("generic:")
    card = card_for(play, signage.catalogue, 1)
    assert card.headline == "Willkommen"
    assert card.language == "de"


# --- labels on personalised cards --------------------------------------------------------------


def offer_play(language: str | None, store_language: str, default_language: str = "de") -> Card:
    cat = catalogue(default_language=default_language)
    viewer = shopper("s-1", prefs=Prefs(language=language), segments=("vegan",))  # o-oat: targeted, not sensitive
    decider = ScreenDecider(BABY, CapLedger(), language=store_language)
    play = decider.step(Inputs(START, roster([viewer]), [here("s-1")], cat, parse_rules(rules())))
    assert play is not None
    assert play.offer is not None
    assert play.offer.price is not None
    assert play.offer.price.was_cents
    return card_for(play, cat, 1)


def test_labels_follow_the_shoppers_language_first() -> None:
    card = offer_play("pl", store_language="de")
    assert card.label == "Twoja oferta"
    assert card.code_label == "Kod"
    assert card.was_price is not None
    assert card.was_price.startswith("zamiast ")
    assert card.price is not None
    assert "," in card.price
    assert card.language == "pl"


def test_labels_fall_back_to_the_catalogue_default_then_the_store_language() -> None:
    assert offer_play("xx", store_language="fr", default_language="de").label == "Ihr Angebot"
    assert offer_play(None, store_language="fr", default_language="zz").label == "Votre offre"
    assert offer_play("xx", store_language="cs", default_language="zz").label == "Vaše nabídka"


def test_was_keeps_each_languages_word_order() -> None:
    card = offer_play("tr", store_language="de")
    assert card.was_price is not None
    assert card.was_price.endswith(" yerine")
    english = offer_play("en", store_language="de").was_price
    assert english is not None
    assert english.startswith("was €")
    assert "." in english


def test_prices_are_written_as_each_language_writes_them() -> None:
    assert format_price(1199, "EUR", "en") == "€11.99"
    assert format_price(1199, "EUR", "de") == "11,99 €"
    assert format_price(1199, "EUR", "nl") == "€ 11,99"
    assert format_price(1199, "PLN", "pl") == "11,99 zł"
    assert format_price(1199, "CZK", "cs") == "11,99 Kč"
    assert format_price(1199, "CHF", "en") == "11.99 CHF"


def test_capitals_as_the_language_writes_them() -> None:
    assert upper("Size özel", "tr") == "SİZE ÖZEL"
    assert upper("Ihr Angebot", "de") == "IHR ANGEBOT"


# --- every phrase renders with the bundled font ------------------------------------------------


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_phrase_renders_without_missing_glyphs(renderer: CardRenderer, language: str) -> None:
    path = renderer.typeface.path  # the screen's typeface (both are checked in test_signage_typesetting)
    face = pygame.freetype.Font(str(path) if path is not None else None, 40)
    font = renderer.font(40)

    def drawn(char: str) -> bytes:
        return pygame.image.tobytes(font.render(char, True, (255, 255, 255), (0, 0, 0)), "RGB")

    tofu = drawn(NOT_IN_ANY_FONT)
    assert face.get_metrics(NOT_IN_ANY_FONT) == [None], "the font has no glyph for the private-use check"
    words = PHRASES[language]
    texts = [*all_phrases(words), upper(words.label, language), format_price(123456, "EUR", language)]
    for char in sorted({ch for text in texts for ch in text if not ch.isspace()}):
        assert face.get_metrics(char) != [None], f"{language}: {char!r} (U+{ord(char):04X}) is not in the font"
        assert drawn(char) != tofu, f"{language}: {char!r} (U+{ord(char):04X}) is drawn as the missing-glyph box"
    card = Card(
        play=1,
        kind="offer",
        headline=words.welcome,
        label=words.label,
        price=format_price(1199, "EUR", language),
        was_price=words.was.format(price=format_price(1499, "EUR", language)),
        image="gift.png",
        code="BDAY-5",
        code_label=words.code,
        qr="https://shop.example/r/BDAY-5",
        scan_hint=words.scan,
        large_text=True,
        language=language,
    )
    renderer.render(card)


# --- [gateway] language and timezone -----------------------------------------------------------

CONFIG = """
[gateway]
store = "store-1"
gateway = "gw-1"
{extra}
[[zones]]
id = "baby"
scanners = ["gw-1"]
"""


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(CONFIG.format(extra=extra))
    return path


def test_language_and_timezone_load_and_default(tmp_path: Path) -> None:
    unset = load(write(tmp_path, ""))
    assert unset.gateway.language == "en"
    assert unset.gateway.timezone == "UTC"
    config = load(write(tmp_path, 'language = "tr"\ntimezone = "Europe/Istanbul"'))
    assert config.gateway.language == "tr"
    assert config.gateway.timezone == "Europe/Istanbul"


@pytest.mark.parametrize(
    ("extra", "where", "what"),
    [
        ('language = "DE"', "gateway.language", "not a two-letter language code"),
        ('language = "de-DE"', "gateway.language", "not a two-letter language code"),
        ('language = "deu"', "gateway.language", "not a two-letter language code"),
        ('language = "xx"', "gateway.language", "no built-in phrases for 'xx'"),
        ("language = 7", "gateway.language", "Expected `str`"),
        ('timezone = "Europe/Berln"', "gateway.timezone", "not an IANA time zone"),
        ('timezone = "../../etc/passwd"', "gateway.timezone", "not an IANA time zone"),
        ('timezone = ""', "gateway.timezone", "not an IANA time zone"),
        ('timezone = "Europe"', "gateway.timezone", "not an IANA time zone"),  # a directory: OSError, once
        (f'timezone = "{"x" * 300}"', "gateway.timezone", "not an IANA time zone"),  # too long a file name
    ],
)
def test_a_bad_language_or_timezone_is_named(tmp_path: Path, extra: str, where: str, what: str) -> None:
    path = write(tmp_path, extra)
    with pytest.raises(ConfigError) as err:
        load(path)
    assert str(err.value).startswith(f"{path}: {where}")
    assert what in str(err.value)
