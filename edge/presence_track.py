"""What the threshold engine (:mod:`edge.presence`) keeps: a zone's rules and one shopper's track.

:class:`ZoneRules` is a zone's config as the engine reads it, with the bars it derived (the enter and exit
thresholds of :mod:`edge.presence_reach`, the scanner's height over a phone and the exit radius);
:class:`ShopperTrack` is everything the engine knows about one shopper: per scanner an RSSI window and the
advertiser's silence rate, the zone held and since when, the candidate of a hand-off and its sequential
test on the lead, the zone just left, and the longest pause heard. Plain mutable state (slots), no logic:
the rules are the engine's. A withdrawal (``forget``) drops the whole track.
"""

from __future__ import annotations

from edge.config import ZoneConfig
from edge.presence_sure import LeadTest
from edge.presence_timing import SilenceRate
from edge.rssi import RssiWindow

__all__ = ["ShopperTrack", "ZoneRules"]


class ZoneRules:
    """One zone as the threshold engine reads it: its bars (dBm), reach (m), timers and hand-off test settings."""

    __slots__ = (
        "above_m",
        "dwell_s",
        "edge_m",
        "enter",
        "exit",
        "exit_timeout_s",
        "expected",
        "id",
        "margin",
        "only",
        "samples",
        "scanners",
    )

    def __init__(self, config: ZoneConfig, enter_dbm: float, exit_dbm: float, above_m: float, edge_m: float) -> None:
        self.above_m = above_m  # its scanner over a phone (m)
        self.edge_m = edge_m  # its exit threshold's distance across the floor (m): where "out" begins
        self.id = config.id
        self.scanners = config.scanners
        self.only = config.scanners[0] if len(config.scanners) == 1 else None  # its one scanner, if one
        self.enter = enter_dbm
        self.exit = exit_dbm
        self.exit_timeout_s = config.exit_timeout_s
        self.margin = config.handoff_margin_db
        self.samples = config.handoff_samples
        self.dwell_s = config.dwell_interval_s
        self.expected: dict[str, float] = {}  # per other zone's scanner that learns from shoppers settled here: the
        # level it should hear them at (edge.presence_offsets; empty: none, or not learning)


class ShopperTrack:
    """Everything the engine knows about one shopper."""

    __slots__ = (
        "cal",
        "cal_seen",
        "cal_since",
        "candidate",
        "candidate_n",
        "heard_at",
        "last_dwell",
        "last_seen",
        "lead",
        "left_at",
        "left_zone",
        "local",
        "near",
        "offset",
        "pause_s",
        "power",
        "rates",
        "rssi",
        "since",
        "via",
        "weak",
        "windows",
        "zone",
    )

    def __init__(self, via: str, power: float) -> None:
        self.windows: dict[str, RssiWindow] = {}
        self.rates: dict[str, SilenceRate] = {}  # per scanner: its advert interval and loss (the silence rule)
        self.zone: ZoneRules | None = None
        self.since = 0.0
        self.heard_at = 0.0
        self.weak = False
        self.last_dwell = 0.0
        self.last_seen = 0.0
        self.rssi = 0.0
        self.candidate: ZoneRules | None = None
        self.candidate_n = 0
        self.lead = LeadTest()  # the candidate's lead over the current zone (a hand-off), sample by sample
        self.left_zone: ZoneRules | None = None
        self.left_at = 0.0
        self.via = via
        self.power = power
        self.offset = 0.0
        self.near = False  # was the latest advert heard at a zone's exit threshold or louder?
        self.local = False  # ...and first by one of this gateway's own scanners (no delivery lag)?
        self.pause_s = 0.0  # the longest pause of the advertiser heard (edge.presence_timing.pause_of)
        self.cal: dict[str, list[float]] = {}  # this visit's departures per scanner (edge.presence_offsets): sum, n
        self.cal_since = 0.0  # ...of the visit that began then
        self.cal_seen: set[str] | None = None  # the scanners this shopper's visits already counted for
