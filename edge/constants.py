"""Every tuned number of the gateway, with its unit in the name and the reason for its value.

Zone-level values here are defaults; a ``[[zones]]`` table may override each (see edge.config).
"""

from __future__ import annotations

# --- Presence (edge.presence, edge.rssi) -----------------------------------------------------

ENTER_RSSI_DBM = -71.5
"""Fast level (trimmed mean of the last ENTER_WINDOW_S) at or above which a shopper in no zone
enters: about 3.1 m from a phone of -59 dBm at 1 m (n = 2.2), just inside the 3 m zones of the
bundled store, because the fast level lags a walking shopper by about a metre. Tuned on the
simulated store (benchmarks/presence_accuracy.py): 1 dB lower admits ghosts from the aisle 8 m
away; 1 dB higher costs 0.2-0.3 s of enter latency p95."""

EXIT_RSSI_DBM = -73.5
"""Slow level (robust trimmed mean of RSSI_WINDOW_S) below which a shopper has walked out: about
3.9 m. The 2 dB dead band to ENTER_RSSI_DBM is narrow because the slow level is steady (8-12
samples); a shopper standing at a shelf (within 1.5 m) reads 8 dB or more above it, so body
shadowing (2-6 dB) does not reach it. Lower (-74) adds 0.2 s to every exit and costs right-zone
time; higher lets deep fades through."""

EXIT_TIMEOUT_S = 4.0
"""Silence timer: the exit fires this long after the last advert heard in the zone (left the
building, phone in a metal trolley, app killed). It covers the longest ordinary gaps -- a 20 %
miss rate at 2 Hz leaves a 4 s gap about once per 100 000 adverts, and an app's own pauses (doze,
a call) last 1-3 s -- and keeps the exit latency p95 well under 10 s. Walking away does not wait
for it: that exit fires at the next tick after the slow level drops below EXIT_RSSI_DBM."""

EXIT_MIN_SAMPLES = 4
"""Samples the slow window must hold before it may say "walked away": with fewer (a card at 2 Hz
after a run of misses), one deep fade decides; the silence timer covers those moments instead."""

EXIT_SLOW_SAMPLES = 6
"""The slow level that decides "walked away" averages the last RSSI_WINDOW_S, or the last 6 samples
when those seconds hold fewer (up to RSSI_HISTORY_S back). A phone at 4 Hz always has more; a card
at 2 Hz has 4-5, and two deep fades among them (it happens a few times an hour in a busy store)
threw a shopper standing at the shelf out of the zone: 6 samples halve the card's spurious changes
and, since the judgement no longer lapses for want of samples, make its exits quicker too."""

HANDOFF_MARGIN_DB = 4.0
"""A neighbouring zone's fast level must lead the current zone's by this much on the sample that
hands off: twice the noise of a 1.5 s trimmed mean of a 4 Hz phone, the dead band against flapping
between two scanners that both hear a shopper standing between them. The hand-off itself is decided
by the sequential test on the lead (:class:`edge.presence_sure.LeadTest`); on a clear trend this lead
alone, once (:data:`edge.presence_timing.TREND_HOLD_SAMPLES`)."""

HANDOFF_SAMPLES = 3
"""The fewest leads (adverts of either zone) the hand-off's sequential test decides on (0.75 s of a
phone at 4 Hz heard by one zone): a passing spike never hands off. With no level of the old zone
(unheard for ENTER_WINDOW_S), the samples the new zone must lead for in a row, as before."""

ENTER_WINDOW_S = 2.0
"""Seconds of samples the fast level (entering, hand-off) averages: 6-7 samples of a phone at
4 Hz with 20 % missed, 3 of a card at 2 Hz; about a metre of lag at walking speed, which
ENTER_RSSI_DBM allows for. 1.5 s is 0.1 s quicker but lets twice as many aisle ghosts in."""

ENTER_MIN_SAMPLES = 3
"""Samples the fast window must hold before it can make an entry. Far scanners hear a phone
rarely, and mostly its loudest adverts (the weak ones fall under the sensitivity): one or two such
samples are the classic ghost, a shopper "entering" a department 15 m away."""

ENTER_FEW_SAMPLES = 2
"""...unless the fast level clears the enter threshold by ENTER_FEW_SAMPLES_DB: then 2 samples do.
A card at 2 Hz with a fifth of its adverts missed has fewer than 3 samples in ENTER_WINDOW_S about
one moment in five, which made its enter latency p95 0.5 s longer than a phone's."""

ENTER_FEW_SAMPLES_DB = 4.0
"""How far above the enter threshold two samples must average to stand for three: about one
standard deviation of their mean (5 dB shadowing), so a ghost needs two lucky adverts, not one.
Took the card's enter p95 from 2.9 to 2.4 s on the simulated store with no more spurious changes."""

ENTER_LEAD_DB = 8.0
"""From no zone, a zone's fast level must lead every other zone's scanner by this much: a shopper
walking down the aisle is about as far from the zones on both sides of it (8 m here), while one
turning into a zone is three or four times nearer its scanner (10-14 dB). Most aisle ghosts are a
burst of loud adverts at one side only; this halves them for about 0.05 s of enter latency p95."""

ENTER_SLOW_SAMPLES = 6
"""The slow level that must agree before an entry from no zone averages the last RSSI_WINDOW_S, or
the last 6 samples when those seconds hold fewer (a card): on 4-5 card samples aisle ghosts got in
at three times a phone's rate. 5 is 0.05 s quicker on the enter p95 and lets a third more in."""

ENTER_SAMPLES = 1
"""Consecutive qualifying samples before an entry from no zone. One: ENTER_MIN_SAMPLES and the
slow-level check already ask for steady evidence; a second sample costs 0.25-0.5 s of latency."""

ENTER_SLOW_MARGIN_DB = 0.0
"""To enter from no zone the slow level must also be this far above the zone's exit threshold (it
must at least be above it: a burst that lifts the fast level for a second on a shopper passing in
the aisle does not move the slow one). It was 1.5 dB before ENTER_LEAD_DB and ENTER_SLOW_SAMPLES
took over most of the ghosts; each 0.25 dB more now costs about 0.03 s of enter latency p95 on the
simulated store for no fewer spurious changes."""

REENTRY_GUARD_S = 15.0
"""Seconds after leaving a zone during which coming back into it needs the slow level above the
*enter* threshold: a shopper lingering just outside does not flap out and in (the classic
complaint about room-presence systems)."""

MEASURED_POWER_CORRECTION_MAX_DB = 12.0
"""Largest shift applied to a sighting's RSSI for its own calibrated power at 1 m: real tags and
phones span about -70..-50 dBm; a value beyond that is a misconfigured beacon, not a stronger one."""

DWELL_INTERVAL_S = 30.0
"""Seconds between ``edge.presence.dwell`` events while a shopper stays in a zone."""

MEASURED_POWER_1M_DBM = -59.0
"""RSSI at 1 m when a beacon does not advertise its own (iBeacon's measured power does): the
typical calibrated value of phones and cards."""

PATH_LOSS_EXPONENT = 2.2
"""Log-distance path-loss exponent for the distance estimate: 2.0 in free space, 2-3 in a store
with shelving; calibrate per site with ``edge calibrate``."""

RSSI_WINDOW_S = 3.0
"""Span of the slow level that decides exits (and agrees with entries): 8-10 samples of a phone at
4 Hz, 4-5 of a card at 2 Hz, which EXIT_SLOW_SAMPLES / ENTER_SLOW_SAMPLES then extend (trimmed, so
one deep fade is outvoted). Shorter makes exits quicker but lets aisle ghosts in (2.5 s: twice the
spurious changes) and body shadowing throw standing shoppers out."""

RSSI_HISTORY_S = 5.0
"""Seconds of samples each RSSI window keeps (at least ``rssi_window_s``): how far back the slow
level may reach for EXIT_SLOW_SAMPLES / ENTER_SLOW_SAMPLES of a slow advertiser (a card at 2 Hz
with misses needs 4-5 s for 6); older samples describe where the shopper was, not is."""

RSSI_WINDOW_MAX_SAMPLES = 24
"""Most samples one RSSI window keeps, whatever its length in seconds: bounds the cost of the
trimmed mean (a sort) for phones advertising at 10-20 Hz, which have plenty of samples anyway.
24 keeps all of RSSI_HISTORY_S for the 4 Hz app."""

RSSI_TRIM_FRACTION = 0.2
"""Share of the sorted window dropped at each end before averaging (a 20 % trimmed mean): nearly
as efficient as the mean against Gaussian shadowing and deaf to single deep fades or spikes."""

TICK_INTERVAL_S = 0.25
"""How often the presence timers (exits, dwell) are checked, in trace or wall-clock seconds."""

# --- Health ----------------------------------------------------------------------------------

HEALTH_INTERVAL_S = 60.0
"""Seconds between ``edge.gateway.health`` events."""

# --- BLE scanner (edge.beacons) ----------------------------------------------------------------

SCANNER_START_TIMEOUT_S = 10.0
"""Bound on BleakScanner.start(): BlueZ answers in well under a second when healthy."""

SCANNER_STOP_TIMEOUT_S = 5.0
"""Bound on BleakScanner.stop()."""

SCANNER_WATCHDOG_S = 30.0
"""Restart scanning when no advertisement arrived for this long: a store always has beacons
around, so silence means the controller or BlueZ wedged (habluetooth's watchdog does the same)."""

SCANNER_RETRY_INITIAL_S = 1.0
"""First back-off delay after a failed scanner start; doubled each time up to the cap below."""

SCANNER_RETRY_MAX_S = 60.0
"""Cap on the scanner restart back-off."""

SCANNER_QUEUE_MAX = 10_000
"""Adverts buffered between bleak's callback and the pipeline; beyond this they are dropped and
counted (a slow consumer must not grow memory without bound)."""

SCANNER_START_ATTEMPTS = 3
"""Attempts at the first scanner start before ``edge run`` / ``edge record`` give up with the
error. Only transient failures (a timeout, a BlueZ hiccup) are retried; a missing or powered-off
adapter, missing permissions or a stopped bluetoothd fail at once, since they need a person.
Restarts at run time (watchdog) retry without limit: the adapter may be replugged."""

SCANNER_RETRY_JITTER = 0.5
"""Fraction of each back-off delay that is random (delay × uniform(1 - j, 1)), so scanners that
failed together (two adapters on one bluetoothd, a bluetoothd restart) do not retry in step."""

RECORD_FLUSH_BYTES = 64 * 1024
"""``edge record`` hands its buffered lines to a writer thread in chunks of about this size (or
every RECORD_FLUSH_INTERVAL_S), so the event loop never blocks on the disk."""

RECORD_FLUSH_INTERVAL_S = 1.0
"""Longest a recorded line waits in memory while adverts keep arriving (checked as each one is
written): about one second of a recording is lost if the process is killed."""

# --- Outbox (edge.outbox) ----------------------------------------------------------------------

OUTBOX_BATCH_MAX = 1000
"""Events written to SQLite in one transaction at most."""

OUTBOX_FLUSH_INTERVAL_S = 0.05
"""Longest an event waits for its batch to be committed during a real-time run (50 ms keeps the
presence → screen budget of 300 ms)."""

OUTBOX_MAX_ROWS = 200_000
"""Bound on outbox rows (``mqtt.outbox_max_rows``): a busy store makes ~5 k events an hour, so
this holds well over a day offline; past it the drop policy of edge.sync.policy applies."""

OUTBOX_MAX_BYTES = 100 * 1024 * 1024
"""Bound on outbox payload bytes (``mqtt.outbox_max_bytes``): 100 MiB, a small share of a Pi's SD card."""

OUTBOX_KEEP_SENT_ROWS = 10_000
"""Sent rows kept (for a replay after a sequence gap the CDP reports) before the oldest are deleted."""

# --- MQTT sync (edge.sync) --------------------------------------------------------------------

MQTT_INFLIGHT_MAX = 256
"""QoS 1 publishes awaiting their PUBACK at once: enough to keep a LAN broker busy (a 2 ms round
trip at 4 k msg/s needs ~8), small enough that a reconnect resends little; paho's own queue is
capped to it, so nothing ever waits in paho's memory."""

PUBLISH_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
"""Buckets of ``edge_publish_latency_seconds`` (publish → PUBACK): a few ms on a store LAN, seconds
over a congested uplink, minutes only when the broker is away (then the outbox depth says more)."""

MQTT_ACK_COMMIT_S = 0.02
"""PUBACKs are marked sent in one transaction at most this often (one fsync per batch, not per ack)."""

MQTT_KEEPALIVE_S = 30
"""MQTT keep-alive: a dead link is noticed within 1.5 x this."""

MQTT_SESSION_EXPIRY_S = 3600
"""MQTT 5 session expiry: QoS 1 downlinks (a withdrawal) queued by the broker survive an hour offline."""

MQTT_CONNECT_TIMEOUT_S = 10.0
"""Bound on TCP + TLS + CONNACK."""

MQTT_RECONNECT_INITIAL_S = 0.5
"""First reconnect delay; doubled per failure."""

MQTT_RECONNECT_MAX_S = 60.0
"""Cap on the reconnect delay: a store's gateways come back within a minute of the broker."""

MQTT_RECONNECT_JITTER = 0.5
"""Fraction of each reconnect delay that is random, so a store's gateways do not reconnect in step."""

MQTT_DOWNLINK_MAX_BYTES = 4 * 1024 * 1024
"""Largest downlink accepted; a roster of 5 k shoppers with face templates is ~3.5 MiB. Larger is rejected."""

MQTT_CLOSE_TIMEOUT_S = 2.0
"""Bound on the offline status publish and DISCONNECT at shutdown (the wait for the broker's PUBACKs of
what was published before the DISCONNECT included)."""

MQTT_RECEIVE_MAX = 16
"""MQTT 5 Receive Maximum sent on CONNECT: QoS 1 downlinks the broker may have sent us unacknowledged.
Each is acknowledged after its commit, so this bounds what waits in memory (the default, 65,535,
let a burst of 2 MB messages take 451 MB); 16 keeps a roster, a withdrawal and a few others moving."""

MQTT_MAX_PACKET_BYTES = MQTT_DOWNLINK_MAX_BYTES + 64 * 1024
"""MQTT 5 Maximum Packet Size sent on CONNECT: the largest downlink plus its topic and properties; the
broker drops a bigger message instead of sending it."""

MQTT_INBOX_MAX_BYTES = 8 * 1024 * 1024
"""Downlink bytes received and waiting for the core's writer before the link stops reading its socket
(back-pressure through TCP to the broker): two of the largest rosters, a bounded share of 384 MB."""

MQTT_INBOX_MAX_MESSAGES = 256
"""Downlinks waiting before the link stops reading: QoS 0 messages (shelf readings) are not bounded by
the Receive Maximum; at ~0.2 ms each this is 50 ms of the writer's work."""

REJECTION_HEALTH_MIN_S = 60.0
"""A rejected downlink is answered with an ``edge.gateway.health`` event at most this often (the
counters in the next one carry the rest): a flood of bad messages is counted, not echoed."""

REPLAY_ROWS_MAX = OUTBOX_KEEP_SENT_ROWS
"""Rows republished for one replay request (``cdp/v1/{store}/{gateway}/replay``): every kept row."""

# --- Shelf interactions (edge.shelf) -------------------------------------------------------------

ATTRIBUTION_MARGIN_DB = 6.0
"""How much nearer (in dB of path loss, each device's own calibrated power taken into account)
the nearest opted-in shopper must be than everyone else present in the zone for a shelf
interaction to be theirs. Two smoothed RSSI values each carry about 2 dB of noise after the
trimmed mean, so their difference about 3 dB: 6 dB is two standard deviations, the same margin the
presence hand-off uses. Closer than that is "too close to call" and the token is null."""

RECENT_INTERACTIONS_MAX = 20
"""Shelf interactions kept per shopper for the decision engine (cross-sell on the nearby screen):
one trip's worth of pickups; a bound on memory whatever a shopper does."""

RECENT_INTERACTIONS_MAX_AGE_S = 900.0
"""Age after which a shopper's shelf interaction is forgotten: longer than a typical visit
(15 minutes), so an offer can follow a pickup, short enough not to outlive the visit by much."""

SHELF_MESSAGE_MAX_BYTES = 1024
"""Largest shelf-controller MQTT payload accepted: a reading is under 200 bytes; anything bigger
is a misbehaving controller, rejected before it is decoded."""

SHELF_REJECT_LOG_INTERVAL_S = 60.0
"""A rejected shelf reading is logged at most once per this many seconds per topic or shelf (the
rest are counted only): a broken controller publishing at 10 Hz must not flood the journal."""

SHELF_REJECT_LOG_TOPICS_MAX = 1000
"""Topics whose last rejection time is remembered for the rate limit above; beyond that the memory
is cleared (a flood of made-up topics costs at most one extra log line each, not memory)."""

MOTION_TAG_LIFT_MG = 250.0
"""A motion tag counts as lifted when its movement counter went up and its acceleration vector
is at least this far (mg) from its resting one: tilting a product by ~15 degrees, or carrying it.
A bump against the shelf moves the counter but leaves the tag at rest, so it is not a pickup."""

MOTION_TAG_REST_MG = 120.0
"""A lifted tag is back at rest when its acceleration is within this distance (mg) of the resting
vector: the accelerometer's noise and a slightly different placement stay well inside it."""

MOTION_TAG_SETTLE_S = 3.0
"""Seconds a lifted tag must stay at rest (no movement counts) before a putback is reported: a
product held still in the hand at shelf height for a moment is not yet put back."""

MOTION_TAG_DEBOUNCE_S = 2.0
"""Least time between two reported interactions of one tag: a shaky pickup, or a pickup straight
after a putback, within this time is one interaction, not several."""

MOTION_TAG_FORGET_S = 600.0
"""A tag unheard for this long is forgotten (taken out of range, battery out); the next advert
starts from a fresh resting state."""

# --- Signage (edge.signage) --------------------------------------------------------------------

SIGNAGE_PLAY_S = 10.0
"""Seconds one offer or playlist item plays before the next decision: long enough to read a
headline, a price and scan a QR code from a trolley's distance, short enough to rotate offers
while a shopper browses one bay (typical dwell 20-120 s)."""

SIGNAGE_MIN_DISPLAY_S = 4.0
"""Least time a personalised offer stays up before another shopper (or the generic playlist)
may take the screen: below ~3 s a viewer cannot take in a card, and shoppers criss-crossing in
front of a screen would make it flicker. Generic content yields at once (the 300 ms budget)."""

SIGNAGE_STICKY_MARGIN_M = 1.5
"""A second shopper takes the screen from the one it is showing an offer to only when this much
closer: the dead band of the BLE distance estimate (±1-2 m at 2-4 m), against flapping."""

SIGNAGE_DWELL_CREDIT_MAX_S = 30.0
"""Choosing between shoppers, each second of dwell counts as DWELL_CREDIT_M_PER_S metres closer,
up to this many seconds: someone who stopped at the bay is a better viewer than a passer-by."""

SIGNAGE_DWELL_CREDIT_M_PER_S = 0.05
"""Metres of distance one second of dwell is worth (30 s of dwell = 1.5 m)."""

SIGNAGE_INTEREST_WINDOW_S = 600.0
"""Shelf interactions younger than this count as interest in an offer's SKUs (one visit)."""

SIGNAGE_CAP_SHOPPER_OFFER_PER_DAY = 3
"""Default plays of one offer to one shopper in 24 h (rolling), unless the rules say otherwise:
the usual retail-media frequency cap; more is wear-out, not reach."""

SIGNAGE_CAP_SCREEN_OFFER_PER_HOUR = 30
"""Default plays of one offer on one screen in 1 h (rolling): at 10 s a play, half the hour."""

SIGNAGE_HOLDOUT_SHARE = 0.1
"""Default share of shoppers (per campaign, by hash) held out to measure lift: 10 % gives a
control group big enough for a store-week while costing little reach."""

SIGNAGE_DECIDE_INTERVAL_S = 0.25
"""How often the signage service re-decides without a presence event (timers, expiry); a
presence event wakes it at once."""

SIGNAGE_CROSSFADE_S = 0.5
"""Length of the crossfade between two items: reads as a transition, not a cut, and ends before
the eye looks for the next content."""

SIGNAGE_FPS = 30
"""Frames per second of the player: enough for a smooth crossfade on a Pi 4 at 1080p."""

SIGNAGE_HEARTBEAT_S = 0.5
"""The player reports what it presents at least this often; an impression cut short by a player
crash ends at the last report (at most this much is lost from its duration)."""

SIGNAGE_RESTART_INITIAL_S = 0.5
"""First delay before restarting a crashed player; doubled each time up to the cap below."""

SIGNAGE_RESTART_MAX_S = 30.0
"""Cap on the player restart back-off (a broken display must not spin a core)."""

SIGNAGE_PLAYER_START_TIMEOUT_S = 20.0
"""Bound on the player process becoming ready (Python + pygame + a display): a Pi takes ~3 s."""

SIGNAGE_FRAME_EVERY_S = 2.0
"""``edge demo --headless DIR`` writes one PNG frame this often."""

# --- Camera (edge.vision) ------------------------------------------------------------------------

FACE_DETECT_SCORE_MIN = 0.9
"""YuNet score (sqrt(class x objectness)) a detection needs: OpenCV Zoo's own default. Lower
admits back-of-head and poster false detections, which then only cost an embedding each."""

FACE_DETECT_NMS_IOU = 0.3
"""Overlap (IoU) above which the weaker of two detections is suppressed (OpenCV Zoo's default)."""

FACE_MIN_SIZE_PX = 40.0
"""Smallest face (box side, pixels) that is compared: below this SFace's 112 px crop is mostly
upsampling and its embeddings scatter. 40 px is a face about 3 m from a 640x480 camera with a
70 degree lens, beyond which nobody is checking in at the screen anyway."""

FACE_MATCH_COSINE_MIN = 0.5
"""Cosine similarity at or above which a face is the checked-in shopper. OpenCV Zoo publishes
0.363 for SFace (best accuracy on LFW pairs), but two different men from one photo shoot in the
test photos score 0.40 against each other: a false accept here shows a stranger someone else's
offers, while a false reject costs one more frame of a 10 s window at 8 fps. 0.5 keeps a margin
of 0.1 over every impostor pair measured and 0.2 under every genuine one (README, vision)."""

VISION_WINDOW_S = 10.0
"""Seconds the camera looks for the checked-in shopper before it closes: time to look up from the
phone at the screen's camera, and short enough that the camera is off nearly all the time."""

VISION_WINDOW_MAX_S = 30.0
"""Upper bound on ``vision.window_s``: consent is for a moment at the screen, not a session."""

VISION_FPS = 8.0
"""Frames per second the verifier looks at during a window: one frame costs about 40 ms of one
core on a Pi 4-class CPU, so 8 fps leaves the other cores and most of this one to the gateway."""

VISION_WORKER_START_TIMEOUT_S = 60.0
"""Bound on the camera process loading its models and saying it is ready (about 1 s on a PC, a
few on a Pi with a cold SD card)."""

VISION_WORKER_STOP_TIMEOUT_S = 5.0
"""Bound on the camera process closing its camera and exiting before it is killed."""

VISION_TICK_S = 0.25
"""How often the service re-checks an open window: a withdrawal or the shopper leaving the zone
closes the camera within this time."""

SHELF_MOTION_FRACTION = 0.02
"""Share of a shelf region's pixels that must change between frames to count as a touch: a hand
reaching in changes 5-30 %; sensor noise and lighting flicker, after the blur and the per-pixel
threshold below, stay under 0.5 %."""

SHELF_MOTION_PIXEL_DELTA = 25
"""Grey-level change (0-255) for a pixel to count as moving, after a 5x5 blur: well above a
camera's noise floor (2-6 levels), well below a hand against a shelf."""

SHELF_MOTION_DEBOUNCE_S = 2.0
"""Least time between two touches reported for one region: one reach is one interaction."""

# --- Operations (edge.ops) ----------------------------------------------------------------------

READY_BROKER_WAIT_S = 20.0
"""How long ``edge run`` waits for the broker before telling systemd READY=1 anyway: two reconnect
attempts on a slow uplink. Well inside the unit's TimeoutStartSec=90, and a store whose uplink is
down must still capture into the outbox rather than fail its start and restart in a loop."""

WATCHDOG_PING_FRACTION = 0.25
"""Ping the systemd watchdog every WatchdogSec × this: systemd recommends at most half; a quarter
leaves room for one late ping on a loaded Pi without a spurious restart."""

WATCHDOG_STALL_MIN_S = 1.0
"""The pings are withheld only once the pipeline's loop has not turned for max(ping period, this):
an idle loop turns once per presence tick (0.25 s), so with a short WatchdogSec (under 1 s) one
period without a turn is normal, not a wedge; four ticks without one is."""

METRICS_SNAPSHOT_TIMEOUT_S = 2.0
"""Bound on a scrape waiting for the event loop's snapshot: a loop that busy is itself the news
(the watchdog will say so); the scrape answers with the hook metrics only."""

DOCTOR_TIMEOUT_S = 10.0
"""Bound on each network or hardware check of ``edge doctor`` (broker connect, adapter probe)."""

DOCTOR_MIN_FREE_BYTES = 2 * OUTBOX_MAX_BYTES
"""Free space ``edge doctor`` wants where the outbox lives: room for a full outbox plus as much for
SQLite's WAL and a VACUUM's copy."""

DOCTOR_CLOCK_MAX_ERROR_S = 1.0
"""Largest clock error (adjtimex's maxerror) ``edge doctor`` accepts: event times and Eddystone-EID
windows (2^k s, k ≥ 8) both need the clock right to well under a second."""

DOCTOR_ROSTER_MAX_AGE_S = 86_400.0
"""A roster older than a day is reported: the CDP republishes on every change and at least daily,
so an older one means the downlink is broken even if the roster has not expired yet."""

CALIBRATE_SECONDS = 30.0
"""Default length of ``edge calibrate``: at a 1 Hz beacon about 30 samples, enough for a median
within ±1 dB."""

CALIBRATE_MIN_SAMPLES = 10
"""Fewest samples ``edge calibrate`` accepts before writing a value."""


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
