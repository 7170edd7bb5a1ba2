"""A gateway's stream never says ``entered`` twice in one visit, whatever its engine does (issue 18).

Doors seed 4 with the grid engine on three ``edge run`` processes showed one duplicate ``entered``
(docs/multi-gateway.md): one gateway said ``entered`` for a shopper its own stream already had in a
zone, with no ``exited`` between. edge/peers had two places where the service itself spoke an
engine's zone as a plain ``entered`` while this gateway's own last word was another zone's
``entered`` (the first one traced this round, twice on doors seed 4 with the grid, shoppers walking
in whose new owner's grid had them in the far end zone: benchmarks/multi_gateway_words.py):

- **said ahead, never agreed**: a new owner said the previous owner's last zone, one of its own,
  ahead of its engine (``peers_handoffs_ahead``); its engine had the shopper in another zone and
  never got there within ``AGREE_S``; the new owner then said that other zone's ``entered`` alone;
- **given back**: the arbitration moved the shopper away and back before anyone else spoke; its
  engine had moved meanwhile (its events held back), and the gateway said the new zone's
  ``entered`` alone, its last word still the old zone.

Now both say the exit of the zone said before the entry of the engine's, as an engine does itself.
An engine's own events cannot do this (each engine exits a zone before it enters another), so these
were the only ways. Played on gw-2's real core, pipeline and SQLite outbox (a manual clock drives
its engine), its peers service connected to a real mosquitto; gw-3 is a paho client
(tests/peers_replay.py). Both cases fail on the old code.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from edge import events as ev
from edge.peers import messages
from edge.peers.messages import Claim, HandingOn
from edge.peers.timing import AGREE_S
from edge.presence import Sighting, Sightings
from tests.mosquitto import Mosquitto
from tests.peers_replay import TOKEN, Gw2, Gw3, gw2_and_gw3, until

LOUD_DBM = -60
"""A scanner beside the shopper."""
FAR_DBM = -80
"""A neighbouring zone's scanner (edge.sim.multi: about -80 dBm between neighbours)."""
AT_Z2 = {"gw-2-s": LOUD_DBM, "gw-3-s": FAR_DBM}
AT_Z3 = {"gw-3-s": LOUD_DBM, "gw-2-s": FAR_DBM}


def duplicates(said: list[tuple[str, object, object]]) -> int:
    """How often a stream says ``entered`` (no ``from_gateway``: not a hand-off) while its last word
    is still an ``entered``: the benchmark's duplicate ``entered`` (tests/test_multi_gateway.py)."""
    inside, found = False, 0
    for kind, _zone, origin in said:
        if kind == ev.PRESENCE_ENTERED and inside and origin is None:
            found += 1
        inside = kind == ev.PRESENCE_ENTERED
    return found


async def hears(gw2: Gw2, seconds: float, levels: dict[str, int]) -> None:
    """gw-2's engine hears the shopper every 0.2 s for ``seconds`` (engine time) at ``levels`` (scanner
    -> dBm); ``gw-2-s`` is gw-2's own scanner (the core tells the service so of each own advert)."""
    now, until = gw2.clock.now(), gw2.clock.now() + seconds
    while now < until - 1e-9:
        now = round(now + 0.2, 3)
        gw2.clock.advance(now - gw2.clock.now())
        sightings = tuple(Sighting(TOKEN, "ibeacon", scanner, rssi, -59.0, now) for scanner, rssi in levels.items())
        for sighting in sightings:
            if sighting.scanner == "gw-2-s":
                gw2.peers.sighted(sighting)
        await gw2.pipeline.deliver(Sightings(now, sightings))
        await gw2.ticks()
        gw2.peers._nudge.set()  # the hand-over loop looks after each step
        await asyncio.sleep(0.02)


async def gw3_owns_gw2_hears(gw2: Gw2, gw3: Gw3, levels: dict[str, int], zone: str) -> None:
    """gw-3 claims the shopper in its z3 and owns them; then gw-2's engine hears them 2 s at ``levels`` and places
    them in ``zone``."""
    gw3.claims("z3")
    await until(lambda: gw2.peers.arbiter.owner(TOKEN) == "gw-3", "gw-3 owns the shopper")
    await hears(gw2, 2.0, levels)
    assert gw2.core.zone_of(TOKEN) == zone


async def evaluated(gw2: Gw2, scores: dict[str, float], times: int) -> None:
    """The real arbitration evaluates ``times`` more slots with these scores (gateway -> dBm), and gw-2
    applies its changes (the service's slot loop, without its clock)."""
    peers = gw2.peers
    for _ in range(times):
        slot = max(peers.arbiter.evaluated + 1, int(gw2.clock.now()))
        for gateway, score in scores.items():
            peers.arbiter.add(slot, gateway, {TOKEN: score})
        for change in peers.arbiter.evaluate(slot, {"gw-2"} | peers.alive):
            await peers._apply(change, gw2.clock.now())


async def test_said_ahead_and_never_agreed_exits_before_it_enters(mosquitto_server: Mosquitto, tmp_path: Path) -> None:
    async with gw2_and_gw3(mosquitto_server, tmp_path) as (gw2, gw3):
        peers = gw2.peers
        await gw3_owns_gw2_hears(gw2, gw3, AT_Z3, "z3")
        # gw-3's engine placed the shopper in z2, gw-2's only zone: gw-3 hands them on at once (its
        # claim naming z2 and gw-2), then clears its claim once its words are out.
        topic = gw3.topics.owner(TOKEN)
        gw3.publish(topic, messages.encoder.encode(HandingOn(TOKEN, "gw-3", 1, "z2", hand="gw-2")))
        await until(lambda: peers.arbiter.owner(TOKEN) == "gw-2", "the hand")
        gw3.publish(topic, b"")
        # gw-2 says z2 ahead of its engine, which still has the shopper in z3.
        await until(lambda: gw2.presence() != [], "gw-2 speaks")
        assert gw2.presence() == [(ev.PRESENCE_ENTERED, "z2", "gw-3")]
        assert peers.health()["peers_handoffs_ahead"] == 1
        # Its engine never gets to z2 (the grid may keep a shopper in another zone for seconds).
        await hears(gw2, AGREE_S + 0.4, AT_Z3)
        await until(lambda: len(gw2.presence()) > 1, "gw-2 says what its engine says")
        # The old code said entered z3 here, with z2 never exited: a second entered in one visit.
        assert gw2.presence() == [
            (ev.PRESENCE_ENTERED, "z2", "gw-3"),
            (ev.PRESENCE_EXITED, "z2", None),
            (ev.PRESENCE_ENTERED, "z3", None),
        ]
        assert duplicates(gw2.presence()) == 0
        assert peers.health()["peers_handoffs_unagreed"] == 1
        assert peers.claims.mine[TOKEN] == Claim(TOKEN, "gw-2", 2, "z3")
        # From here on its engine speaks: it walks back into z2, said plainly.
        await hears(gw2, 3.0, AT_Z2)
        assert gw2.presence()[3:] == [(ev.PRESENCE_EXITED, "z3", None), (ev.PRESENCE_ENTERED, "z2", None)]
        assert duplicates(gw2.presence()) == 0


async def test_given_back_after_its_engine_moved_exits_before_it_enters(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    async with gw2_and_gw3(mosquitto_server, tmp_path) as (gw2, _gw3):
        peers = gw2.peers
        await hears(gw2, 2.0, AT_Z2)
        await evaluated(gw2, {"gw-2": LOUD_DBM, "gw-3": FAR_DBM}, 1)  # nobody owned it: the loudest
        assert gw2.presence() == [(ev.PRESENCE_ENTERED, "z2", None)]
        # gw-3 leads by 20 dB twice (the window is 2 slots: from the second evaluation on): the
        # shopper moves to gw-3, which does not speak yet (it waits for gw-2's clear and its own
        # engine). gw-2 falls silent; its engine moves to z3.
        await evaluated(gw2, {"gw-2": FAR_DBM, "gw-3": LOUD_DBM}, 3)
        assert peers.arbiter.owner(TOKEN) == "gw-3"
        await hears(gw2, 3.0, AT_Z3)
        assert gw2.core.zone_of(TOKEN) == "z3"
        assert gw2.presence() == [(ev.PRESENCE_ENTERED, "z2", None)]  # its engine's words held back
        # gw-2 leads again before gw-3 said anything: given back, its last word (z2) stands.
        await evaluated(gw2, {"gw-2": LOUD_DBM, "gw-3": FAR_DBM}, 3)
        assert peers.arbiter.owner(TOKEN) == "gw-2"
        await until(lambda: len(gw2.presence()) > 1, "gw-2 says what its engine did")
        # The old code said entered z3 alone: z2 never exited, a second entered in one visit.
        assert gw2.presence() == [
            (ev.PRESENCE_ENTERED, "z2", None),
            (ev.PRESENCE_EXITED, "z2", None),
            (ev.PRESENCE_ENTERED, "z3", None),
        ]
        assert duplicates(gw2.presence()) == 0
        assert peers.claims.mine[TOKEN].zone == "z3"
