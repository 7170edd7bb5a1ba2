"""The core's side of ``cdp/v1/{store}/checkin``: the presence form verified and put into app presence.

Pure and clock-injected; owned by the core (:mod:`edge.core`), which is the one writer of presence,
so a withdrawal's :meth:`AppCheckins.forget`, the roster's expiry and the timers reach app presence
in the same place as the BLE engine. :meth:`AppCheckins.split` tells the two forms apart
(:func:`~edge.checkin.proof.form_of`): the camera form ``{"token", "screen"}`` is left to its route
(edge.vision) untouched, the presence form is verified (:class:`~edge.checkin.proof.ProofVerifier`)
and handed to :class:`~edge.checkin.app_presence.AppPresence`. A refused proof raises
:class:`~edge.checkin.proof.CheckinError`, counted once by reason (``checkin_rejected_<reason>`` in
``edge.gateway.health``); nothing of the payload is logged.

A check-in that carries a redemption code (``code``) and counts (the shopper on a roster in force
with the ``presence`` scope) is also handed to every listener of :meth:`AppCheckins.listen_codes`
as ``(token, code, at)`` — signage, through the ports' ``checkin_codes``, which knows whether its
screen showed that code to that shopper. A check-in that does not count hands on nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from edge.checkin.app_presence import AppPresence
from edge.checkin.proof import CheckinError, ProofVerifier, Rejection, decode_object, form_of
from edge.config import Config
from edge.presence import Occupant, PresenceEvent
from edge.roster import Roster

APP_OCCUPANT_DISTANCE_M = 5.0
"""Distance given to a shopper the app alone places in a zone (nothing was heard, so nothing was
measured): about a zone's radius, so that a shopper BLE locates near the screen ranks before one only
known to be somewhere in the zone (signage picks the nearest viewer)."""
APP_OCCUPANT_RSSI_DBM = -127.0
"""RSSI reported for an app-only occupant: the floor of the scale, "not heard"."""

CodeSink = Callable[[str, str, float], None]
"""Called with ``(token, code, at)`` for each counted check-in carrying a redemption code (must not block)."""


class AppCheckins:
    """The verifier and the app-presence tracker of one core; see the module docstring."""

    def __init__(self, config: Config) -> None:
        advertise, checkin = config.advertise, config.checkin
        self.verifier = ProofVerifier(
            checkin.public_key_bytes,
            advertise.proximity_uuid if advertise is not None else None,
            advertise.major if advertise is not None else None,
        )
        zone_of_minor: dict[int, str] = {}
        if advertise is not None and advertise.zone is not None:
            zone_of_minor[advertise.minor] = advertise.zone
        self.presence = AppPresence(checkin.presence_timeout_s, zone_of_minor.get, (z.id for z in config.zones))
        self._code_sinks: list[CodeSink] = []
        self.codes = 0
        """Counted check-ins that carried a redemption code (handed to the listeners)."""

    def listen_codes(self, sink: CodeSink) -> Callable[[], None]:
        """``sink(token, code, at)`` for every counted check-in with a code; returns its unsubscribe."""
        self._code_sinks.append(sink)

        def unsubscribe() -> None:
            if sink in self._code_sinks:
                self._code_sinks.remove(sink)

        return unsubscribe

    def split(self, payload: bytes) -> dict[str, Any] | None:
        """The presence form's object, or None for the camera form (its own route decodes it).

        A payload that is not a JSON object is neither: :class:`CheckinError` (malformed), counted."""
        try:
            obj = decode_object(payload)
        except CheckinError as err:
            self.verifier.counters[err.reason.value] += 1
            raise
        return obj if form_of(obj) == "presence" else None

    def accept(self, obj: dict[str, Any], now: float, roster: Roster | None) -> list[PresenceEvent]:
        """A presence-form check-in at ``now`` → its presence events; :class:`CheckinError` if refused.

        Its redemption code, if any and if the check-in counts, goes to the code listeners first."""
        checkin = self.verifier.verify(obj, now)
        if checkin.code is not None and self.presence.admits(checkin.token, now, roster):
            self.codes += 1
            for sink in list(self._code_sinks):
                sink(checkin.token, checkin.code, now)
        return self.presence.on_checkin(checkin, now, roster)

    def occupants(self, zone: str | None = None) -> list[Occupant]:
        """Shoppers the app alone holds present (BLE's occupants are the engine's), in ``zone`` or all."""
        return [
            Occupant(token, shown, since, APP_OCCUPANT_RSSI_DBM, APP_OCCUPANT_DISTANCE_M, "app")
            for token, shown, since in self.presence.app_only()
            if zone is None or shown == zone
        ]

    def health(self) -> dict[str, int]:
        """``checkin_accepted``, ``checkin_dropped`` (not on the roster) and ``checkin_rejected_<reason>``."""
        counters = self.verifier.counters
        out = {
            "checkin_accepted": counters["accepted"],
            "checkin_dropped": self.presence.dropped,
            "checkin_codes": self.codes,
        }
        for reason in Rejection:
            out[f"checkin_rejected_{reason.value.replace('-', '_')}"] = counters[reason.value]
        return out
