"""``edge.offer.impression`` and ``edge.offer.redeemed`` data, built from plain facts (pure).

The in-store measurement standard (IAB / IAB Europe, Dec 2024) asks of a play: which screen, store,
zone and zone type; which creative and version; planned and actual duration and whether it ran to
the end; evidence the display worked; who could see it and how that was counted; the campaign, the
control group, the attribution window. :func:`impression_data` writes all of it beside the older
fields (``screen``, ``offer``, ``kind``, ``campaign``, ``token``, ``start``, ``end``, ``duration_s``,
``holdout``, ``withheld_offer``, ``reason``), which keep their meaning.

- **Times**: the player reports ``time.monotonic()``; :func:`to_clock` converts to the gateway's
  clock, which under a replay or the demo runs ``speed`` times real time. ``start``, ``end`` and
  ``duration_s`` are all on that clock, so ``end - start == duration_s`` at any speed.
- **Audience**: ``{"count", "method": "opted_in_present"}``, the opted-in shoppers in the zone when
  the play started. A lower bound, honestly labelled: devices not on the consent roster are never
  counted (nothing derived from them exists).
- **Redemption code**: the offer's code with a per-impression suffix (:func:`redemption_code`), so a
  redemption names the impression. Derived from the play id, never from the token.
- **Redeemed**: :class:`RedemptionMatcher` remembers the codes shown for the attribution window; a
  shelf pickup or a check-in carrying one yields ``{"code", "offer", "token" | null, "impression"}``.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal

from edge.timefmt import format_time

ZONE_TYPES = ("entrance", "checkout", "in-aisle", "perimeter", "exterior")
"""The standard's venue types of a zone (``[[zones]] type``)."""
DEFAULT_ZONE_TYPE = "in-aisle"
COMPLETED_TOLERANCE_S = 0.5
"""A play is ``completed`` when it was on screen at least its planned time less this: one crossfade
(0.5 s) of slack, so a play whose successor's fade began on time still counts as whole."""
AUDIENCE_METHOD = "opted_in_present"
"""How the audience was counted: opted-in shoppers present in the zone (a lower bound)."""
ATTRIBUTION_WINDOW_S = 7 * 86_400.0
"""How long a code shown on screen counts towards a redemption: seven days, the usual post-view window
of retail media networks for in-store exposure (a weekly shop falls inside it)."""
CODE_SUFFIX_CHARS = 6
"""Crockford base-32 characters appended to a code: 30 bits, ~1 collision in 10^5 plays a day per offer."""
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

Kind = Literal["offer", "generic", "override"]


def to_clock(mono: float, *, now_clock: float, now_mono: float, speed: float = 1.0) -> float:
    """The gateway-clock time of monotonic instant ``mono``, given a reading of both clocks now.

    The gateway clock runs ``speed`` times real time (1 live; the replay or demo speed otherwise):
    without the factor a play's start was late by ``(speed - 1) x`` its length.
    """
    return now_clock - (now_mono - mono) * speed


def play_id(store: str, screen: str, start: float, sequence: int) -> str:
    """A play's id, unique across screens, restarts and gateways: a hash of where and when (16 hex)."""
    text = f"{store}\x00{screen}\x00{round(start * 1000)}\x00{sequence}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def redemption_code(offer_code: str, play: str) -> str:
    """The code shown for one impression: the offer's code and a suffix derived from the play id.

    Unique per impression; the token never enters it (a code on a public screen says nothing about
    who it was shown to, and cannot be turned back into a token)."""
    value = int.from_bytes(hashlib.sha256(f"code\x00{play}".encode()).digest()[:4], "big")
    suffix = "".join(_CROCKFORD[(value >> (5 * i)) & 31] for i in range(CODE_SUFFIX_CHARS))
    return f"{offer_code}-{suffix}"


def creative_version(*fields: object) -> str:
    """A short version of what was drawn (headline, text, price, image…): changes when the creative does."""
    return hashlib.sha256(repr(fields).encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything one impression says, already on the gateway's clock."""

    play_id: str
    kind: Kind
    store: str
    screen: str
    zone: str
    zone_type: str
    content: str
    """The offer id, the playlist item id, or the override id."""
    creative_version: str
    start: float
    end: float
    planned_s: float
    frames: int
    last_frame_at: float | None
    audience: int
    reasons: tuple[str, ...] = ()
    campaign: str | None = None
    token: str | None = None
    holdout: bool = False
    withheld: str | None = None
    code: str | None = None


def impression_data(facts: Facts) -> dict[str, object]:
    """The ``edge.offer.impression`` data of one play (old fields first, the standard's after)."""
    start, end = facts.start, max(facts.end, facts.start)
    actual = round(end - start, 3)
    return {
        "screen": facts.screen,
        "offer": facts.content,
        "kind": facts.kind,
        "campaign": facts.campaign,
        "token": facts.token,
        "start": format_time(start),
        "end": format_time(end),
        "duration_s": actual,
        "holdout": facts.holdout,
        "withheld_offer": facts.withheld,
        "reason": list(facts.reasons),
        "play_id": facts.play_id,
        "store": facts.store,
        "zone": facts.zone,
        "zone_type": facts.zone_type,
        "creative": {"id": facts.content, "version": facts.creative_version},
        "planned_s": round(facts.planned_s, 3),
        "actual_s": actual,
        "completed": actual >= facts.planned_s - COMPLETED_TOLERANCE_S,
        "display": {
            "frames": facts.frames,
            "last_frame_at": format_time(facts.last_frame_at) if facts.last_frame_at is not None else None,
        },
        "audience": {"count": facts.audience, "method": AUDIENCE_METHOD},
        "attribution_window_s": ATTRIBUTION_WINDOW_S,
        "code": facts.code,
    }


@dataclass(frozen=True, slots=True)
class Shown:
    """A code on screen: which impression, which offer, for whom (None: nobody in particular, or a
    shopper who withdrew), when; ``personal``: it was shown to a shopper (kept after a withdrawal)."""

    play_id: str
    offer: str
    token: str | None
    at: float
    personal: bool = False


class RedemptionMatcher:
    """Codes shown in the attribution window → ``edge.offer.redeemed`` data when one comes back."""

    def __init__(self, window_s: float = ATTRIBUTION_WINDOW_S) -> None:
        self.window_s = window_s
        self._shown: OrderedDict[str, Shown] = OrderedDict()

    def shown(self, code: str, shown: Shown) -> None:
        self._shown[code] = shown
        self._shown.move_to_end(code)
        self._prune(shown.at)

    def _prune(self, now: float) -> None:
        while self._shown:
            code, first = next(iter(self._shown.items()))
            if now - first.at <= self.window_s:
                break
            del self._shown[code]

    def get(self, code: str, now: float) -> Shown | None:
        """The showing of ``code`` if it is redeemable at ``now`` (shown within the window, not yet
        redeemed), else None."""
        self._prune(now)
        shown = self._shown.get(code.strip().upper())
        return shown if shown is not None and shown.at <= now else None

    def redeem(self, code: str, token: str | None, now: float) -> dict[str, object] | None:
        """A pickup or check-in carrying ``code`` (by ``token``, a rostered shopper, or None): the
        redeemed data, or None for a code this gateway did not show in the window or that was
        redeemed before (each code once)."""
        shown = self.get(code, now)
        if shown is None:
            return None
        key = code.strip().upper()
        del self._shown[key]
        return {"code": key, "offer": shown.offer, "token": token, "impression": shown.play_id}

    def forget(self, token: str) -> None:
        """A consent withdrawal: the codes shown to ``token`` no longer name it. They stay
        ``personal``, so the gateway (:mod:`edge.signage.measure`) redeems them for nobody: the
        shopper who saw one has withdrawn, and it was never anyone else's."""
        for code, shown in self._shown.items():
            if shown.token == token:
                self._shown[code] = Shown(shown.play_id, shown.offer, None, shown.at, shown.personal)

    def __len__(self) -> int:
        return len(self._shown)
