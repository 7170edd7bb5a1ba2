"""App presence: accepted check-ins become ``entered`` / ``exited`` with ``via: "app"``; BLE refines the zone.

Pure and clock-injected. :class:`AppPresence` keeps, per token, whether the app says the shopper is
in the store (``enter`` / ``refresh`` until ``exit`` or ``timeout_s`` without a refresh) and what
the outside world has been told: one zone at a time, per token, across both sources.

The same rules as the BLE engine: a check-in counts only for a shopper on a roster in force (not
expired) with the ``presence`` scope — anything else is dropped without a trace; :meth:`forget`
(a withdrawal, a roster that no longer lists the token) drops the token silently; an expired
roster ends every app presence at the next :meth:`tick`.

Merging with BLE (the core's job, through :meth:`merge_ble`): the BLE engine's events pass through
this tracker. While BLE has the token in a zone, BLE owns the presence (its zone is the finer one):

- BLE ``entered`` Y for a token the app shows in zone Z: Z == Y → swallowed (already announced),
  else ``exited`` Z (app) then BLE's ``entered`` Y. Either way BLE owns it from then on.
- BLE ``exited`` Y while the app still says "in the store": swallowed when the app's zone is Y (the
  presence carries on under the app), else passed on and followed by ``entered`` in the app's zone.
- An app ``enter``/``refresh``/``exit`` while BLE owns the token changes nothing visible.
- A BLE hand-off (``exited`` X and ``entered`` Y in one batch) while the app says zone Z (not X)
  passes as it is (no detour through Z).

Every BLE presence passes through here (not only those of app users), so a check-in from a shopper
BLE already holds announces nothing twice.

:meth:`app_present` lists the tokens the app holds present and their zones (BLE's where it has one).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from edge.checkin.proof import AppCheckin
from edge.presence import PresenceEvent
from edge.roster import Roster

VIA_APP = "app"
STORE_ZONE = "store"
"""The zone of an app presence whose region names no zone (not this gateway's minor, no ``zone``):
"in the store, where unknown" until BLE says more."""


@dataclass(slots=True)
class _App:
    zone: str
    last_at: float


@dataclass(slots=True)
class _Shown:
    zone: str
    since: float
    owner: Literal["app", "ble"]


def app_event_data(event: PresenceEvent) -> dict[str, object]:
    """The event ``data`` of an app presence event (no RSSI or distance: nothing was heard)."""
    data: dict[str, object] = {"token": event.token, "zone": event.zone, "via": event.via}
    if event.kind != "entered":
        data["dwell_s"] = round(event.dwell_s, 1)
    return data


class AppPresence:
    """See the module docstring.

    Args:
        timeout_s: ``[checkin] presence_timeout_s``.
        zone_of_minor: the zone a region minor stands for (``[advertise] minor`` → ``[advertise] zone``).
        zones: the configured zone ids (a check-in's ``zone`` outside them is ignored).
    """

    def __init__(self, timeout_s: float, zone_of_minor: Callable[[int], str | None], zones: Iterable[str] = ()) -> None:
        self._timeout_s = timeout_s
        self._zone_of_minor = zone_of_minor
        self._zones = frozenset(zones)
        self._app: dict[str, _App] = {}
        self._shown: dict[str, _Shown] = {}
        self.dropped = 0
        """Check-ins for tokens not on a roster in force with the presence scope (no other trace)."""

    # --- app check-ins ---------------------------------------------------------------------------

    def zone_for(self, checkin: AppCheckin) -> str:
        if checkin.zone is not None and checkin.zone in self._zones:
            return checkin.zone
        return self._zone_of_minor(checkin.minor) or STORE_ZONE

    @staticmethod
    def admits(token: str, at: float, roster: Roster | None) -> bool:
        """Whether a check-in of ``token`` counts: on a roster in force, with the ``presence`` scope."""
        shopper = roster.get(token) if roster is not None and not roster.expired(at) else None
        return shopper is not None and shopper.has("presence")

    def on_checkin(self, checkin: AppCheckin, at: float, roster: Roster | None) -> list[PresenceEvent]:
        """An accepted proof (edge.checkin.proof) → the presence events it causes."""
        token = checkin.token
        if not self.admits(token, at, roster):
            self.dropped += 1
            return []
        if checkin.event == "exit":
            return self._end_app(token, at)
        zone = self.zone_for(checkin)
        self._app[token] = _App(zone, at)
        shown = self._shown.get(token)
        if shown is None:
            self._shown[token] = _Shown(zone, at, "app")
            return [_event("entered", token, zone, at, 0.0)]
        if shown.owner == "app" and shown.zone != zone:
            self._shown[token] = _Shown(zone, at, "app")
            return [_event("exited", token, shown.zone, at, at - shown.since), _event("entered", token, zone, at, 0.0)]
        return []

    def _end_app(self, token: str, at: float) -> list[PresenceEvent]:
        self._app.pop(token, None)
        shown = self._shown.get(token)
        if shown is None or shown.owner != "app":
            return []
        del self._shown[token]
        return [_event("exited", token, shown.zone, at, at - shown.since)]

    def tick(self, now: float, roster: Roster | None) -> list[PresenceEvent]:
        """App presences without a refresh for ``timeout_s`` end; all of them when the roster expired."""
        expired = roster is None or roster.expired(now)
        out: list[PresenceEvent] = []
        for token in [t for t, app in self._app.items() if expired or now - app.last_at >= self._timeout_s]:
            out.extend(self._end_app(token, now))
        return out

    def forget(self, token: str) -> None:
        """A withdrawal: nothing more about ``token``, and no event saying so."""
        self._app.pop(token, None)
        self._shown.pop(token, None)

    # --- merging with BLE ------------------------------------------------------------------------

    def merge_ble(self, found: list[PresenceEvent]) -> list[PresenceEvent]:
        """The BLE engine's events, merged with app presence (see the module docstring)."""
        out: list[PresenceEvent] = []
        # Tokens BLE moves to another zone in this batch (``exited`` then ``entered``): a plain hand-off.
        handoff = {e.token for e in found if e.kind == "entered"}
        for event in found:
            token, shown = event.token, self._shown.get(event.token)
            if event.kind == "entered":
                self._shown[token] = _Shown(event.zone, event.at, "ble")
                if shown is not None and shown.owner == "app":
                    if shown.zone == event.zone:
                        self._shown[token].since = shown.since
                        continue
                    out.append(_event("exited", token, shown.zone, event.at, event.at - shown.since))
                out.append(event)
            elif event.kind == "exited":
                app = self._app.get(token)
                if app is None:
                    self._shown.pop(token, None)
                    out.append(event)
                elif app.zone == event.zone:
                    since = shown.since if shown is not None else event.at
                    self._shown[token] = _Shown(app.zone, since, "app")
                elif token in handoff:
                    self._shown.pop(token, None)
                    out.append(event)
                else:
                    out.append(event)
                    self._shown[token] = _Shown(app.zone, event.at, "app")
                    out.append(_event("entered", token, app.zone, event.at, 0.0))
            else:
                out.append(event)
        return out

    # --- queries ---------------------------------------------------------------------------------

    def app_present(self) -> dict[str, str]:
        """Tokens the app holds present → the zone shown for them (BLE's where BLE owns it)."""
        return {
            token: (self._shown[token].zone if token in self._shown else app.zone) for token, app in self._app.items()
        }

    def app_only(self) -> list[tuple[str, str, float]]:
        """(token, zone, since) of each shopper the app alone holds present (BLE does not have them)."""
        return [(token, shown.zone, shown.since) for token, shown in self._shown.items() if shown.owner == "app"]

    def zone_of(self, token: str) -> str | None:
        """The zone shown for ``token`` (by either source), or None."""
        shown = self._shown.get(token)
        return shown.zone if shown is not None else None


def _event(kind: Literal["entered", "exited"], token: str, zone: str, at: float, dwell_s: float) -> PresenceEvent:
    return PresenceEvent(kind, token, zone, at, VIA_APP, 0.0, 0.0, max(0.0, dwell_s))


__all__ = ["STORE_ZONE", "VIA_APP", "AppPresence", "app_event_data"]
