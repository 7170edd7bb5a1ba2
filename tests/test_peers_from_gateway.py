"""``from_gateway`` names a previous owner only when the gain ends a presence of its (issue 18).

An ``entered`` with ``from_gateway`` tells the CDP that this gateway's stream continues the named
one's: the named gateway's zone ends there. A gateway can own a shopper in no zone (its last word an
exit, or it never spoke: it took them while they were out of every zone it hears); its claim then
names no zone. Handing such a shopper on, the new owner's ``entered`` used to name it anyway: doors
seed 5 with gw-2 frozen 50 s, gw-2 resumed with two shoppers in z2 (where they were) and said
``entered`` z2 "from gw-1", which had taken them silently from gw-3 meanwhile; the CDP had last heard
of them from gw-3 (their exit of z3) and never from gw-1, so the judge counted two moments with two
speakers. Now that entry is a plain one; a previous owner whose claim names a zone is still named.

Played on gw-2's real core, pipeline and outbox (tests/peers_replay.py), gw-3 a paho client on a
real mosquitto; fails on the old code for the zone-less claim.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edge import events as ev
from edge.peers import messages
from edge.peers.messages import HandingOn
from tests.mosquitto import Mosquitto
from tests.peers_replay import TOKEN, Gw2, Gw3, until
from tests.test_peers_duplicate_entered import AT_Z2, hears


@pytest.mark.parametrize(("last_zone", "named"), [(None, None), ("z3", "gw-3")])
async def test_an_entry_names_the_previous_owner_only_if_it_had_the_shopper_in_a_zone(
    mosquitto_server: Mosquitto, tmp_path: Path, last_zone: str | None, named: str | None
) -> None:
    gw2 = Gw2(mosquitto_server, tmp_path)
    await gw2.__aenter__()
    gw3 = Gw3(mosquitto_server, gw2.multi)
    try:
        peers = gw2.peers
        await until(lambda: "gw-3" in peers.alive, "gw-3 online")
        gw3.claims(last_zone)
        await until(lambda: peers.arbiter.owner(TOKEN) == "gw-3", "gw-3 owns the shopper")
        # The shopper stands in z2, gw-2's zone: its engine has them there, its words held back.
        await hears(gw2, 2.0, AT_Z2)
        assert gw2.core.zone_of(TOKEN) == "z2"
        assert gw2.presence() == []
        # gw-3 hands them on (its claim naming gw-2), then clears its claim.
        topic = gw3.topics.owner(TOKEN)
        gw3.publish(topic, messages.encoder.encode(HandingOn(TOKEN, "gw-3", 1, last_zone, hand="gw-2")))
        await until(lambda: peers.arbiter.owner(TOKEN) == "gw-2", "the hand")
        gw3.publish(topic, b"")
        await until(lambda: gw2.presence() != [], "gw-2 speaks")
        assert gw2.presence() == [(ev.PRESENCE_ENTERED, "z2", named)]
    finally:
        gw3.close()
        await gw2.__aexit__(None, None, None)
