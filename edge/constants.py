"""Every tuned number of the gateway, with its unit in the name and the reason for its value.

Zone-level values here are defaults; a ``[[zones]]`` table may override each (see edge.config).
"""

from __future__ import annotations

# --- Presence (edge.presence, edge.rssi) -----------------------------------------------------

ENTER_RSSI_DBM = -75.0
"""Smoothed RSSI at or above which a shopper enters a zone. About 4-5 m from a phone advertising
at -59 dBm @ 1 m indoors (n = 2.2): the reach of one shelf bay and its screen."""

EXIT_RSSI_DBM = -82.0
"""Smoothed RSSI below which a shopper starts to leave. 7 dB under ENTER_RSSI_DBM: the dead band
(hysteresis) that keeps 5 dB shadowing noise from flapping a shopper in and out at the edge."""

EXIT_TIMEOUT_S = 5.0
"""Seconds the zone's smoothed RSSI must stay below EXIT_RSSI_DBM (or the shopper stay unheard)
before the exit fires, on a timer. Long enough to ride out a pocketed phone's missed adverts,
short enough for an exit latency p95 under 10 s."""

HANDOFF_MARGIN_DB = 6.0
"""A neighbouring zone must be this much stronger than the current one before a hand-off: the
margin against flapping between two scanners that both hear the shopper."""

HANDOFF_SAMPLES = 3
"""Consecutive samples in which the new zone must lead by HANDOFF_MARGIN_DB before the hand-off."""

ENTER_SAMPLES = 2
"""Consecutive samples of a zone at or above its enter threshold before a shopper in no zone
enters it: one lucky sample (its window may hold only itself) must not make an entry."""

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

RSSI_WINDOW_S = 2.0
"""Seconds of samples the RSSI smoother keeps per (shopper, scanner)."""

RSSI_WINDOW_MAX_SAMPLES = 16
"""Most samples one RSSI window keeps, whatever its length in seconds: bounds the cost of the
trimmed mean (a sort) for phones advertising at 10-20 Hz, which have plenty of samples anyway."""

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
