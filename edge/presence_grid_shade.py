"""The grid engine's body shadowing: whether the shopper's own body is between their phone and every scanner now.

A phone in a back pocket, or held in front of a shopper who turns away, loses 4-10 dB to the body on its way to
every scanner at once, for the seconds the shopper stands so (docs/presence.md, "The grid hears the shopper's body
(session 45)"). Read as position, such a drop is a walk away from every scanner: the posterior leaves the zone and
comes back a few seconds later (a spurious exit and entry). The grid's filter weighs an advert that
:data:`SHADE_HEARD` or more scanners heard, whose first reading falls (:data:`SHADE_DROP_DB`) or while a shadow is
followed (:data:`SHADE_FOLLOW_P`), under two hypotheses -- the body clear, and the body in the way (every
reading :data:`SHADE_DB` quieter, the advertiser heard as far as one that much quieter) -- and keeps, per shopper,
the probability of the second, bounded in time (:data:`SHADE_MAX_S`): a hidden two-state
Markov chain beside the position (a shadow starts about :data:`SHADE_SHARE` of the time, lasts about
:data:`SHADE_S`), updated by how well each hypothesis explained the advert. The position's posterior after an
advert is the mixture of the two, weighed by that probability: one advert quieter everywhere moves it less; a run
of them, as a shadow makes, is read as the body, not as a walk -- and a shopper who walks away is heard quieter by
the near scanners and louder by the far ones, which no shadow explains.

Pure: no I/O, no clock (the times are the adverts').
"""

from __future__ import annotations

import math

SHADE: bool = True
"""Weigh every advert with the body in the way as well (False: the body is never in the way, as before session
45)."""
SHADE_DB = 5
"""How much quieter the body makes every reading of an advert (dB, whole: it shifts the cached likelihoods'
keys): within the 3-10 dB a human torso costs at 2.4 GHz, toward its shallow end -- the readings' own shadowing
(5-6 dB) spreads one shift over the rest. 7, the range's middle, did as well on the sweep's body-shadowed stores and
a point worse over the whole sweep on both seed sets (in the first version: every advert, no bound;
docs/presence.md)."""
SHADE_HEARD = 2
"""Only an advert at least this many scanners heard is weighed with the body in the way: a drop common to every
reading is a shadow only where there are readings to share it (one scanner's low reading is as well a shopper
farther from it)."""
SHADE_FOLLOW_P = 0.2
"""An advert is weighed with the body in the way while the probability is at least this (a shadow followed: twice
the share, which a shadow leaves about 7 s after it ends)..."""
SHADE_DROP_DB = 2.5
"""...or when its first reading is at least this under the same scanner's last (dB: half a shadow, SHADE_DB / 2).
The others, weighed so, cost the grid a third to a half more per sighting to find the body not in the way."""
SHADE_S = 4.0
"""How long a shadow lasts on average (s): a shopper stands turned from the shelf for a few seconds."""
SHADE_SHARE = 0.1
"""The share of the time a shopper's body is in the way, before any advert tells (the chain's stationary
probability)."""
SHADE_MAX_S = 8.0
"""A shadow believed (:data:`BELIEVED_P`) for longer than this is not the body's (s): then it is not weighed at all
for :data:`SHADE_S`. A body is in the way for the seconds a shopper stands turned away; readings low for longer are
the shopper's place -- a shopper who walked out of the door reads, through the building's wall, like one standing
inside behind their body. A guard: in the first version (every advert weighed) leavers of the doors walk held a zone
inside until the track's silence ended it, 27 s on, and this bound alone did not let them go -- :data:`SHADE_HEARD`
did; the bound was not measured apart from it."""
BELIEVED_P = 0.5
"""A shadow is believed while its probability is at least this: more likely than not."""


class Shade:
    """One shopper's probability that their body is in the way: before the next advert (:meth:`prior`) and after
    it (:meth:`update`)."""

    __slots__ = ("at", "p", "since", "until")

    def __init__(self) -> None:
        self.p = SHADE_SHARE
        """The probability, after the last advert weighed."""
        self.at: float | None = None
        """That advert's time (None: none yet)."""
        self.since: float | None = None
        """When the probability last reached a half and has stayed so since (None: it is under)."""
        self.until = -math.inf
        """No shadow is weighed before this (a shadow believed past :data:`SHADE_MAX_S`)."""

    def prior(self, at: float) -> float:
        """The probability at ``at``: the last one relaxed toward :data:`SHADE_SHARE` at the chain's rate (shadows
        begin at SHADE_SHARE / ((1 - SHADE_SHARE) SHADE_S) and end at 1 / SHADE_S per second) -- 0 for
        :data:`SHADE_S` once a shadow has been believed past :data:`SHADE_MAX_S`."""
        if at < self.until:
            return 0.0
        if self.at is None:
            return SHADE_SHARE
        rate = 1.0 / (SHADE_S * (1.0 - SHADE_SHARE))  # (the two rates' sum)
        p = SHADE_SHARE + (self.p - SHADE_SHARE) * math.exp(-rate * max(0.0, at - self.at))
        if self.since is not None:
            if p < BELIEVED_P:
                self.since = None
            elif at - self.since > SHADE_MAX_S:
                self.since, self.until, self.p, self.at = None, at + SHADE_S, 0.0, at
                return 0.0
        return p

    def update(self, at: float, prior: float, clear: float, shaded: float) -> float:
        """The advert at ``at`` weighed: ``clear`` and ``shaded`` are the masses the position's posterior kept
        under each hypothesis (its evidence's likelihood, up to one factor); the probability after it, returned
        and kept. Nothing explained (both 0, or not finite): the prior stands."""
        total = (1.0 - prior) * clear + prior * shaded
        if total > 0.0 and math.isfinite(total):
            self.p = min(1.0, max(0.0, prior * shaded / total))
        else:
            self.p = prior
        self.at = at
        if self.p < BELIEVED_P:
            self.since = None
        elif self.since is None:
            self.since = at
        return self.p
