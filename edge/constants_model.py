"""The zone estimator's physical quantities and the store layout's defaults, with units and reasons.

Split from :mod:`edge.constants` (which keeps every other tuned number): the layout's zone radius and
scanner height, and the model engine's radio, motion, decision, advert-rate and self-calibration values
(edge.presence_model, edge.zone_layout, edge.radio_model, edge.advert_rate, edge.self_calibration).
"""

from __future__ import annotations

# --- store layout (optional [[scanners]] positions) -------------------------------------------------

ZONE_RADIUS_M = 3.0
"""A zone without ``area_m`` is the disc of this radius around each of its positioned scanners: a shopper
within arm's reach of a shelf section of ~4-6 m is "at" it (the simulated store's ground truth uses the same)."""

SCANNER_HEIGHT_M = 2.0
"""Default mounting height of a scanner: on top of a shelf or a screen, above head height so bodies shadow less."""


# --- Zone estimator (edge.presence_model, edge.zone_layout, edge.radio_model, edge.advert_rate) ----------
# Physical quantities, not thresholds a store sets: the model turns them into probabilities.

MODEL_SIGMA_DB = 6.0
"""Spread of one RSSI reading about the path-loss line: shadowing and fast fading of BLE indoors are
4-8 dB; 6 dB also absorbs a path-loss exponent anywhere in 1.8-3.2 (a metre or two of range error)."""

MODEL_EXPONENT_SPREAD: tuple[float, ...] = (0.0,)
"""Path-loss exponents the emission model averages over, as offsets from the configured one (equal weights):
(0.0,) trusts the configured exponent; a spread stands for a store whose exponent is not known."""

MODEL_OUTLIER_SHARE = 0.05
"""Share of readings that follow no model (deep multipath nulls, reflections, a hand over the phone),
spread uniformly over the RSSI range: the heavy tail that keeps one wild advert from deciding."""

MODEL_CORRELATION_S = 1.0
"""Consecutive adverts heard by one scanner are not independent draws: the body in the way and the
multipath persist for a second or so. An advert heard ``gap`` seconds after the scanner's previous one of
the same shopper counts as about min(1, gap / this) of an independent one (its likelihood is raised to
that power, tempering). The shopper's *spot* within a zone is no longer a reason to temper: each zone is
split into sub-places (edge and centre, edge by side; :mod:`edge.zone_layout`), so a run of quiet
adverts from a zone's edge is evidence for its edge, not against the zone. Chosen on the sweep's 42
tuning cells (seed 1, sum of each cell's badness capped at 5; the other parameters at their values):
none 126, 0.5 s 131, 1 s 124, 2 s 147."""

MODEL_EVIDENCE_STEPS = 4
"""The tempering weight is rounded up to quarters (never below one quarter): four precomputed tables per
scanner, no power in the hot path."""

MODEL_LIKELIHOOD_FLOOR = 0.01
"""No single advert moves the odds between two states by more than 1 / this (after tempering): a deep
fade or a reflection is not a Gaussian tail (the outlier share makes the tail heavy already)."""

MODEL_FAR_MAX_M = 15.0
"""A scanner not of the zone, or a shopper outside every zone, is modelled anywhere on the floor (uniform
by area) between the zone radius and this far: scanners in a store rarely hear a phone further away.
Uniform in log distance instead (more weight just outside the zone) made entries 1 s slower at p50."""

MODEL_FAR_SHARE = 0.2
"""With a layout, the share of "outside" that is beyond the plan's margin (the rest of the store, the
street): keeps the outside state plausible for readings quieter than the plan's floor explains."""

MODEL_DEVICE_HEIGHT_M = 1.2
"""Height of a phone in a hand or a trolley: the scanner's mounting height minus this is the vertical
part of the distance with a layout."""

MODEL_GRID_STEP_M = 0.5
"""Spacing of the points the layout spreads over zones and the floor around them (finer than the
shadowing can resolve)..."""

MODEL_GRID_MAX_POINTS = 2000
"""...coarsened so one region never has more points than this: the tables are built once, at start."""

MODEL_OUTSIDE_MARGIN_M = 6.0
"""With a layout, "outside" is the floor within this of the zones' bounding box but in no zone: the
aisles around the zones, where shoppers who are in no zone walk."""

MODEL_RING_M = 5.0
"""A zone's surroundings (a place of the estimator: in no zone, but beside this one) reach this far from
it: the aisle in front of a shelf, a few strides. Beyond every zone's surroundings is "far"."""

MODEL_ADJACENT_GAP_M = 1.0
"""Two zones whose regions come this close (a shelf end, a step) are adjacent: a shopper walks straight
from one into the other, with no "outside" in between (zones tiling an aisle)."""

MODEL_WALK_SPEED_M_S = 1.0
"""Walking speed of a shopper with a trolley (0.8-1.3 m/s): sets how quickly the position can change."""

MODEL_ZONE_LEAVE_RATE_HZ = 1.0 / 30.0
"""Prior rate of leaving a zone for "outside": shoppers browse a department for 20-120 s. It also bounds
how certain the filter gets between two adverts (the leak of one interval), so a faster rate makes a
slow card's posterior fragile: 0.3 Hz had a 1 Hz card standing still flap out every few seconds."""

MODEL_ZONE_ENTER_RATE_HZ = 1.0 / 3.0
"""Prior rate of stepping from just beside a zone (the inner part of its surroundings, a step or two
away) into it: a shopper that close to a shelf turns to it within seconds. Far is left for the
surroundings it touches at MODEL_WALK_SPEED_M_S over MODEL_HANDOFF_DISTANCE_M, as is every walk between
places. Sweep tuning cells: 1/10 s 124, 1/3 s 122, 1 s 150 (spurious entries)."""

MODEL_HANDOFF_DISTANCE_M = 20.0
"""Every walk between places that touch (a zone into a neighbour, along the surroundings, to and from
far) has the rate MODEL_WALK_SPEED_M_S over this: one in 20 s. It is a prior for a shopper who may be
standing, not the speed of a walker -- a walker's moves are plain in what the scanners hear, while a
faster prior made standing shoppers flap between tiles. Sweep tuning cells: 6 m 139, 20 m 131."""

MODEL_PRIOR_ZONE_P = 0.02
"""Probability of each zone for a shopper first heard now (a gateway restart finds people inside)."""

MODEL_ENTER_P = 0.9
"""Posterior at or above which a shopper enters a zone (from no zone, or handed off from another). 0.8
entered 0.3 s sooner at p50 on the simulated store but with twice the spurious changes."""

MODEL_LEAVE_P = 0.35
"""Posterior below which a shopper leaves the zone: the band to MODEL_ENTER_P is the hysteresis that
keeps a shopper standing at a zone's edge from flapping."""

MODEL_MIN_HOLD_S = 1.5
"""Seconds a zone is held after entering before it can be left: one burst of loud adverts that carried
a shopper in is followed by at least a few more samples before a verdict."""

MODEL_IDLE_S = 60.0
"""A shopper in no zone and unheard for this long is forgotten (memory bound); the interval and loss
learned for them would be stale anyway."""

MODEL_SAME_ADVERT_S = 0.03
"""Sightings of one shopper closer together than this (or half its interval) are one advert heard by
several scanners: timestamps of one advert differ by a few ms of scanner and transport latency."""

MODEL_GAP_MAX_S = 30.0
"""A gap longer than this is the shopper out of range, not lost adverts: not counted for the rate."""

MODEL_INTERVAL_PRIOR_S = 0.5
"""Advert interval assumed for a shopper just heard: between a 4 Hz phone and a 1 Hz card."""

MODEL_LOSS_PRIOR = 0.3
"""Loss assumed for a shopper just heard: a pessimistic start, so a new track's silences are mild news."""

MODEL_INTERVAL_FALL = 0.3
"""The interval estimate moves this share of the way to a shorter gap (the advertiser's true interval)..."""

MODEL_INTERVAL_RISE = 0.01
"""...and this share to a longer one (a gap of two or three intervals is a loss): it follows a change of
advertising mode in a minute without creeping up to the mean gap."""

MODEL_MEAN_GAP_WEIGHT = 0.05
"""Weight of each new gap in the mean gap (about the last 20 adverts), from which the loss follows."""

MODEL_LOSS_MIN = 0.25
"""Loss is never taken as lower than this (a fast phone heard by several scanners looks lossless, but a
doze or a body in the way still happens): a few missed adverts never make an exit."""

MODEL_LOSS_MAX = 0.7
"""...nor higher: an advertiser heard this rarely has a silence likelihood that says nothing."""

MODEL_SILENCE_SLACK = 1.2
"""Intervals of silence that are no news at all (the next advert plus BLE's 0-10 ms advDelay jitter)."""

MODEL_SILENCE_FLOOR = 0.05
"""Least likelihood of a silence for a shopper still in the zone, however long: phones pause (doze, a
call, a pocket) for 1-3 s a few times an hour. Beyond it, the prior leak (MODEL_ZONE_LEAVE_RATE_HZ)
carries the shopper out: a silent shopper is always let go eventually. 0.002 threw every dozing 4 Hz
phone out (three times the spurious changes on the simulated store)."""

MODEL_CAL_QUANTILE = 0.8
"""Self-calibration tracks this upper quantile of how much louder each scanner hears shoppers confidently in
its zone than the layout expects from where they are, and corrects each scanner towards the median of all
scanners' quantiles: only offsets *between* scanners are learned, never the absolute level (reported; applied
only with ``[presence] self_calibration = "apply"``, edge.config)."""

MODEL_CAL_CONFIDENT_P = 0.95
"""Posterior from which a sample counts as "in the zone" for self-calibration."""

MODEL_CAL_STEP_DB = 0.25
"""Step of the quantile tracker per sample: a 4 dB offset is learned in a few hundred samples (a few
minutes of rostered traffic), with about 0.5 dB of jitter after."""

MODEL_CAL_MIN_SAMPLES = 200
"""Confident samples a scanner needs before its learned offset is used (under a minute of one phone)."""

MODEL_CAL_MIN_SCANNERS = 3
"""Fewest calibrated scanners that make a consensus: with two, each would take half of the other's error."""

MODEL_CAL_MAX_DB = 6.0
"""Largest learned offset: a scanner off by more is broken or misplaced, not to be silently corrected."""
