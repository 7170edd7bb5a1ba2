"""Every tuned number of the gateway, with its unit in the name and the reason for its value.

Zone-level values here are defaults; a ``[[zones]]`` table may override each (see edge.config).
The store layout's defaults and the zone estimator's physical quantities are in :mod:`edge.constants_model`.
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
by the sequential test on the lead (:class:`edge.presence_sure.LeadTest`); on a clear trend, for the entry just
after an exit, this lead alone, once (:data:`edge.presence_timing.TREND_HOLD_SAMPLES`)."""

HANDOFF_SAMPLES = 3
"""The fewest leads (adverts of either zone) the hand-off's sequential test decides on (0.75 s of a
phone at 4 Hz heard by one zone): a passing spike never hands off. With no level of the old zone
(unheard for ENTER_WINDOW_S), the samples the new zone must lead for in a row, as before."""

HANDOFF_LEAD_MEMORY_S = 3.0
"""How far back (s) the hand-off's sequential test (:class:`edge.presence_sure.LeadTest`) remembers its
leads: a walker's 3.6 m at 1.2 m/s, from the middle of one zone of a row into the next -- the band where
both zones hear her -- the span of the hand-off's trend too (TREND_SPAN_S). A lead older than that was
read where the shopper no longer is: a browser who stood on the old zone's side of the boundary (the new
zone at its bar all along) no longer pays for that stand with a late hand-off when she does cross, and a
deep fade (a -30 dB lead) is forgotten with it. A shopper standing between two zones still reads leads
of mean 0 over any 3 s, so the dead band stays (docs/presence.md, "a hand-off that forgets", session 23)."""

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

CALIBRATE_OFFSET_MAX_DB = 12.0
"""The largest scanner offset ``edge calibrate --scanner`` writes: twice the ±6 dB by which adapters, antennas and
enclosures differ (hardware/README.md). A scanner further off than that is held wrong (not 1 m, not in line of
sight, another beacon) or broken, not miscalibrated."""
