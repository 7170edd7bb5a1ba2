"""What one screen plays next: the decision engine (pure; ``now`` comes in with the inputs).

Each :meth:`ScreenDecider.step` looks at who is in the screen's zone and what is playing, and
returns the next play to start now, or None to keep the current one:

- **Fail closed.** No roster, an expired roster, no catalogue or no rules: generic content.
- **Viewers** are shoppers in the zone whose roster entry has the ``personalization`` scope;
  everyone else (no scope, not rostered) sees the generic playlist.
- **Several viewers:** the nearest, with dwell counted as distance (someone who stopped beats a
  passer-by); the current viewer keeps the screen unless another is closer by a margin
  (stickiness), and a personalised play stays up at least ``min_display_s``.
- **Generic yields at once** to a personalised play (the presence → screen latency budget); a
  viewer who lost consent or scope loses the screen at once, whatever the minimum display time.
- **Holdout:** a shopper in a campaign's control group sees generic content; the play keeps their
  token and the withheld offer, labelled ``holdout``, so the CDP can measure lift.
- **Before any catalogue** (or with a catalogue without a playlist) the generic item is the
  built-in welcome in the store's language (:mod:`edge.phrases`), never a fixed English one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from edge import constants as c
from edge.phrases import DEFAULT_LANGUAGE, FALLBACK_ID, FALLBACK_IMAGE, phrases, pick
from edge.presence import Occupant
from edge.roster import Roster, Shopper
from edge.signage.caps import CapLedger
from edge.signage.offers import Catalogue, Offer, PlaylistItem, Rules
from edge.signage.rank import Place, choose_offer, is_excluded

PERSONALIZATION = "personalization"


@dataclass(frozen=True, slots=True)
class Timing:
    play_s: float = c.SIGNAGE_PLAY_S
    min_display_s: float = c.SIGNAGE_MIN_DISPLAY_S
    sticky_margin_m: float = c.SIGNAGE_STICKY_MARGIN_M


@dataclass(frozen=True, slots=True)
class Inputs:
    now: float
    roster: Roster | None
    occupants: Sequence[Occupant]
    """Everyone the presence engine has in the screen's zone (only rostered shoppers exist there)."""
    catalogue: Catalogue | None
    rules: Rules | None
    interests: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    """token → SKU → when they last handled it at a shelf."""


@dataclass(frozen=True, slots=True)
class Play:
    """One decided play. ``token`` is set only for a personalised play (an offer, or a holdout)."""

    screen: str
    kind: Literal["offer", "generic"]
    content: str
    """The offer id, or the playlist item id."""
    at: float
    until: float
    reasons: tuple[str, ...]
    token: str | None = None
    holdout: bool = False
    withheld: str | None = None
    """Holdout only: the offer the shopper would have seen."""
    campaign: str | None = None
    offer: Offer | None = None
    item: PlaylistItem | None = None
    language: str | None = None
    """The shopper's language (personalised plays only)."""
    large_text: bool = False
    store_language: str = DEFAULT_LANGUAGE
    """``[gateway] language``: the screen's own words fall back to it."""

    @property
    def personal(self) -> bool:
        return self.token is not None


@dataclass(frozen=True, slots=True)
class _Viewer:
    shopper: Shopper
    distance_m: float
    score_m: float


def fallback_item(language: str) -> PlaylistItem:
    """The built-in welcome in ``language`` (English only for a language the phrase table lacks)."""
    return PlaylistItem(FALLBACK_ID, {pick(language): phrases(language).welcome}, {}, FALLBACK_IMAGE, c.SIGNAGE_PLAY_S)


class ScreenDecider:
    """The decision engine for one screen; see the module docstring. ``language`` is the store's."""

    def __init__(
        self, place: Place, ledger: CapLedger, timing: Timing | None = None, *, language: str = DEFAULT_LANGUAGE
    ) -> None:
        self.place = place
        self.ledger = ledger
        self.timing = timing or Timing()
        self.language = language
        self._fallback = fallback_item(language)
        self.current: Play | None = None
        self._playlist_index = 0

    # --- the step --------------------------------------------------------------------------

    def step(self, inputs: Inputs) -> Play | None:
        """The play to start now, or None to keep the current one."""
        now = inputs.now
        viewers, why_generic = self._viewers(inputs)
        current = self.current
        if current is not None:
            elapsed = now - current.at
            over = now >= current.until
            if current.personal:
                by_token = {v.shopper.token: v for v in viewers}
                allowed = self._still_allowed(current, inputs)
                if allowed and elapsed < self.timing.min_display_s:
                    return None
                mine = by_token.get(current.token or "")
                if allowed and mine is not None and not over:
                    best = min(viewers, key=lambda v: v.score_m)
                    if best is mine or best.score_m > mine.score_m - self.timing.sticky_margin_m:
                        return None
            elif not over and not viewers:
                return None
        play = self._decide(inputs, viewers, why_generic)
        if current is not None and not current.personal and not play.personal and now < current.until:
            return None  # generic stays generic until its item ends
        return self._commit(play)

    # --- viewers ---------------------------------------------------------------------------

    def _viewers(self, inputs: Inputs) -> tuple[list[_Viewer], str]:
        roster = inputs.roster
        if roster is None:
            return [], "generic:no-roster"
        if roster.expired(inputs.now):
            return [], "generic:roster-expired"
        if inputs.catalogue is None:
            return [], "generic:no-catalogue"
        if inputs.rules is None:
            return [], "generic:no-rules"
        present = [o for o in inputs.occupants if o.zone == self.place.zone]
        if not present:
            return [], "generic:nobody-near"
        viewers = []
        for occupant in present:
            shopper = roster.get(occupant.token)
            if shopper is None or not shopper.has(PERSONALIZATION):
                continue
            dwell = min(max(inputs.now - occupant.since, 0.0), c.SIGNAGE_DWELL_CREDIT_MAX_S)
            score = occupant.distance_m - dwell * c.SIGNAGE_DWELL_CREDIT_M_PER_S
            viewers.append(_Viewer(shopper, occupant.distance_m, score))
        if not viewers:
            return [], "generic:no-personalization-scope"
        viewers.sort(key=lambda v: (v.score_m, v.shopper.token))
        return viewers, ""

    def _still_allowed(self, play: Play, inputs: Inputs) -> bool:
        """The personalised play may stay up: consent and scope still there, offer still allowed."""
        roster = inputs.roster
        if roster is None or roster.expired(inputs.now) or inputs.rules is None or inputs.catalogue is None:
            return False
        shopper = roster.get(play.token or "")
        if shopper is None or not shopper.has(PERSONALIZATION):
            return False
        if play.offer is None:
            return True
        if not any(offer.id == play.offer.id for offer in inputs.catalogue.offers):
            return False
        excluded = inputs.rules.excluded_categories(self.place.tags)
        return not is_excluded(play.offer, shopper, inputs.rules, excluded)

    # --- the choice ------------------------------------------------------------------------

    def _decide(self, inputs: Inputs, viewers: list[_Viewer], why_generic: str) -> Play:
        current = self.current
        if viewers and inputs.catalogue is not None and inputs.rules is not None:
            order = viewers
            if current is not None and current.personal:
                mine = next((v for v in viewers if v.shopper.token == current.token), None)
                if mine is not None and viewers[0].score_m > mine.score_m - self.timing.sticky_margin_m:
                    order = [mine, *(v for v in viewers if v is not mine)]
            reasons: tuple[str, ...] = ()
            for rank, viewer in enumerate(order):
                shopper = viewer.shopper
                choice = choose_offer(
                    inputs.catalogue,
                    inputs.rules,
                    shopper,
                    self.place,
                    inputs.now,
                    self.ledger,
                    inputs.interests.get(shopper.token),
                )
                if choice.offer is None:
                    reasons = reasons or choice.reasons
                    continue
                pick = "viewer:sticky" if rank == 0 and order is not viewers else f"viewer:nearest-{rank + 1}"
                return self._personal(inputs, shopper, choice.offer, (*choice.reasons, pick))
            why_generic = reasons[0] if reasons else "generic:no-eligible-offer"
        return self._generic(inputs, (why_generic,))

    def _personal(self, inputs: Inputs, shopper: Shopper, offer: Offer, reasons: tuple[str, ...]) -> Play:
        assert inputs.rules is not None
        now = inputs.now
        prefs = shopper.prefs
        if self.ledger.in_holdout(shopper.token, offer.campaign, inputs.rules.holdout_share, now):
            generic = self._generic(inputs, ("holdout", *reasons))
            return replace(
                generic,
                token=shopper.token,
                holdout=True,
                withheld=offer.id,
                campaign=offer.campaign,
                until=max(generic.until, now + self.timing.min_display_s),
                language=prefs.language,
                large_text=prefs.large_text,
            )
        return Play(
            screen=self.place.screen,
            kind="offer",
            content=offer.id,
            at=now,
            until=now + self.timing.play_s,
            reasons=reasons,
            token=shopper.token,
            campaign=offer.campaign,
            offer=offer,
            language=prefs.language,
            large_text=prefs.large_text,
            store_language=self.language,
        )

    def _scheduled(self, inputs: Inputs) -> PlaylistItem:
        """The next playlist item whose schedule is open now (in turn); the welcome if none is."""
        catalogue = inputs.catalogue
        if catalogue is None or not catalogue.playlist:
            return self._fallback
        playlist = catalogue.playlist
        tz = self.place.timezone or catalogue.timezone
        for offset in range(len(playlist)):
            index = (self._playlist_index + offset) % len(playlist)
            if playlist[index].schedule.open_at(inputs.now, tz):
                self._playlist_index = index
                return playlist[index]
        return self._fallback

    def _generic(self, inputs: Inputs, reasons: tuple[str, ...]) -> Play:
        item = self._scheduled(inputs)
        return Play(
            screen=self.place.screen,
            kind="generic",
            content=item.id,
            at=inputs.now,
            until=inputs.now + item.duration_s,
            reasons=reasons,
            item=item,
            store_language=self.language,
        )

    def _commit(self, play: Play) -> Play:
        if play.kind == "generic":
            self._playlist_index += 1
        if play.token is not None and (play.offer is not None or play.withheld is not None):
            offer_id = play.offer.id if play.offer is not None else play.withheld
            assert offer_id is not None
            self.ledger.record(self.place.screen, play.token, offer_id, play.at)
        self.current = play
        return play

    def forget(self, token: str) -> None:
        """A consent withdrawal: the ledger forgets the shopper; their play ends at the next step."""
        self.ledger.forget(token)
