"""The fleet side's names and limits, each with its unit and why that value."""

from __future__ import annotations

EVENTS_STREAM = "EDGE_EVENTS"
"""The one stream of every gateway's events (the CDP reads it)."""

EVENTS_SUBJECTS = "edge.v1.*.*.>"
"""``edge.v1.{store}.{gateway}.{type}``; the type has dots of its own (``edge.presence.entered``)."""

STREAM_REPLICAS = 3
"""R3: Raft keeps the stream writable and readable with one of three nodes down."""

STREAM_MAX_AGE_S = 7 * 24 * 3600.0
"""A week: the CDP can be down over a long weekend and replay what it missed."""

STREAM_MAX_BYTES = 64 * 1024**3
"""64 GiB per replica: a week of 1,000 gateways at ~0.5 ev/s average of ~400 B events is ~120 GiB raw
at peak rates, ~12 GiB at store averages; the age limit normally bites first. Tests use far less."""

DUPLICATE_WINDOW_S = 15 * 60.0
"""JetStream de-duplication by ``Nats-Msg-Id`` (the CloudEvents id). It must cover the longest gap
between a first publish and its retry: a gateway resends an un-acknowledged row on its next
connection, at most ``mqtt.reconnect_max_s`` (60 s) after the broker is back, and the bridge
resends within its own publish retries (seconds). 15 min covers a broker restart and a CDP-side
rolling upgrade with room; older duplicates are caught by the consumer's per-gateway ``sequence``
watermark (:mod:`central.consumer`), which never forgets."""

DOWNLINK_BUCKET = "cdp_downlink"
"""KV bucket of the retained snapshots: key ``{store}.roster`` → ``cdp/v1/{store}/roster``."""

DOWNLINK_HISTORY = 1
"""A snapshot replaces the one before; nothing reads older ones."""

WITHDRAW_STREAM = "CDP_WITHDRAW"
WITHDRAW_SUBJECTS = "cdp.v1.*.consent.withdraw"
"""Withdrawals are not retained (docs/mqtt.md): a work-queue stream, acknowledged after the MQTT PUBACK."""

WITHDRAW_MAX_AGE_S = 24 * 3600.0
"""A withdrawal not delivered in a day is still carried by the next roster snapshot (its token is gone)."""

INGEST_FILTER = "edge/v1/+/+/events/#"
"""Each ingest process's own subscription, in its persistent session: every process gets every event
and JetStream keeps the first copy (``Nats-Msg-Id``). Not ``$share/cdp-ingest/…``: mosquitto
(2.0.11 here; the 2.0.20 source writes the same) persists a durable client's plain subscriptions
but not its shared ones, so after a broker restart no subscription matched the fleet's events until
a bridge had reconnected and subscribed again, and the events published in that window were PUBACKed
and dropped (the fleet fault runs lost 12 of 800 so, docs/central.md). The price: N processes do N
times the forwarding (2 is the pair to run: one alive keeps the stream current)."""

INGEST_STATUS_TOPIC = "central/v1/ingest/{name}/status"
INGEST_ONLINE = b"online"
INGEST_OFFLINE = b"offline"
"""Each bridge's retained status: ``online`` published right after its SUBSCRIBE (so it means the
subscription is in place), ``offline`` on a clean stop and as its will. A fleet started before any
bridge is ``online`` loses its first events: the broker drops a message no subscription matches."""

INGEST_SESSION_EXPIRY_S = 7 * 24 * 3600
"""How long the broker keeps a bridge's MQTT session once it is away (s; the MQTT 5 Session Expiry Interval
sent on CONNECT, ``edge central ingest --session-expiry``). The session holds the bridge's subscription and
the events queued for it: once it expires the broker drops that queue and PUBACKs-then-drops every event
that follows (no subscription matches) until a bridge subscribes again. A week outlasts a long weekend with
every bridge of a broker down, like the stream's own 7 days (:data:`STREAM_MAX_AGE_S`); the broker can
shorten it (mosquitto's ``persistent_client_expiration`` caps every session) and its ``max_queued_messages``
bounds what the session holds (docs/central.md, "How long the bridges may be away")."""

JS_PUBLISH_TIMEOUT_S = 2.0
"""One JetStream publish's wait for its ack; a leader election after a node loss takes ~1-3 s."""

JS_RETRY_INITIAL_S = 0.1
JS_RETRY_MAX_S = 2.0
"""The bridge retries a failed JetStream publish (same Nats-Msg-Id) with a capped back-off forever:
the MQTT message stays un-acknowledged meanwhile, so nothing is lost if the bridge dies."""

INGEST_INFLIGHT_MAX = 2000
"""MQTT messages one ingest process holds unacknowledged (each a JetStream publish awaiting its ack):
sent as the MQTT 5 Receive Maximum on CONNECT, so the broker never pushes more and a burst waits in
the broker's queue, not in the bridge's memory (~1 MB of ~450 B events). 2,000 keeps ~1 s of a
2,000 ev/s fleet moving through a JetStream round trip of up to ~1 s (a loaded cluster)."""

INGEST_PUBLISH_LINGER_S = 0.01
"""How long (seconds) a bridge gathers the MQTT messages it takes before it publishes them to JetStream
together: nats-py writes whatever is pending in one socket write, and paho hands over one message per
loop turn, so without a wait each event cost its own write to the NATS server (~40 % of the bridge's CPU
in a profile, session 25). 10 ms gathers ~5 events per write at the 500 ev/s a default-scale bridge
takes, ~20 at the full run's 2,000, and adds 10 ms to a lag whose p95 is seconds."""

INGEST_PUBLISH_PENDING_MAX = 2 * INGEST_INFLIGHT_MAX
"""nats-py's own bound on JetStream publishes awaiting their ack (``publish_async_max_pending``): above
the bridge's in-flight bound (each held message has at most one publish out), so it never stalls a
publish the Receive Maximum let in; scaled up with a larger ``inflight_max``."""

NATS_CONNECT_TIMEOUT_S = 5.0
NATS_RECONNECT_WAIT_S = 0.2
"""Reconnect to the next server of the list quickly: a killed node must not stall the bridge."""

CONSUMER_FETCH_BATCH = 500
CONSUMER_FETCH_TIMEOUT_S = 1.0
CONSUMER_MAX_ACK_PENDING = 100_000
"""Messages handed to the consumer and not yet acknowledged: acks wait ≤ WATERMARK_SAVE_S (1 s) for the
watermark save, held events up to REORDER_HOLD_S (30 s). JetStream stops delivering at this bound, so
it must exceed what the hold can pile up (a 2,000 ev/s fleet for 30 s is 60,000) or a hole's filler
could not arrive before the hold gives up on it; ~50 MB of events at most."""
CONSUMER_ACK_WAIT_S = 30.0
"""Redelivery after 30 s without an ack: a CDP write is expected to take far less."""

WATERMARK_SAVE_S = 1.0
"""The consumer saves its per-gateway watermarks (one KV document) at most this often and acknowledges
what they cover only then: one replicated write a second, and messages wait ≤ 1 s for their ack,
far inside the ack wait."""

WATERMARK_LOAD_TIMEOUT_S = 30.0
"""A consumer starting during a leader election waits this long for its saved watermarks."""

REORDER_HOLD_S = 30.0
"""How long the consumer holds later events of a gateway while one ``sequence`` is missing before it
counts the hole as a gap and moves on. Every ingest process forwards every event and the first copy
to reach JetStream is the one stored, so an event can be overtaken by later ones while each copy's
path is stalled: a publish caught in a JetStream election waits out the bridges' retries, and a
bridge killed holds its un-acknowledged messages in its MQTT session until it is back (its restart:
seconds, tens on a loaded box) -- then only if the other bridge was stalled too. With the shared
subscription of sessions 1-23 (a killed bridge's share had no other copy), in the full run on 2
shared cores (load ~25) a 10 s hold let 79 of 600,000 events come late (handed on out of order, none
lost); 30 s covers those faults. Only the gateways with a hole wait."""

CLUSTER_READY_TIMEOUT_S = 30.0
"""Three local nodes elect a meta leader in ~2-5 s; on a loaded CI machine it can take longer."""

LAG_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
