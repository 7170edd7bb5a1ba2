"""A claim names the gateway the CDP last heard of a shopper from (issue 18, session 32).

An ``entered`` with ``from_gateway`` tells the CDP that this gateway's stream continues the named one's. A
gateway can own a shopper without ever speaking for them: given them while its engine agreed with the previous
owner's last word ("no zone": the previous owner had said their exit), it claims in silence. Handing such a
shopper on, the next owner's ``entered`` used to name it anyway: doors seed 5 with gw-2 frozen 50 s, gw-2 resumed
with two shoppers in z2 (where they were) and said ``entered`` z2 "from gw-1", which had taken them in silence
from gw-3 meanwhile; the CDP had last heard of them from gw-3 (their exit of z3) and never from gw-1, so the judge
counted two moments with two speakers. Now a claim made in silence names the CDP's last speaker (``said_by``),
the next owner's words name that gateway, and the owner's own first word drops it.

(Dropping ``from_gateway`` when the previous claim names no zone, tried first, lost the hint that orders a
previous owner's exit before the next owner's entry stamped a moment earlier: doors seed 3's CDP then had a
shopper in no zone for 29 s.)

Played on gw-2's real core, pipeline and outbox (tests/peers_replay.py), gw-3 a paho client on a real mosquitto.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from edge import events as ev
from edge.peers import messages
from edge.peers.messages import Claim, HandingOn
from edge.peers.timing import AGREE_S
from tests.mosquitto import Mosquitto
from tests.peers_replay import TOKEN, gw2_and_gw3, until
from tests.test_peers_duplicate_entered import AT_Z2, hears


@pytest.mark.parametrize(
    ("last_zone", "said_by", "named"),
    [(None, msgspec.UNSET, "gw-3"), (None, "gw-1", "gw-1"), ("z3", msgspec.UNSET, "gw-3")],
)
async def test_an_entry_names_the_cdps_last_speaker(
    mosquitto_server: Mosquitto, tmp_path: Path, last_zone: str | None, said_by: str, named: str
) -> None:
    async with gw2_and_gw3(mosquitto_server, tmp_path) as (gw2, gw3):
        peers = gw2.peers
        gw3.claims(last_zone)
        await until(lambda: peers.arbiter.owner(TOKEN) == "gw-3", "gw-3 owns the shopper")
        # The shopper stands in z2, gw-2's zone: its engine has them there, its words held back.
        await hears(gw2, 2.0, AT_Z2)
        assert gw2.core.zone_of(TOKEN) == "z2"
        assert gw2.presence() == []
        # gw-3 hands them on (its claim naming gw-2 and, if it never spoke, the last speaker), then clears it.
        topic = gw3.topics.owner(TOKEN)
        hand = HandingOn(TOKEN, "gw-3", 1, last_zone, said_by=said_by, hand="gw-2")
        gw3.publish(topic, messages.encoder.encode(hand))
        await until(lambda: peers.arbiter.owner(TOKEN) == "gw-2", "the hand")
        gw3.publish(topic, b"")
        await until(lambda: gw2.presence() != [], "gw-2 speaks")
        assert gw2.presence() == [(ev.PRESENCE_ENTERED, "z2", named)]
        assert peers.claims.mine[TOKEN] == Claim(TOKEN, "gw-2", 2, "z2")


async def test_a_claim_made_in_silence_names_the_last_speaker_until_the_owner_speaks(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    async with gw2_and_gw3(mosquitto_server, tmp_path) as (gw2, gw3):
        peers = gw2.peers
        gw3.claims(None)  # gw-3 said the shopper's exit
        await until(lambda: peers.arbiter.owner(TOKEN) == "gw-3", "gw-3 owns the shopper")
        topic = gw3.topics.owner(TOKEN)
        gw3.publish(topic, messages.encoder.encode(HandingOn(TOKEN, "gw-3", 1, None, hand="gw-2")))
        await until(lambda: peers.arbiter.owner(TOKEN) == "gw-2", "the hand")
        gw3.publish(topic, b"")
        # gw-2's engine has the shopper in no zone either: it claims in silence, gw-3 still the last speaker.
        await until(lambda: TOKEN in peers.claims.mine, "gw-2 claims")
        assert peers.claims.mine[TOKEN] == Claim(TOKEN, "gw-2", 2, None, said_by="gw-3")
        await gw2.waits(AGREE_S)
        assert gw2.presence() == []
        # Its engine places the shopper in z2: its own word, and the claim names it from now on.
        await hears(gw2, 3.0, AT_Z2)
        assert gw2.presence() == [(ev.PRESENCE_ENTERED, "z2", None)]
        assert peers.claims.mine[TOKEN] == Claim(TOKEN, "gw-2", 2, "z2")
