"""Discretion on a public screen: a card never tells bystanders something personal about the shopper.

The screen beside the shelf is seen by everyone in the aisle, not only by the shopper it chose the
offer for. An offer *aimed at* that shopper (by token or by segment) in a sensitive category says
something about them: nappies for the "families" segment say "this person has a baby", a birthday
voucher says "it is their birthday today", a pharmacy offer names a health condition. Such an offer
is shown only when the CDP marks it ``public_safe: true`` (it has checked that the card states
nothing personal). The same product offered to everyone (``target`` empty) says nothing about the
viewer and may play.

The words of the card follow the same rule: "your offer" (the screen's own label) appears only over
an offer targeted to the shopper; an offer for everyone carries no label that claims it is personal.

The gateway cannot read meaning from a headline: the CDP puts an offer about a personal fact in one
of these categories, and the decision engine keeps it off the public screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from edge.signage.offers import Offer

SENSITIVE_CATEGORIES: Mapping[str, str] = MappingProxyType(
    {
        "baby": "reveals a pregnancy or a young child in the household",
        "pregnancy": "reveals a pregnancy",
        "birthday": "reveals the shopper's birthday (and so part of their date of birth)",
        "health": "reveals a health condition (GDPR art. 9 special category)",
        "pharmacy": "over-the-counter medicines name a condition (GDPR art. 9 special category)",
        "medical": "reveals a health condition (GDPR art. 9 special category)",
        "incontinence": "reveals a health condition (GDPR art. 9 special category)",
        "sexual-health": "reveals sex life (GDPR art. 9 special category)",
        "contraception": "reveals sex life (GDPR art. 9 special category)",
        "weight-loss": "reveals a health or body-image concern",
        "diabetic": "reveals a health condition (GDPR art. 9 special category)",
        "free-from": "gluten- or lactose-free ranges point to an intolerance or coeliac disease",
        "religious": "halal, kosher and similar ranges reveal a belief (GDPR art. 9 special category)",
        "alcohol-free-recovery": "reveals an addiction recovery",
    }
)
"""Offer categories (lower case) that state a personal fact when aimed at the shopper, each with why."""


def is_sensitive(category: str) -> bool:
    return category.lower() in SENSITIVE_CATEGORIES


def discreet(offer: Offer) -> bool:
    """The offer may play on the public screen for a shopper it was chosen for.

    False only for a targeted offer (token or segment) in a sensitive category without ``public_safe``.
    """
    return offer.public_safe or not offer.targeted or not is_sensitive(offer.category)


def personal_label(offer: Offer) -> bool:
    """The card may say "your offer": only over an offer aimed at this shopper (token or segment)."""
    return offer.targeted
