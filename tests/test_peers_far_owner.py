"""A gateway evaluating a slot without the owner's summary of it does not call the owner deaf (issue 18, session 21).

Traced at 8 gateways under load (``benchmarks/multi_gateway_churn.py --gateways 8 --hog 1 --settle 20 --changes``,
docs/multi-gateway.md, "Far owners at 8 gateways"): gw-7 owns a shopper standing in z7 (-67 dBm at its scanner).
Its loop closes slot 69 half a second late, so its summary of slot 70 covers 0.7 s and, by chance, none of the
shopper's adverts (complete: its reader had nothing waiting). gw-3 reaches slot 71's deadline with only its own
summary of 71 in (the others' took over 2 s from their late closes to its starved reader; the clocks agreed within
0.1 s): the window (70, 71) holds gw-7's thin summary without the shopper and nothing of gw-7's for 71, so the old
rule called gw-7 ``deaf`` and gave the shopper to the loudest gateway that heard them in slot 71 -- gw-3 itself
(-93 dBm, 32 m off), whose own summary is always in. The loudness moved them back 2.4 s later, before gw-3 claimed
them (a new owner waits up to ``AGREE_S``); had it claimed, every peer would have adopted its higher epoch. gw-7's
summary of 71, 0.02 s after gw-3's deadline, named the shopper.

Now the owner is deaf only on its own complete word on the slot evaluated: a summary of that slot that is late
(not in) or incomplete says nothing, as the late and the incomplete summaries of the window's other slots already
did (tests/test_peers_late.py, tests/test_peers_heard_to.py).
"""

from __future__ import annotations

from edge.peers.arbitration import Arbiter, Change

GATEWAYS = [f"gw-{i}" for i in range(1, 9)]
ALIVE = set(GATEWAYS)
TOKEN = "shopper-0046"
LEVEL = {"gw-7": -67.0, "gw-6": -79.0, "gw-8": -79.0, "gw-5": -85.0, "gw-4": -90.0, "gw-3": -93.0}
"""The shopper standing in z7, as each gateway's loudest scanner hears them (22 dB/decade, 8 m apart)."""


def _owned_by_gw7(arbiter: Arbiter) -> None:
    for gateway in GATEWAYS:
        arbiter.add(69, gateway, {TOKEN: LEVEL[gateway]} if gateway in LEVEL else {})
    assert [(c.new, c.why) for c in arbiter.evaluate(69, ALIVE, 72.5)] == [("gw-7", "new")]
    for gateway in GATEWAYS:  # slot 70: gw-7's thin summary (complete) misses the shopper
        heard = gateway in LEVEL and gateway != "gw-7"
        arbiter.add(70, gateway, {TOKEN: LEVEL[gateway]} if heard else {})
    assert arbiter.evaluate(70, ALIVE, 73.5) == []  # gw-7 heard them at 69: in the window


def test_an_owner_whose_summary_of_the_slot_is_not_in_keeps_its_shopper() -> None:
    """gw-3 evaluates slot 71 at its deadline with its own summary alone: nothing moves (the old rule: ``deaf``,
    gw-7 -> gw-3). The others' summaries of 71 come after it (ignored for 71's scores); 72 as usual."""
    arbiter = Arbiter()
    _owned_by_gw7(arbiter)
    arbiter.add(71, "gw-3", {TOKEN: LEVEL["gw-3"]})
    assert arbiter.evaluate(71, ALIVE, 74.5) == []
    for gateway in GATEWAYS:
        if gateway != "gw-3":
            arbiter.add(71, gateway, {TOKEN: LEVEL[gateway]} if gateway in LEVEL else {}, received=74.52)
    for gateway in GATEWAYS:
        arbiter.add(72, gateway, {TOKEN: LEVEL[gateway]} if gateway in LEVEL else {})
    assert arbiter.evaluate(72, ALIVE, 75.5) == []
    assert (arbiter.owner(TOKEN), arbiter.epoch(TOKEN)) == ("gw-7", 1)


def test_an_owner_whose_summary_of_the_slot_is_incomplete_keeps_its_shopper() -> None:
    """The same with gw-7's summary of 71 in but closed before its reader reached the slot's end, naming nobody
    (a starved process: session 17's ``heard_to``): it says nothing of the shopper, and nothing moves."""
    arbiter = Arbiter()
    _owned_by_gw7(arbiter)
    for gateway in GATEWAYS:
        if gateway == "gw-7":
            arbiter.add(71, gateway, {}, reached=70)
        else:
            arbiter.add(71, gateway, {TOKEN: LEVEL[gateway]} if gateway in LEVEL else {})
    assert arbiter.evaluate(71, ALIVE, 74.5) == []
    assert arbiter.owner(TOKEN) == "gw-7"


def test_an_owner_whose_complete_summaries_lack_the_shopper_is_deaf_and_the_nearest_takes_them() -> None:
    """gw-7's summary of 71 in and complete, without the shopper, as its summary of 70: deaf, at once, as before,
    to the loudest gateway that heard them in 71 (gw-6 and gw-8 tie at -79 dBm: the smaller id)."""
    arbiter = Arbiter()
    _owned_by_gw7(arbiter)
    for gateway in GATEWAYS:
        heard = gateway in LEVEL and gateway != "gw-7"
        arbiter.add(71, gateway, {TOKEN: LEVEL[gateway]} if heard else {})
    moved: list[Change] = arbiter.evaluate(71, ALIVE, 74.5)
    assert [(c.old, c.new, c.epoch, c.why) for c in moved] == [("gw-7", "gw-6", 2, "deaf")]


def test_an_owners_late_summary_counts_in_the_next_window() -> None:
    """The other order, traced with the rule above in force (8 gateways, ``--hog 1``): gw-4 evaluates slot 69
    without gw-1's summary of it, which comes a moment later naming gw-1's z1 shopper; gw-1's summary of 70 is
    thin (closed 0.74 s after a late close) and complete without them. A late summary was dropped whole: gw-4's
    window (69, 70) held gw-1's thin summary alone and moved the shopper ``deaf`` where its peers, who had both,
    did not. Now the late summary's scores count in the windows still to come whose deadline it was received by,
    as at every gateway that had it in time (received later, nowhere: tests/test_peers_late.py); its hands do not
    (they were for its slot)."""
    near = {"gw-1": -66.0, "gw-2": -79.0, "gw-3": -85.0, "gw-4": -90.0}
    arbiter = Arbiter()
    for gateway in GATEWAYS:
        arbiter.add(68, gateway, {TOKEN: near[gateway]} if gateway in near else {})
    assert [(c.new, c.why) for c in arbiter.evaluate(68, ALIVE, 71.5)] == [("gw-1", "new")]
    for gateway in GATEWAYS:
        if gateway != "gw-1":
            arbiter.add(69, gateway, {TOKEN: near[gateway]} if gateway in near else {})
    assert arbiter.evaluate(69, ALIVE, 72.5) == []  # gw-1's 68 is in the window
    arbiter.add(69, "gw-1", {TOKEN: near["gw-1"]}, {TOKEN: "gw-2"}, received=72.6)  # late, a hand besides
    for gateway in GATEWAYS:
        heard = gateway in near and gateway != "gw-1"
        arbiter.add(70, gateway, {TOKEN: near[gateway]} if heard else {})
    assert arbiter.evaluate(70, ALIVE, 73.5) == []  # the old rule: deaf, gw-1 -> gw-2
    assert (arbiter.owner(TOKEN), arbiter.epoch(TOKEN)) == ("gw-1", 1)


def test_the_churn_benchmark_lists_owner_changes_and_marks_the_far_ones() -> None:
    """``multi_gateway_churn.py --changes``: the changes after the window's start, their kind as the broker shows
    it, and ``far`` when the new owner is 2 or more gateways from the zone its claim names."""
    import json

    from benchmarks.multi_gateway_churn import owner_changes

    def claim(gateway: str, epoch: int, zone: str, hand: str | None = None) -> tuple[str, bytes, float]:
        body = {"token": TOKEN, "owner": gateway, "epoch": epoch, "zone": zone, **({"hand": hand} if hand else {})}
        return f"store-local/v1/store-1/{gateway}/owner/h", json.dumps(body).encode(), 10.0 + epoch

    def summary(gateway: str, slot: int, tokens: list[str]) -> tuple[str, bytes, float]:
        body = {"gateway": gateway, "slot": slot, "tokens": [[t, "ibeacon", None, []] for t in tokens]}
        return f"store-local/v1/store-1/{gateway}/sightings", json.dumps(body).encode(), float(slot)

    messages = [
        claim("gw-7", 1, "z7"),  # before the window: no change listed
        summary("gw-7", 10, [TOKEN]),
        summary("gw-7", 11, []),
        summary("gw-7", 12, []),
        claim("gw-3", 2, "z7"),  # gw-7's last two summaries lack it: deaf, 32 m off
        claim("gw-3", 3, "z7", hand="gw-7"),  # handed back at once
    ]
    rows = owner_changes(messages, 1, 10.0)
    assert [(r["from"], r["to"], r["kind"], r["zone"], r["far"]) for r in rows] == [
        ("gw-7", "gw-3", "deaf", "z7", True),
        ("gw-3", "gw-7", "at_once", "z7", False),
    ]
    assert rows[0]["t"] == 2.0
