"""The offer for one shopper at one screen: eligibility → exclusion rules → frequency caps → ranking.

A pure function of its inputs (``now`` included). Each stage only removes offers, so an offer an
exclusion rule forbids can never be chosen whatever the ranking says; the winner carries reason
codes saying why it won. Costs one pass over the catalogue with set lookups: ~1 µs per offer.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass

from edge import constants as c
from edge.roster import Shopper
from edge.signage.caps import CapLedger, holdout_draw
from edge.signage.discretion import discreet
from edge.signage.offers import Catalogue, Offer, Rules

TOKEN_TARGET_BONUS = 30
"""Rank points for an offer made for this very shopper (a personal coupon) over a segment offer."""
SEGMENT_TARGET_BONUS = 10
"""Rank points for an offer aimed at one of the shopper's segments over an offer for everyone."""
INTEREST_BONUS = 20
"""Rank points when the shopper handled one of the offer's SKUs at a shelf in this visit."""
REPEAT_PENALTY = 5
"""Rank points lost per play of the offer to the shopper in 24 h, so offers rotate."""


@dataclass(frozen=True, slots=True)
class Choice:
    """The winning offer (None: nothing is eligible) and why; ``considered`` counts each stage."""

    offer: Offer | None
    reasons: tuple[str, ...]
    eligible: int = 0
    excluded: int = 0
    capped: int = 0
    withheld: int = 0
    """Targeted offers in a sensitive category kept off the public screen (:mod:`edge.signage.discretion`)."""


@dataclass(frozen=True, slots=True)
class Place:
    """Where the choice is made: the screen, its zone and the zone's tags; the store's time zone
    (``[gateway] timezone``: schedules are read in it; None: the catalogue's) and the zone's type."""

    screen: str
    zone: str
    tags: frozenset[str]
    timezone: zoneinfo.ZoneInfo | None = None
    zone_type: str = "in-aisle"


in_holdout = holdout_draw
"""The first draw of a shopper's holdout group (kept afterwards by :meth:`CapLedger.in_holdout`)."""


def is_excluded(offer: Offer, shopper: Shopper, rules: Rules, excluded_categories: frozenset[str]) -> bool:
    """The merchandising rules forbid this offer here (category × zone tag) or for this shopper
    (an offer for a SKU they just bought)."""
    if offer.category in excluded_categories:
        return True
    return bool(rules.exclude_recent_purchases and offer.skus and not offer.skus.isdisjoint(shopper.recent_purchases))


def choose_offer(
    catalogue: Catalogue,
    rules: Rules,
    shopper: Shopper,
    place: Place,
    now: float,
    ledger: CapLedger,
    interests: Mapping[str, float] | None = None,
) -> Choice:
    """The best offer for ``shopper`` at ``place`` now; ``interests``: SKU → when they handled it."""
    token = shopper.token
    segments = frozenset(shopper.segments)
    store_tz = place.timezone or catalogue.timezone
    excluded_categories = rules.excluded_categories(place.tags)
    recent_skus = frozenset(
        sku for sku, at in (interests or {}).items() if 0 <= now - at <= c.SIGNAGE_INTEREST_WINDOW_S
    )
    cap_shopper, cap_screen = rules.cap_shopper_offer_per_day, rules.cap_screen_offer_per_hour
    best: Offer | None = None
    best_key: tuple[int, str] = (0, "")
    best_reasons: tuple[str, ...] = ()
    eligible = excluded = capped = withheld = 0
    for offer in catalogue.offers:
        # 1. eligibility: valid now, scheduled now, in this zone, aimed at this shopper
        if not offer.valid_from <= now < offer.valid_until:
            continue
        if not offer.dayparts.open_at(now, catalogue.timezone) or not offer.schedule.open_at(now, store_tz):
            continue
        if offer.zones and place.zone not in offer.zones:
            continue
        if token in offer.tokens:
            score, target = offer.priority + TOKEN_TARGET_BONUS, "target:token"
        elif offer.segments and not offer.segments.isdisjoint(segments):
            score, target = offer.priority + SEGMENT_TARGET_BONUS, "target:segment"
        elif not offer.targeted:
            score, target = offer.priority, "target:all"
        else:
            continue
        eligible += 1
        # 2. discretion on a public screen, then the exclusion rules
        if not discreet(offer):
            withheld += 1
            continue
        if is_excluded(offer, shopper, rules, excluded_categories):
            excluded += 1
            continue
        # 3. frequency caps
        shown = ledger.shopper_plays(token, offer.id, now)
        if shown >= cap_shopper or ledger.screen_plays(place.screen, offer.id, now) >= cap_screen:
            capped += 1
            continue
        # 4. ranking: priority, targeting, shelf interest, rotation; ties by id (deterministic)
        interest = bool(recent_skus) and not offer.skus.isdisjoint(recent_skus)
        if interest:
            score += INTEREST_BONUS
        score -= REPEAT_PENALTY * shown
        if best is None or score > best_key[0] or (score == best_key[0] and offer.id < best_key[1]):
            best, best_key = offer, (score, offer.id)
            best_reasons = (target, "interest:shelf") if interest else (target,)
    if best is None:
        if capped:
            reason = "generic:capped"
        elif excluded:
            reason = "generic:excluded"
        elif withheld:
            reason = "generic:discretion"
        else:
            reason = "generic:no-eligible-offer"
        return Choice(None, (reason,), eligible, excluded, capped, withheld)
    reasons = (*best_reasons, f"priority:{best.priority}", f"score:{best_key[0]}")
    return Choice(best, reasons, eligible, excluded, capped, withheld)
