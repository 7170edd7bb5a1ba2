"""What the screen draws for a play: a :class:`Card`, in the viewer's language.

A card carries only what is shown: headline, text, price, image name, redemption code. Never a
token or anything else about who it is for (the screen is public). It crosses to the player
process as JSON.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import msgspec

from edge.signage.decide import Play
from edge.signage.offers import Catalogue, Price, localise

UI_TEXT: dict[str, dict[str, str]] = {
    "en": {"label": "Your offer", "scan": "Scan to save", "code": "Code", "was": "was"},
    "de": {"label": "Ihr Angebot", "scan": "Scannen und sparen", "code": "Code", "was": "statt"},
    "fr": {"label": "Votre offre", "scan": "Scannez pour économiser", "code": "Code", "was": "au lieu de"},
    "tr": {"label": "Size özel", "scan": "Tarayın, kazanın", "code": "Kod", "was": "yerine"},
}
"""The card's own words per language (English when the shopper's language is not here)."""

CURRENCY_SYMBOL = {"EUR": "€", "GBP": "£", "USD": "$", "CHF": "CHF", "TRY": "TL"}
DECIMAL_COMMA = frozenset({"de", "fr", "tr"})

PALETTE = (
    (200, 16, 46),  # red
    (0, 102, 153),  # blue
    (0, 128, 96),  # green
    (230, 120, 0),  # orange
    (110, 60, 160),  # purple
    (20, 110, 120),  # teal
)
"""Accent colours, picked per category (offers) or item (playlist) by a stable hash."""


class Card(msgspec.Struct, frozen=True, kw_only=True):
    play: int
    kind: Literal["offer", "generic", "boot"]
    headline: str
    text: str = ""
    label: str | None = None
    price: str | None = None
    was_price: str | None = None
    image: str | None = None
    code: str | None = None
    code_label: str | None = None
    qr: str | None = None
    scan_hint: str | None = None
    large_text: bool = False
    accent: tuple[int, int, int] = PALETTE[0]


def accent_for(key: str) -> tuple[int, int, int]:
    return PALETTE[hashlib.sha256(key.encode()).digest()[0] % len(PALETTE)]


def format_price(cents: int, currency: str, language: str) -> str:
    amount = f"{cents // 100}.{cents % 100:02d}"
    if language in DECIMAL_COMMA:
        amount = amount.replace(".", ",")
    symbol = CURRENCY_SYMBOL.get(currency, currency)
    if language == "en" and symbol in {"€", "£", "$"}:
        return f"{symbol}{amount}"
    return f"{amount} {symbol}"


def _prices(price: Price | None, language: str) -> tuple[str | None, str | None]:
    if price is None:
        return None, None
    was = format_price(price.was_cents, price.currency, language) if price.was_cents else None
    return format_price(price.cents, price.currency, language), was


def card_for(play: Play, catalogue: Catalogue | None, play_id: int) -> Card:
    """The card for a decided play, in the shopper's language and text size when they have one."""
    default = catalogue.default_language if catalogue is not None else "en"
    language = play.language or default
    ui = UI_TEXT.get(language) or UI_TEXT["en"]
    offer = play.offer
    if play.kind == "offer" and offer is not None:
        price, was = _prices(offer.price, language)
        was_text = f"{ui['was']} {was}" if was else None
        return Card(
            play=play_id,
            kind="offer",
            headline=localise(offer.headline, language, default),
            text=localise(offer.text, language, default) if offer.text else "",
            label=ui["label"],
            price=price,
            was_price=was_text,
            image=offer.image,
            code=offer.code,
            code_label=ui["code"],
            qr=offer.redeem_url or offer.code,
            scan_hint=ui["scan"] if (offer.redeem_url or offer.code) else None,
            large_text=play.large_text,
            accent=accent_for(offer.category),
        )
    item = play.item
    assert item is not None
    return Card(
        play=play_id,
        kind="generic",
        headline=localise(item.headline, language, default),
        text=localise(item.text, language, default) if item.text else "",
        image=item.image,
        large_text=play.large_text,
        accent=accent_for(item.id),
    )


def boot_card() -> Card:
    """What the player shows from its first frame until the first play arrives: never black."""
    return Card(play=0, kind="boot", headline="Welcome", text="", accent=PALETTE[1])
