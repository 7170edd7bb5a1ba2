"""A sweep cell as one gateway of several hears it (issues #13 and #18): its own zones' scanners at once, the
other gateways' scanners through their store-local summaries.

A store with several gateways (docs/multi-gateway.md) feeds each gateway's presence engine its peers' summaries as
further scanners: each peer sends, per 1 s slot, what it heard so far half way through (the early part) and the
slot's whole; the gateway turns each back into samples (:class:`edge.peers.summary.Parts`,
:func:`edge.peers.summary.to_sightings`) when it arrives. :func:`as_gateway` does the same to a cell's run: the
sightings of the scanners :func:`owners` gives gateway ``me`` stay as they were heard; every other gateway's are
gathered into its slots and delivered, rebuilt, ``delay_s`` after each part's end -- so the sweep's stores judge
an engine hearing most of them through peers, not only the three-gateway row of ``benchmarks/multi_gateway.py``.
Pure and deterministic: a run in, (arrival time, sighting) pairs out, in arrival order.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from edge.peers.summary import EARLY_AT_S, SLOT_S, Parts, Slot
from edge.presence import Sighting
from edge.sim.sweep.cell import Run
from edge.sim.sweep.layouts import Layout

__all__ = ["DELAY_S", "as_gateway", "owners"]

DELAY_S = 0.05
"""From a part's end to its arrival at the gateway: the store broker's trip and the peer's encode, tens of ms (the
value of edge/sim/engines.py's own DELAY_S, not imported from it: that module imports this package)."""


def owners(layout: Layout, gateways: int) -> dict[str, int]:
    """Each scanner's gateway: the layout's zones, in their order, cut into ``gateways`` runs of consecutive zones
    (a gateway covers neighbouring zones, as the multi-gateway row does); a scanner of two zones goes with its
    first."""
    zones = layout.zones
    found: dict[str, int] = {}
    for k, zone in enumerate(zones):
        for scanner in zone.scanners:
            found.setdefault(scanner, (k * gateways) // len(zones))
    return found


def as_gateway(
    run: Run, owner: dict[str, int], me: int, *, delay_s: float = DELAY_S, stream: bool = False
) -> list[tuple[float, Sighting]]:
    """The run's sightings as gateway ``me`` gets them: its own scanners' at their time, each other gateway's in
    its parts (the early half and the rest of each slot, :class:`~edge.peers.summary.Slot`), rebuilt on arrival,
    ``delay_s`` after the part's end. A scanner :func:`owners` does not name is this gateway's.

    ``stream``: each peer's sightings as heard, each ``delay_s`` after it was heard -- not what ``edge run`` does
    (it sends summaries), the bound a store that forwarded every rostered reading would reach
    (``benchmarks/presence_peers.py --delivery stream``)."""
    out: list[tuple[float, Sighting]] = []
    peers = sorted({g for g in owner.values() if g != me})
    mine = [s for s in run.sightings if owner.get(s.scanner, me) == me]
    out.extend((s.at, s) for s in mine)
    for peer in peers:
        heard = [s for s in run.sightings if owner.get(s.scanner, me) == peer]
        if stream:
            out.extend((s.at + delay_s, s) for s in heard)
        else:
            out.extend(_delivered(heard, f"gw-{peer}", delay_s))
    out.sort(key=lambda pair: pair[0])  # (stable: a peer's part after this gateway's own sightings of that time)
    return out


def _delivered(heard: Sequence[Sighting], peer: str, delay_s: float) -> list[tuple[float, Sighting]]:
    """One peer's sightings (in time order) as its parts deliver them."""
    slot = Slot(peer)
    parts = Parts()
    out: list[tuple[float, Sighting]] = []
    current: int | None = None
    peeked = False

    def send(summary_slot: int, early: bool) -> None:
        summary = slot.peek(summary_slot) if early else slot.close(summary_slot)
        now = summary_slot + (EARLY_AT_S if early else SLOT_S) + delay_s
        out.extend((now, s) for s in parts.sightings(peer, summary, list(summary.tokens), now))

    for sighting in [*heard, None]:
        at = math.inf if sighting is None else sighting.at
        if current is not None and not peeked and at >= current + EARLY_AT_S:
            send(current, early=True)
            peeked = True
        if current is not None and at >= current + SLOT_S:
            send(current, early=False)
            current, peeked = None, False
        if sighting is not None:
            if current is None:
                current = math.floor(at)
                peeked = at >= current + EARLY_AT_S  # (the early part went out empty before this one was heard)
            slot.add(sighting)
    return out
