"""When a gateway the arbitration gave a shopper starts speaking for it (issue 18): the previous
owner's last word decides (pure: :class:`edge.peers.handover.Handovers` asks, then acts).

The last word is the previous owner's latest claim seen (its ``zone``: where its stream last placed
the shopper, "no zone" included), retained on the store broker and kept when it is cleared. A new
owner says no zone change the CDP did not need: it speaks once its own engine agrees with that zone
(or places the shopper in a zone of its own scanners, heard first-hand), or at once with that zone
when it is one of its own zones, or after :data:`~edge.peers.timing.AGREE_S` whatever its engine
says. This holds whether the previous owner is alive (a hand-off: it is silent from the decision on
and clears its claim once its last words are out; the new owner waits for the clear) or gone (its
last will, or a clean stop: it is silent already, so nothing is waited for but the engine). Only a
gateway with no previous owner, given back its own shopper, standalone, or without the dead owner's
claim (expired, never received: no last word known) speaks at once.

One previous owner is neither: alive but silent (a box frozen for seconds keeps its connection, so no will
comes; the arbitration moves its shoppers when its summaries stop). Where its last word places a shopper in a
zone only its own scanners cover, nobody can hear whether they are still there, and the new owner keeps that
word (:func:`keeps`): it claims the shopper naming the silent box as the CDP's last speaker (``said_by``) and says
nothing, until its engine places the shopper elsewhere, the box is gone, or the box speaks again and does not get
the shopper back within ``AGREE_S`` (:func:`kept_ends`). The ``voice`` of a claim (``said_by``, else its owner) is
the previous owner every rule here reads.
"""

from __future__ import annotations

import dataclasses

from edge.peers.messages import Claim

WILL_KEEPS_LAST_WORD = True
"""A takeover from a dead or stopped owner waits for the engine to agree with that owner's last claim,
as a live hand-off does. False: it speaks its engine's zone at once (before session 10: doors seed 6
sent a spurious ``entered`` z3 after the owner's ``exited`` z3, docs/multi-gateway.md)."""


KEEP_UNHEARD = True
"""A new owner of a silent (frozen, not gone) gateway's shopper whose last zone only that gateway hears keeps its
last word (:func:`keeps`, session 32). False: it waits for its engine as in any hand-off, and says the exit after
``AGREE_S``."""


@dataclasses.dataclass(frozen=True, slots=True)
class Start:
    """How a new owner starts: ``speaker`` is the previous owner (``from_gateway``); ``at_once``: it
    speaks now; else it waits, and ``silent``: the previous owner is gone (no clear to wait for)."""

    speaker: str | None
    at_once: bool
    silent: bool = False


def start(me: str, old: str | None, claim: Claim | None, alive: set[str], connected: bool) -> Start:
    """A shopper moves from ``old`` to ``me``; ``claim``: the latest claim seen for it."""
    # The last word the CDP heard: the latest claim's (the arbitration may have named a gateway that
    # never spoke: it was still waiting for its engine when the shopper moved on).
    speaker = None if old is None else claim.voice if claim is not None else old
    if speaker is None or speaker == me or not connected:
        return Start(speaker, at_once=True)  # nobody else is speaking
    if speaker in alive:
        return Start(speaker, at_once=False)  # a hand-off: the previous owner's clear, then agreement
    if claim is None or not WILL_KEEPS_LAST_WORD:
        return Start(speaker, at_once=True)  # gone, its last word unknown: the engine's zone at once
    return Start(speaker, at_once=False, silent=True)  # gone: its last claim is the last word


def keeps(begin: Start, claim: Claim, covered_by: str | None, speaks: bool) -> bool:
    """Whether a new owner keeps the last word of ``claim`` -- claims the shopper and says nothing -- rather than
    waiting for its engine: the claim's voice (``begin.speaker``, the gateway the CDP last heard of the shopper
    from) is alive but silent (``speaks`` False: its summaries stopped, a box frozen for seconds with its connection
    open), and that word places the shopper in a zone whose scanners are all that gateway's (``covered_by``: the one
    gateway whose scanners cover it). Nobody can hear whether the shopper is still there; what this gateway's engine
    says of that zone is its silence, and the exit it would say after ``AGREE_S`` is a guess -- one exit / enter
    pair when the box comes back with the shopper where they were (doors seed 3, gw-2 frozen 15 s: 21.8 spurious
    changes per shopper-hour, docs/multi-gateway.md). It holds whether the shopper comes from the silent gateway or
    from another that kept its word (and lost the shopper to a louder one meanwhile). :mod:`edge.peers.handover`
    ends the keep (:func:`kept_ends`)."""
    return (
        KEEP_UNHEARD
        and not begin.at_once  # (the voice is another gateway, alive, and this one is connected)
        and not begin.silent
        and not speaks
        and claim.zone is not None
        and begin.speaker is not None
        and covered_by == begin.speaker
    )


def kept_ends(
    last_zone: str | None, peer: str, zone: str | None, alive: set[str], back_at: float | None, now: float,
    agree_s: float,
) -> bool:  # fmt: skip
    """Whether a kept last word (``peer``'s, placing the shopper in ``last_zone``) gives way to this gateway's
    engine (``zone``): its engine places the shopper in another zone (heard there, so the CDP learns it); ``peer``
    is gone (its will: nobody will hear that zone again); or ``peer`` speaks again (since ``back_at``) and
    ``agree_s`` passed without the arbitration giving the shopper back to it (they are no longer there)."""
    if zone is not None and zone != last_zone:
        return True
    if peer not in alive:
        return True
    return back_at is not None and now - back_at >= agree_s


@dataclasses.dataclass(frozen=True, slots=True)
class Verdict:
    """A waiting new owner speaks: ``agreed`` (else the wait ran out), ``said``: the previous owner's
    zone, one of this gateway's own, said ahead of its engine (None: its engine's words)."""

    agreed: bool
    said: str | None = None


def verdict(
    peer: str, claim: Claim | None, cleared: bool, zone: str | None, own: set[str], heard_own: bool, waited_s: float,
    agree_s: float,
) -> Verdict | None:  # fmt: skip
    """Whether a new owner waiting for ``peer``'s shopper speaks now (None: it keeps waiting).

    ``claim``: the latest claim seen for the shopper; ``cleared``: ``peer`` is silent for it (its claim
    cleared, or it is gone); ``zone``: this gateway's engine's zone for it; ``own``: this gateway's
    zones; ``heard_own``: its own scanners heard the shopper in the last slot; ``waited_s``: since the
    decision."""
    said = None
    if not cleared:
        # The previous owner evaluates the same slot a moment apart: until its claim is cleared it
        # may still say something (its final zone comes before the clear).
        agreed = False
    elif claim is None or claim.voice != peer:
        agreed = True  # nothing known of what the previous owner said
    else:
        agreed = zone == claim.zone or (zone is not None and zone in own)
        if not agreed and claim.zone in own and (zone is not None or heard_own):
            # The previous owner already placed the shopper in a zone of this gateway's scanners;
            # this engine, which hears the old zone's scanner a second late, has not yet: say that
            # zone now, hold the engine's events until it agrees.
            agreed, said = True, claim.zone
    if agreed or waited_s >= agree_s:
        return Verdict(agreed, said)
    return None
