"""A gateway whose engine places another gateway's shopper in one of its own zones asks for them (issue 18):
the pull. Pure: :class:`edge.peers.service.Peers` asks, then acts.

The owner's engine hears the next zone's scanner a second late (through that gateway's summaries), the
next zone's gateway hears it first-hand; on a walk from the owner's zone into the next one, the owner's
engine may leave its zone (its stream says no zone) and enter the next one seconds after the next
zone's gateway's engine did (traced on doors seed 6's third hand-off: the owner's ``entered`` 2.7-4.5 s
after the true entry, the next zone's gateway's engine 3.0-3.6 s, offline and in the processes,
docs/multi-gateway.md "Doors seed 6's third hand-off"). Until then the arbitration had no input for it:
the owner hands on only once its own engine is there, and the loudness needs its margin twice.

So a gateway that is not the owner says, in its summaries (their hands: one to itself, which the
arbitration reads from the owner only), which of the owner's shoppers its engine places in one of its
own zones, and sends the slot's early part at once when such a pull starts (at most one early part per
slot, as before). The **owner** decides, as for its hand at once: if its own stream last said no zone
(it claims no zone of its own, nor another gateway's: those it keeps or hands on already) and the
puller heard the shopper first-hand in that summary, it hands the shopper to the puller at once (its
claim naming the puller, then its clear once its last words are out). Every gateway applies that claim
as any hand at once (:meth:`edge.peers.arbitration.Arbiter.hand`), so the owner stays the only one who
moves its shoppers and no gateway's view of a claim in flight decides anything.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

__all__ = ["honoured", "pulls"]


def pulls(me: str, owner: str | None, zone: str | None, own: AbstractSet[str], alive: AbstractSet[str]) -> bool:
    """Whether this gateway (``me``) pulls a shopper: another alive gateway (``owner``) owns them and this
    gateway's engine places them in ``zone``, one of its ``own`` zones (its scanners heard them first-hand)."""
    return owner is not None and owner != me and owner in alive and zone is not None and zone in own


def honoured(
    me: str,
    owner: str | None,
    said: str | None,
    claimed: bool,
    busy: bool,
    puller: str,
    alive: AbstractSet[str],
    heard: bool,
) -> bool:
    """Whether this owner (``me``) hands a shopper to ``puller`` at once.

    ``owner``: the arbitration's owner; ``said``: the zone this gateway's stream last said for the shopper
    (its claim's; None: no zone); ``claimed``: it holds a claim on them (it speaks for them); ``busy``: it
    is still taking them over, is ahead of its engine, or a change of theirs is queued; ``heard``: the
    puller's summary carrying the pull names the shopper (its own scanners heard them in that slot)."""
    return owner == me and claimed and said is None and not busy and puller != me and puller in alive and heard
