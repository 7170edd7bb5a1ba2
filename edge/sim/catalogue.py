"""The simulated store's offer catalogue and merchandising rules (``cdp/v1/{store}/offers`` and
``rules``, as edge/schemas/offers.json and rules.json define them).

Chosen so the demo shows every branch of the decision engine: an alcohol offer for everyone that
the rules keep off the baby zone's screen, segment offers (families, vegan, wine lovers), a
personal coupon for two shoppers by token, a nappy offer some shoppers just bought (so it is
excluded for them), and a generic playlist for everyone else. Images are the bundled artwork.
"""

from __future__ import annotations

from typing import Any

import msgspec

from edge.trace import format_time

HOLDOUT_SHARE = 0.1
"""The share of shoppers in each campaign's control group (the rules' ``holdout.share``)."""

_TEXT: dict[str, dict[str, tuple[str, str]]] = {
    "o-prosecco": {
        "en": ("Prosecco: 30 % off this weekend", "Dry, fresh and fruity. While stocks last."),
        "de": ("Prosecco: 30 % günstiger am Wochenende", "Trocken, frisch, fruchtig. Solange der Vorrat reicht."),
        "fr": ("Prosecco : -30 % ce week-end", "Sec, frais et fruité. Dans la limite des stocks."),
        "tr": ("Prosecco: hafta sonu %30 indirim", "Kuru, taze ve meyvemsi. Stoklarla sınırlı."),
    },
    "o-riesling": {
        "en": ("Riesling Spätlese: 2 for 1", "A Mosel classic for wine lovers: off-dry and crisp."),
        "de": ("Riesling Spätlese: 2 für 1", "Ein Mosel-Klassiker für Weinfreunde: feinherb und frisch."),
        "fr": ("Riesling Spätlese : 2 pour 1", "Un classique de la Moselle : demi-sec et vif."),
        "tr": ("Riesling Spätlese: 1 alana 1 bedava", "Şarap severler için bir Mosel klasiği."),
    },
    "o-nappies": {
        "en": ("Soft nappies, size 3: 20 % off", "Gentle on skin, dry all night. For families like yours."),
        "de": ("Softe Windeln Gr. 3: 20 % Rabatt", "Sanft zur Haut, trocken die ganze Nacht."),
        "fr": ("Couches douces T3 : -20 %", "Douces pour la peau, au sec toute la nuit."),
        "tr": ("Yumuşak bebek bezi 3 numara: %20 indirim", "Cilde nazik, bütün gece kuru."),
    },
    "o-wipes": {
        "en": ("Sensitive baby wipes: 3 for 2", "99 % water, no perfume."),
        "de": ("Sensitive Feuchttücher: 3 für 2", "99 % Wasser, ohne Parfüm."),
        "fr": ("Lingettes sensibles : 3 pour 2", "99 % d'eau, sans parfum."),
        "tr": ("Hassas ıslak mendil: 3 al 2 öde", "%99 su, parfümsüz."),
    },
    "o-oat": {
        "en": ("Barista oat drink: new and 25 % off", "Foams like milk, 100 % plant-based."),
        "de": ("Barista-Haferdrink: neu und 25 % günstiger", "Schäumt wie Milch, 100 % pflanzlich."),
        "fr": ("Boisson d'avoine barista : -25 %", "Mousse comme du lait, 100 % végétale."),
        "tr": ("Barista yulaf içeceği: %25 indirim", "Süt gibi köpürür, %100 bitkisel."),
    },
    "o-coffee": {
        "en": ("House roast coffee beans", "Freshly roasted in the region. 500 g."),
        "de": ("Kaffeebohnen Hausröstung", "Frisch geröstet in der Region. 500 g."),
        "fr": ("Café en grains, torréfaction maison", "Torréfié dans la région. 500 g."),
        "tr": ("Ev kavurması kahve çekirdeği", "Bölgede taze kavrulmuş. 500 g."),
    },
    "o-birthday": {  # a birthday voucher whose card does not say so: the aisle sees it (edge.signage.discretion)
        "en": ("A thank-you: 5 € off your shop", "For being with us. Valid today."),
        "de": ("Dankeschön: 5 € auf Ihren Einkauf", "Für Ihre Treue. Heute gültig."),
        "fr": ("Merci : 5 € offerts sur vos courses", "Pour votre fidélité. Valable aujourd'hui."),
        "tr": ("Teşekkürler: alışverişte 5 € indirim", "Sadakatiniz için. Bugün geçerli."),
    },
    "g-welcome": {
        "en": ("Welcome to your market", "Ask us about the app: offers made for you."),
        "de": ("Willkommen in Ihrem Markt", "Fragen Sie nach der App: Angebote nur für Sie."),
    },
    "g-fresh": {
        "en": ("Fresh from the region, every morning", "Apples, pears and greens from farms within 50 km."),
        "de": ("Frisch aus der Region, jeden Morgen", "Äpfel, Birnen und Salate von Höfen im Umkreis von 50 km."),
    },
    "g-recipes": {
        "en": ("Tonight's recipe: autumn bowl", "Pumpkin, kale and lentils in 20 minutes."),
        "de": ("Rezept des Tages: Herbst-Bowl", "Kürbis, Grünkohl und Linsen in 20 Minuten."),
    },
}


def _texts(key: str) -> tuple[dict[str, str], dict[str, str]]:
    entries = _TEXT[key]
    return {lang: h for lang, (h, _) in entries.items()}, {lang: t for lang, (_, t) in entries.items()}


def _offer(key: str, **fields: Any) -> dict[str, Any]:
    headline, text = _texts(key)
    return {"id": key, "headline": headline, "text": text, **fields}


def offers_payload(issued_at: float, birthday_tokens: list[str], *, version: int = 1) -> bytes:
    """The catalogue: seven offers and a three-item generic playlist."""
    offers = [
        _offer("o-prosecco", campaign="c-bubbles", category="alcohol", image="prosecco.png", priority=80,
               price={"cents": 559, "was_cents": 799}, skus=["3263280102605"], code="BUBBLES30",
               redeem_url="https://shop.example/r/BUBBLES30"),
        _offer("o-riesling", campaign="c-wine", category="alcohol", image="wine.png", priority=60,
               target={"segments": ["wine-lovers"]}, price={"cents": 799, "was_cents": 1198},
               skus=["4008287054207"], code="WINE-2X1"),
        _offer("o-nappies", campaign="c-baby", category="baby", image="diapers.png", priority=65, zones=["baby"],
               target={"segments": ["families"]}, price={"cents": 1199, "was_cents": 1499},
               # public-safe: only shown in the baby aisle, where a nappy offer tells bystanders nothing
               # about the shopper that standing there does not (the discretion rule's purpose).
               public_safe=True,
               skus=["4006381333931"], code="BABY20", redeem_url="https://shop.example/r/BABY20"),
        _offer("o-wipes", campaign="c-baby", category="baby", image="wipes.png", priority=45, zones=["baby"],
               price={"cents": 390, "was_cents": 585}, skus=["4062300020719"], code="WIPES32"),
        _offer("o-oat", campaign="c-plant", category="food", image="oat-drink.png", priority=55,
               target={"segments": ["vegan", "students"]}, price={"cents": 149, "was_cents": 199},
               code="OAT25"),
        _offer("o-coffee", campaign="c-coffee", category="coffee", image="coffee.png", priority=30,
               price={"cents": 899}, code="ROAST"),
        _offer("o-birthday", campaign="c-loyalty", category="voucher", image="gift.png", priority=70,
               target={"tokens": birthday_tokens}, code="BDAY-5", redeem_url="https://shop.example/r/BDAY-5"),
    ]  # fmt: skip
    playlist = []
    for key, image in (("g-welcome", "welcome.png"), ("g-fresh", "apples.png"), ("g-recipes", "recipes.png")):
        headline, text = _texts(key)
        playlist.append({"id": key, "headline": headline, "text": text, "image": image, "duration_s": 8.0})
    payload = {
        "version": version,
        "issued_at": format_time(issued_at),
        "timezone": "Europe/Berlin",
        "default_language": "de",
        "offers": offers,
        "playlist": playlist,
    }
    return msgspec.json.encode(payload)


def rules_payload(issued_at: float, *, version: int = 1) -> bytes:
    """Never alcohol where the zone is tagged ``baby`` or ``checkout``; default caps; 10 % holdout."""
    payload = {
        "version": version,
        "issued_at": format_time(issued_at),
        "exclusions": [{"category": "alcohol", "zone_tags": ["baby", "checkout"]}],
        "exclude_recent_purchases": True,
        "caps": {"shopper_offer_per_day": 3, "screen_offer_per_hour": 30},
        "holdout": {"share": HOLDOUT_SHARE},
    }
    return msgspec.json.encode(payload)
