"""Consent gating: when, for whom and for how long the camera may look. Pure; time is passed in.

The camera opens only when vision is enabled, and a shopper who holds the ``camera`` scope and a
face template in a roster in force checks in (``cdp/v1/{store}/checkin``) at the vision screen
while present in that screen's zone. Then one :class:`Session` runs for a bounded window; it ends
at the first match, at its deadline, or as soon as the shopper withdraws or leaves the zone.
One session at a time: the camera compares against exactly one template.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from edge.roster import Roster, Shopper

CAMERA_SCOPE = "camera"


class Refusal(enum.Enum):
    """Why a check-in does not open the camera."""

    DISABLED = "disabled"
    WRONG_SCREEN = "wrong-screen"
    NO_ROSTER = "no-roster"
    UNKNOWN = "unknown-shopper"
    NO_CONSENT = "no-camera-scope"
    NO_TEMPLATE = "no-template"
    NOT_PRESENT = "not-present"
    BUSY = "busy"


class End(enum.Enum):
    """Why a session ended."""

    VERIFIED = "verified"
    TIMEOUT = "timeout"
    WITHDRAWN = "withdrawn"
    LEFT = "left-zone"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Session:
    """One verification window: one shopper, one screen, one template, a deadline."""

    id: int
    token: str
    screen: str
    zone: str
    template: bytes
    model: str
    deadline: float


class Gate:
    """The state machine: idle, or one active :class:`Session`."""

    def __init__(self, *, enabled: bool, screen: str | None, screen_zones: dict[str, str], window_s: float) -> None:
        self._enabled = enabled and screen is not None
        self._screen = screen
        self._zones = screen_zones
        self._window_s = window_s
        self._next_id = 1
        self.active: Session | None = None

    def checkin(
        self, token: str, screen: str, now: float, roster: Roster | None, zone_of_token: str | None
    ) -> Session | Refusal:
        """A shopper asks to be verified at ``screen``; ``zone_of_token`` is where presence has them."""
        if not self._enabled:
            return Refusal.DISABLED
        if screen != self._screen or screen not in self._zones:
            return Refusal.WRONG_SCREEN
        shopper = self._consent(token, roster, now)
        if isinstance(shopper, Refusal):
            return shopper
        zone = self._zones[screen]
        if zone_of_token != zone:
            return Refusal.NOT_PRESENT
        if self.active is not None:
            return Refusal.BUSY
        assert shopper.face_embedding is not None
        session = Session(
            self._next_id,
            token,
            screen,
            zone,
            shopper.face_embedding,
            shopper.face_model or "",
            now + self._window_s,
        )
        self._next_id += 1
        self.active = session
        return session

    @staticmethod
    def _consent(token: str, roster: Roster | None, now: float) -> Shopper | Refusal:
        if roster is None or roster.expired(now):
            return Refusal.NO_ROSTER
        shopper = roster.get(token)
        if shopper is None:
            return Refusal.UNKNOWN
        if not shopper.has(CAMERA_SCOPE):
            return Refusal.NO_CONSENT
        if shopper.face_embedding is None:
            return Refusal.NO_TEMPLATE
        return shopper

    def review(self, now: float, roster: Roster | None, zone_of_token: str | None) -> Session | None:
        """Re-check the active session; returns it (now ended) if its time, consent or presence is gone."""
        session = self.active
        if session is None:
            return None
        if now >= session.deadline:
            return self._end()
        if isinstance(self._consent(session.token, roster, now), Refusal) or zone_of_token != session.zone:
            return self._end()
        return None

    def why_ended(self, session: Session, now: float, roster: Roster | None, zone_of_token: str | None) -> End:
        """The reason :meth:`review` ended ``session``."""
        if now >= session.deadline:
            return End.TIMEOUT
        if isinstance(self._consent(session.token, roster, now), Refusal):
            return End.WITHDRAWN
        return End.LEFT

    def finish(self, session_id: int) -> Session | None:
        """The worker reported the end of a session (match, timeout, failure): the gate is idle again."""
        session = self.active
        if session is None or session.id != session_id:
            return None
        return self._end()

    def _end(self) -> Session | None:
        session, self.active = self.active, None
        return session
