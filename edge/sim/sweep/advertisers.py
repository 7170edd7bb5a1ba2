"""What rostered shoppers carry: the app's Eddystone-EID or a loyalty card, how often it advertises.

An :class:`Advertiser` sends every ``1 / rate_hz`` seconds (plus BLE's 0-10 ms advDelay) and pauses
now and then (``pause_rate_hz``, for ``pause_s``: a phone's OS dozing the app, a call). Its
declared power at 1 m (what the sighting carries) is drawn per device from ``declared_dbm``; its real
power is off from that by the radio's calibration error. A :class:`Mix` says who carries what:
every ``card_every``-th shopper a card (1: all; 0: none), the others the app.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

from edge.sim import radio as base

Kind = Literal["eid", "ibeacon"]

VIA: dict[Kind, str] = {"eid": "eddystone-eid", "ibeacon": "ibeacon"}
"""The ``Sighting.via`` each kind resolves as."""


@dataclass(frozen=True, slots=True)
class Advertiser:
    kind: Kind
    rate_hz: float
    pause_rate_hz: float = 0.0
    pause_s: tuple[float, float] = base.SILENCE_S
    declared_dbm: tuple[int, int] = base.DECLARED_POWER_DBM["eid"]

    @property
    def interval_s(self) -> float:
        return 1.0 / self.rate_hz

    def at_hz(self, rate_hz: float) -> Advertiser:
        return replace(self, rate_hz=rate_hz)

    def paused(self, rate_hz: float, pause_s: tuple[float, float]) -> Advertiser:
        """The same advertiser, pausing every ``1 / rate_hz`` seconds on average for ``pause_s``."""
        return replace(self, pause_rate_hz=rate_hz, pause_s=pause_s)


APP = Advertiser("eid", 1.0 / base.ADVERT_INTERVAL_S["eid"], base.SILENCE_RATE_HZ)
"""The retailer's app: Android's balanced mode (4 Hz), an OS pause of 1-3 s every 10 minutes."""
CARD = Advertiser("ibeacon", 1.0 / base.ADVERT_INTERVAL_S["ibeacon"], declared_dbm=base.DECLARED_POWER_DBM["ibeacon"])
"""A loyalty card beacon at 2 Hz, weaker than a phone."""


@dataclass(frozen=True, slots=True)
class Mix:
    app: Advertiser = APP
    card: Advertiser = CARD
    card_every: int = 4
    """Every n-th shopper (index % n == n - 1) carries the card; 1: all do; 0: nobody."""

    def of(self, index: int) -> Advertiser:
        if self.card_every and index % self.card_every == self.card_every - 1:
            return self.card
        return self.app

    def but(self, **changes: object) -> Mix:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def slowest_interval_s(self) -> float:
        kinds = [self.app] if self.card_every == 0 else [self.card] if self.card_every == 1 else [self.app, self.card]
        return max(a.interval_s for a in kinds)

    @property
    def longest_pause_s(self) -> float:
        kinds = [self.app] if self.card_every == 0 else [self.card] if self.card_every == 1 else [self.app, self.card]
        return max((a.pause_s[1] for a in kinds if a.pause_rate_hz > 0), default=0.0)
