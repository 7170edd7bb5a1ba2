"""Which of the demo's features have happened, and when: the checklist of ``edge demo``'s panel.

Fed with committed events (:meth:`Checklist.event`) and with plays as they reach the screen
(:meth:`Checklist.play`, from the signage service's ``on_started``): an impression event is
committed only when its play ends, so the screen's own report is the earlier, truthful moment for
"on screen". Both are accepted, so the checklist can also be rebuilt from events alone (a test, an
outbox). Times are seconds after the simulation's start.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from edge import events as ev
from edge.events import Event

NO_SCOPE = "generic:no-personalization-scope"
"""The decision engine's reason for generic content shown to shoppers without the scope."""


@dataclass(slots=True)
class Feature:
    key: str
    label: str
    at: float | None = None
    """Seconds after the start when it first happened; None: not yet."""
    detail: str = ""


FEATURES = (
    ("entered", "an opted-in shopper enters a zone"),
    ("offer", "a personalised offer (with its code) on screen"),
    ("generic", "a shopper without the personalisation scope: generic content"),
    ("pickup", "a shelf pickup attributed to a shopper"),
    ("withdrawal", "a consent withdrawal takes effect"),
)


class Checklist:
    """See the module docstring. ``start``: Unix time of the simulation's t = 0."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.features = [Feature(key, label) for key, label in FEATURES]
        self._by_key = {feature.key: feature for feature in self.features}

    def _mark(self, key: str, at: float, detail: str) -> None:
        feature = self._by_key[key]
        seconds = max(at - self.start, 0.0)
        if feature.at is not None and feature.detail.split(" (")[0] == detail.split(" (")[0]:
            feature.at = min(feature.at, seconds)  # the same play reported twice: keep its code
        elif feature.at is None or seconds < feature.at:
            feature.at, feature.detail = seconds, detail

    def first(self, key: str) -> float | None:
        return self._by_key[key].at

    @property
    def done(self) -> bool:
        return all(feature.at is not None for feature in self.features)

    def play(
        self,
        *,
        at: float,
        kind: str,
        content: str,
        token: str | None,
        holdout: bool,
        reasons: Iterable[str],
        code: str | None = None,
    ) -> None:
        """A play reached the screen at ``at`` (Unix time)."""
        if kind == "offer" and token is not None and not holdout:
            self._mark("offer", at, f"{content} ({code})" if code else content)
        elif kind == "generic" and token is None and NO_SCOPE in reasons:
            self._mark("generic", at, content)

    def event(self, event: Event) -> None:
        data = event.data
        if event.type == ev.PRESENCE_ENTERED:
            self._mark("entered", event.time, f"{data.get('token')} in {data.get('zone')}")
        elif event.type == ev.SHELF_INTERACTION and data.get("action") == "pickup" and data.get("token"):
            self._mark("pickup", event.time, f"{data.get('sku')} by {data.get('token')}")
        elif event.type == ev.CONSENT_WITHDRAWN:
            self._mark("withdrawal", event.time, str(data.get("token")))
        elif event.type == ev.OFFER_IMPRESSION:
            self.play(
                at=event.time,
                kind=str(data.get("kind")),
                content=str(data.get("offer")),
                token=data.get("token"),
                holdout=bool(data.get("holdout")),
                reasons=data.get("reason") or (),
            )

    def lines(self) -> list[tuple[bool, str, str]]:
        """(done, label, "at 12.3 s: detail" or "not yet") per feature, for a table or a print."""
        return [
            (f.at is not None, f.label, f"at {f.at:5.1f} s: {f.detail}" if f.at is not None else "not yet")
            for f in self.features
        ]
