"""The screen's own words, per language: a small built-in phrase table.

Everything the CDP sends (headlines, texts) comes in its own languages; what the gateway writes
itself comes from here: the welcome shown before any catalogue or rules arrive (or when a
catalogue has no playlist), the label over a personalised offer, "was" before the old price, the
code label and the scan hint, and how a price is written. The store's language is
``[gateway] language``; the config refuses a language this table lacks, so the screen never
falls back to English in a store that speaks something else.

Every phrase renders in both of the screen's typefaces (DejaVu Sans Bold from the system, or pygame's
bundled FreeSans Bold; Latin scripts): a test draws each character of each language and compares
it with the font's missing-glyph box.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

DEFAULT_LANGUAGE = "en"
"""The language of a gateway whose config names none (the offers schema's default too)."""

LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")
"""A language as the config, the roster and the offers schema give it: ISO 639-1, lower case."""

FALLBACK_ID = "g-house"
"""The content id of the built-in welcome (impressions name it like a playlist item)."""

FALLBACK_IMAGE = "welcome.png"
"""Art of the built-in welcome: in the bundled content, so always there (a store's own file wins)."""


@dataclass(frozen=True, slots=True)
class Phrases:
    welcome: str
    """The headline of the built-in welcome."""
    label: str
    """Over a personalised offer ("Your offer"); drawn in capitals."""
    scan: str
    """Beside the QR code."""
    code: str
    """Over the redemption code."""
    was: str
    """The old price; ``{price}`` stands for it (word order differs: "was 9.99", "9,99 yerine")."""
    decimal: str = ","
    price: str = "{amount} {symbol}"
    """How a price is written when the currency has a short symbol (€, £, $)."""


_NORWEGIAN = Phrases("Velkommen", "Ditt tilbud", "Skann og spar", "Kode", "før {price}")

PHRASES: Mapping[str, Phrases] = MappingProxyType(
    {
        "cs": Phrases("Vítejte", "Vaše nabídka", "Naskenujte a ušetřete", "Kód", "původně {price}"),
        "da": Phrases("Velkommen", "Dit tilbud", "Scan og spar", "Kode", "før {price}"),
        "de": Phrases("Willkommen", "Ihr Angebot", "Scannen und sparen", "Code", "statt {price}"),
        "en": Phrases("Welcome", "Your offer", "Scan to save", "Code", "was {price}", ".", "{symbol}{amount}"),
        "es": Phrases("Bienvenidos", "Tu oferta", "Escanea y ahorra", "Código", "antes {price}"),
        "fi": Phrases("Tervetuloa", "Sinun tarjouksesi", "Skannaa ja säästä", "Koodi", "ennen {price}"),
        "fr": Phrases("Bienvenue", "Votre offre", "Scannez pour économiser", "Code", "au lieu de {price}"),
        "hr": Phrases("Dobro došli", "Vaša ponuda", "Skenirajte i uštedite", "Kod", "prije {price}"),
        "hu": Phrases("Üdvözöljük", "Az Ön ajánlata", "Olvassa be és spóroljon", "Kód", "korábban {price}"),
        "it": Phrases("Benvenuti", "La tua offerta", "Scansiona e risparmia", "Codice", "invece di {price}"),
        "nb": _NORWEGIAN,
        "nl": Phrases("Welkom", "Jouw aanbieding", "Scan en bespaar", "Code", "van {price}", ",", "{symbol} {amount}"),
        "no": _NORWEGIAN,
        "pl": Phrases("Witamy", "Twoja oferta", "Zeskanuj i oszczędzaj", "Kod", "zamiast {price}"),
        "pt": Phrases("Bem-vindos", "A sua oferta", "Digitalize e poupe", "Código", "antes {price}"),
        "ro": Phrases("Bun venit", "Oferta ta", "Scanează și economisește", "Cod", "înainte {price}"),
        "sk": Phrases("Vitajte", "Vaša ponuka", "Naskenujte a ušetrite", "Kód", "pôvodne {price}"),
        "sl": Phrases("Dobrodošli", "Vaša ponudba", "Skenirajte in prihranite", "Koda", "prej {price}"),
        "sv": Phrases("Välkommen", "Ditt erbjudande", "Skanna och spara", "Kod", "ord. pris {price}"),
        "tr": Phrases("Hoş geldiniz", "Size özel", "Tarayın, kazanın", "Kod", "{price} yerine"),
    }
)
"""The built-in phrases by ISO 639-1 code (``nb`` and ``no`` are both Norwegian Bokmål)."""

LANGUAGES = frozenset(PHRASES)

_DOTTED_I = frozenset({"tr", "az"})
"""Languages whose capital of i is İ (and of ı is I)."""


def pick(*languages: str | None) -> str:
    """The first of ``languages`` the table has; English only when none of them is there."""
    for language in languages:
        if language is not None and language in PHRASES:
            return language
    return DEFAULT_LANGUAGE


def phrases(language: str) -> Phrases:
    return PHRASES.get(language) or PHRASES[DEFAULT_LANGUAGE]


def upper(text: str, language: str) -> str:
    """``text`` in capitals as ``language`` writes them (Turkish: i → İ, not I)."""
    if language in _DOTTED_I:
        text = text.replace("i", "İ")
    return text.upper()
