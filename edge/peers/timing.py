"""The timing of a store's gateways (edge.peers): expiries, refreshes, deadlines and graces, each with
its reason. :mod:`edge.peers.service` imports them by name (a test shortens one on that module)."""

from __future__ import annotations

SUMMARY_EXPIRY_S = 3
"""MQTT 5 message expiry of a summary: older than the arbitration window it is useless."""
CLAIM_EXPIRY_S = 30
"""MQTT 5 message expiry of a retained claim. The owner republishes its claims once they are
:data:`CLAIM_REFRESH_S` old while it owns them, so only a dead (or cut-off) gateway's claims lapse:
the ACL lets no other gateway clear them, and a token (a claim names it) must not stay on the store
broker long after its owner died -- nor after a withdrawal while the owner is dead. Nothing waits
for a dead owner's claims (its will moves its shoppers at the next evaluation); a gateway joining
meanwhile would adopt one only until its first evaluation. 30 s: the arbitration's release time
(RELEASE_SLOTS)."""
CLAIM_REFRESH_S = 20.0
"""A claim this old is republished (its expiry restarts; by the claim's own age, so refreshes spread
over the slots, and any publish of the claim -- a zone update -- counts as one). 10 s before the
expiry: a refresh is checked every slot (1 s), and a QoS 1 publish on a live connection is not lost
(a dropped connection republishes every claim on reconnect), so one refresh per expiry suffices.
It was 10 s: at 100 standing shoppers that was 10 claims/s for the store, now 5 (3.7 -> ~1.9 B/s
per present shopper per gateway at 3 gateways, beside the summaries' ~70)."""
SLOT_DEADLINE_S = 2.5
"""A slot is evaluated without a late peer's summary this long after it ended: above the clock
skew of NTP-synced boxes and a loaded broker's delay, and above the skew of the benchmark's replay
processes (each replay clock starts with its process: 1.6 s apart was measured on a loaded machine,
and a gateway that evaluated without a peer's summary disagreed with the others until the next
move). It only delays an evaluation while a live peer's summary is late."""
SUMMARY_AHEAD_MAX_SLOTS = 60
"""A peer's summary of a slot more than this many slots after this gateway's current one is kept out of the
arbitration (counted, ``peers_summaries_ahead``): its sender's clock is over a minute ahead -- a box that lost its
time service, or one that booted without it -- where NTP keeps a store's boxes within milliseconds (and a second
already warns: :data:`edge.peers.clocks.CLOCK_OFF_S`). Kept, each such summary waited in the arbiter until this
gateway's clock reached its slot: an hour ahead, an hour of slots per peer; a slot years ahead (any slot up to
``SLOT_MAX`` is well-formed), without bound. Its clock is still read and what it heard still reaches the engine."""
DELIVERIES_AHEAD = 8
"""Peers' sightings handed to the core's writer and not yet committed, at most; past it the peers' inbox
waits for the oldest. Waiting for each one's commit (at 8 gateways 23.6-26.6 s of waiting over ~460
deliveries per gateway in one run, ~55 ms each, with ~14 a second to take) let the inbox fall behind, and a
slot evaluated at its deadline then found its owner's summaries still queued (docs/multi-gateway.md,
"Ownership under load"). 8: about half a second of summaries at 8 gateways, so the inbox waits only for a
writer that far behind, and no more than that queues ahead of the box's own adverts: with 32 (over 2 s), a
busy loop beside 8 gateways left 147-157 claims per 20 s and 0.22-0.25 ownership changes per shopper (most
moves ``deaf``: probably owners' own summaries missing shoppers their writer had not reached yet); with 8,
104-114 and 0-0.01. A bound, so a writer that stopped committing still
holds the inbox back (its bounded queue then drops, counted)."""
CHANGES_AHEAD = 256
"""Ownership changes decided and not applied yet, at most, before the slot loop defers its evaluations
(:mod:`edge.peers.changes`; it never waits for them). Applying a gain waits on the core's writer (its
first words committed: ~55 ms each on a loaded box); the round only decides. 256: more than a whole store
of the benchmarks' 100 shoppers moving to one gateway at once (a peer's death at two gateways), so a join
or a death never defers; a writer that far behind (seconds) would apply anything decided now late anyway,
and a deferred evaluation reaches the same answer (the keep rule reads when summaries were received)."""
CHANGES_IN_FLIGHT = 8
"""Ownership changes applied at once, at most (different tokens'; :mod:`edge.peers.changes`). Applied one at a
time, a store's first claims beside a busy loop came seconds late (24-95 first claims in the churn benchmark's
window against 0-21); unbounded, a gateway gaining a whole store would queue all their first words' commits on
the outbox's lock at once, and a consent withdrawal's purge waits behind them. 8, as
:data:`DELIVERIES_AHEAD`: a withdrawal waits behind at most 8 such commits (tens of ms); the rest stay queued,
where a withdrawal drops them."""
INBOX_FIRST_S = 5.0
"""Past :data:`SLOT_DEADLINE_S`, a slot still waits while messages wait in this gateway's own inbox (at
most this much longer): a summary there is not late, this gateway is (its loop busy with the messages
before it). Evaluated without it, its owner looked deaf and lost its shoppers: at 8 gateways every slot
evaluated past the deadline had messages waiting (docs/multi-gateway.md, "Ownership under load").
Bounded, so a flood of messages cannot stop the arbitration: 2.5 + 5 s stays inside the 10 s a
takeover may take."""
STANDALONE_GRACE_S = 15.0
"""Cut off from the broker, ownership stays frozen this long before the gateway owns all it hears:
a broker restart (seconds) must not make every gateway enter every shopper again."""
SETTLE_S = 2.0
"""After (re)connecting, evaluate nothing this long: the peers' retained states and claims arrive
first, so a gateway that joins does not claim shoppers another one already owns."""
AGREE_S = 4.0
"""A gateway given a shopper by the arbitration waits at most this long for its engine to agree with
the previous owner's zone before it speaks anyway: the peers' scanners reach its engine 1-2 s late
and the engines' own hand-off takes ~1 s more (HANDOFF_SAMPLES)."""
HAND_AT_ONCE = True
"""An owner hands a shopper on the moment its ``entered`` for another gateway's zone is committed
(a claim naming the zone and the gateway, then its clear), not in the next slot's summary: the
summary's hand waited for the slot's end, ~0.5 s on average, and the peers' summaries after it
(the fourth pass, docs/multi-gateway.md). After the commit, not at the filter: the new owner's
``entered`` (from_gateway) must reach the CDP after the previous owner's. False: summaries only."""
PULL = True
"""A gateway whose engine places another gateway's shopper in one of its own zones says so in its summaries
(and sends the slot's early part at once), and an owner whose stream last said no zone hands the shopper to it
at once (:mod:`edge.peers.pull`; doors seed 6's third hand-off, docs/multi-gateway.md). False: only the owner's
engine hands a shopper on."""
EARLY_SUMMARY = True
"""Each gateway also sends its slot's first part half way through it (``early``,
:data:`edge.peers.summary.EARLY_AT_S`), for the peers' engines only: the arbitration still runs on
whole 1 s slots (its margin and hold are tuned on them). False: one summary per slot."""
RELEASE_FLUSH_S = 1.5
"""A gateway the arbitration moved a shopper away from clears its claim (the next owner's cue to
speak) only once every event about the shopper that passed its filter has reached the broker (the
writer has committed them and the outbox holds none unsent), at most this long: an event that passed
the filter a moment before the decision was still in the outbox when the clear went out, and the
next owner's first word reached the CDP before it (docs/multi-gateway.md, the race). Below
:data:`AGREE_S`, after which the next owner speaks anyway; when the uplink is down the outbox does
not empty and the clear goes out after this bound (then the CDP may get the old owner's last events
late)."""
RELEASE_POLL_S = 0.02
"""How often a release looks at the outbox (one indexed count per released token; a release lasts
one commit and one PUBACK, tens of ms)."""
TAKEOVER_POLL_S = 0.1
"""How often a waiting new owner looks at its engine (also woken by each presence event it withholds)."""
READER_WAIT_S = 0.25
"""Before it closes a slot, the slot loop waits up to this long (the gateway's clock) for its advert reader (the
core's writer) to take what the source has handed it (session 17, docs/multi-gateway.md "A starved owner's empty
summary"): a starved process's loop closed a slot while the slot's adverts waited for the writer, and its
summary named nobody. One hand-over of a replay (``PACE_S``) and one presence tick: the writer takes a batch at
its next turn (``LINGER_S`` 0.05 s after a live burst), so past this the reader is behind, not about to run, and
the summary says how far it got (``heard_to``). 2.25 s of the peers' 2.5 s deadline are left. A sleep of the loop
that ends this late or later marks the process stalled for a slot: its source, on the same event loop, may not
have handed the slot's adverts over yet (``edge.peers.slots.Slots._woke``)."""
READER_POLL_S = 0.01
"""How often the slot loop looks at its reader's backlog while it waits (two counters; 25 looks at most)."""
PEER_SILENT_SLOTS = 3
"""A peer whose summaries stopped for this many slots is not waited for (it is counted as gone
once its last will arrives)."""
AWAY_S = 5.0
"""A slot loop that has not finished a round for this long (the slot clock, s) may have looked silent to its peers, who
take a silent owner's shoppers (the arbitration's ``SILENT_KEEP_SLOTS``, 3): at the earliest at the deadline
(``SLOT_DEADLINE_S``, 2.5 s) of the fourth slot after its last summary, about 6.5 s after it went out. Until it has come
back and evaluated a slot closed since, with the claims that queued meanwhile read, it says nothing to the CDP
(``edge.peers.slots.Slots.away``): a gateway frozen for 15 s (SIGSTOP: a box whose storage or swap stalled it) went on
where it was, its engine's backlog of adverts gave an exit and an entry of a shopper another gateway had taken over
meanwhile, and it said both before it read that gateway's claim (session 31, docs/multi-gateway.md). 5 s leaves 1.5 s
for clocks and deliveries; 3 s (a loop late by three slots) also caught the starved loops of a loaded store, which no
peer could have counted silent yet: 8 gateways beside two busy-loop processes (``multi_gateway_churn.py --hog 2``)
went on 1-3 rejoins per gateway a run and 0.24-0.58 owner changes per shopper per 20 s, against 0-0.18 before this
rule, and at 5 s 0-1 rejoins a run and 0.01-0.02."""
VIA_APP = "app"
"""edge.checkin's app presence: no radio decides its owner; the store's first alive gateway emits it."""
RECONNECT_INITIAL_S = 0.5
RECONNECT_MAX_S = 5.0
"""Reconnect quickly: while cut off, the store runs on standalone gateways."""
