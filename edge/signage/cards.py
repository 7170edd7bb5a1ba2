"""What the screen draws for a play: a :class:`Card`, in the viewer's language.

A card carries only what is shown: headline, text, price, image name, redemption code. Never a
token or anything else about who it is for (the screen is public). It crosses to the player
process as JSON.

The CDP's texts are shown in the shopper's language, else the catalogue's default. The screen's
own words (the "your offer" label, "was", the code label, the scan hint, the price format) come
from :mod:`edge.phrases` in the first of: the shopper's language, the catalogue's default,
the store's language (``[gateway] language``) that the table has.
"""

from __future__ import annotations

import hashlib
from typing import Literal

import msgspec

from edge.phrases import DEFAULT_LANGUAGE, FALLBACK_IMAGE, phrases, pick
from edge.signage.decide import Play
from edge.signage.discretion import personal_label
from edge.signage.offers import Catalogue, Price, localise

CURRENCY_SYMBOL = {
    "EUR": "€", "GBP": "£", "USD": "$", "CHF": "CHF", "TRY": "₺", "PLN": "zł", "CZK": "Kč",
    "SEK": "kr", "DKK": "kr", "NOK": "kr", "HUF": "Ft", "RON": "lei",
}  # fmt: skip
SHORT_SYMBOLS = frozenset({"€", "£", "$"})
"""Symbols a language may write before the amount (``Phrases.price``); others always follow it."""

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
    kind: Literal["offer", "generic", "boot", "override"]
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
    language: str = DEFAULT_LANGUAGE
    """The language of the card's own words (capitals are drawn as it writes them)."""


def accent_for(key: str) -> tuple[int, int, int]:
    return PALETTE[hashlib.sha256(key.encode()).digest()[0] % len(PALETTE)]


def format_price(cents: int, currency: str, language: str) -> str:
    words = phrases(language)
    amount = f"{cents // 100}{words.decimal}{cents % 100:02d}"
    symbol = CURRENCY_SYMBOL.get(currency, currency)
    if symbol in SHORT_SYMBOLS:
        return words.price.format(amount=amount, symbol=symbol)
    return f"{amount} {symbol}"


def _prices(price: Price | None, language: str) -> tuple[str | None, str | None]:
    if price is None:
        return None, None
    was = format_price(price.was_cents, price.currency, language) if price.was_cents else None
    return format_price(price.cents, price.currency, language), was


def _qr(redeem_url: str | None, offer_code: str | None, code: str | None) -> str | None:
    """The QR's text: the redeem URL with the offer's code replaced by this impression's code."""
    if redeem_url and offer_code and code and offer_code in redeem_url:
        return redeem_url.replace(offer_code, code)
    return redeem_url or code


def card_for(play: Play, catalogue: Catalogue | None, play_id: int, *, code: str | None = None) -> Card:
    """The card for a decided play, in the shopper's language and text size when they have one.

    ``code``: this impression's redemption code (:func:`edge.signage.impression.redemption_code`),
    shown instead of the offer's own code and put in the QR's URL in its place."""
    default = catalogue.default_language if catalogue is not None else play.store_language
    language = play.language or default
    own = pick(play.language, default, play.store_language)
    words = phrases(own)
    offer = play.offer
    if play.kind == "offer" and offer is not None:
        price, was = _prices(offer.price, own)
        return Card(
            play=play_id,
            kind="offer",
            headline=localise(offer.headline, language, default),
            text=localise(offer.text, language, default) if offer.text else "",
            label=words.label if personal_label(offer) else None,
            price=price,
            was_price=words.was.format(price=was) if was else None,
            image=offer.image,
            code=code or offer.code,
            code_label=words.code,
            qr=_qr(offer.redeem_url, offer.code, code or offer.code),
            scan_hint=words.scan if (offer.redeem_url or offer.code) else None,
            large_text=play.large_text,
            accent=accent_for(offer.category),
            language=own,
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
        language=own,
    )


def boot_card() -> Card:
    """What the player shows from its first frame until the first play arrives: never black, and
    without words (the player does not know the store's language; the first play follows at once):
    the welcome art on a gradient."""
    return Card(play=0, kind="boot", headline="", text="", image=FALLBACK_IMAGE, accent=PALETTE[1])
