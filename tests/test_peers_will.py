"""A takeover on a dead (or stopped) owner's last will keeps that owner's last word (issue 18).

Doors seed 6 of benchmarks/multi_gateway.py, the run's end (docs/multi-gateway.md): gw-3, the owner,
sent ``exited`` z3 (its retained claim then named no zone) and went offline; gw-2 took its shoppers
over on the will at once and, its engine still placing the shopper in z3 (the peer's samples reach
it a second late), sent ``entered`` z3 with ``from_gateway: gw-3``, then ``exited`` z3: a spurious
visit upstream. Now the new owner reads the dead owner's last claim as the last word, as a live
hand-off reads the cleared claim: it speaks once its engine agrees (here: silently, "no zone").

Played on gw-2's real core, pipeline and SQLite outbox with a manual clock (the engine's time), its
peers service connected to a real mosquitto; gw-3 is a paho client with gw-3's last will.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from edge import events as ev
from edge.peers.messages import Claim
from edge.peers.takeover import start
from edge.peers.timing import AGREE_S
from tests.mosquitto import Mosquitto, retained
from tests.peers_replay import START, TOKEN, Gw2, Gw3, until

LAST_SAMPLE_TO_WILL_S = 3.0
"""From the shopper's last sample (walking out of the door) to gw-3's will. gw-2's engine exits z3
6.25 s after the last sample (the zone's 6 s exit timeout, ticked): still in z3 at the takeover, out
of it 3.25 s later, within AGREE_S."""


async def _seed6(mosquitto_server: Mosquitto, tmp_path: Path, gone: str, last_zone: str | None) -> tuple[Gw2, Gw3]:
    """gw-3 owns the shopper and last said ``last_zone``; gw-2's engine has them in z3; gw-3 goes."""
    gw2 = Gw2(mosquitto_server, tmp_path)
    await gw2.__aenter__()
    gw3 = Gw3(mosquitto_server, gw2.multi)
    peers = gw2.peers
    gw3.claims("z3")
    await until(lambda: "gw-3" in peers.alive and peers.arbiter.owner(TOKEN) == "gw-3", "gw-3 owns the shopper")
    await gw2.hears(START + 2.0, z3_rssi=-60)
    assert gw2.core.zone_of(TOKEN) == "z3"
    assert gw2.presence() == []  # gw-3 speaks for the shopper, not gw-2
    await gw2.waits(LAST_SAMPLE_TO_WILL_S)
    assert gw2.core.zone_of(TOKEN) == "z3"
    gw3.claims(last_zone)  # its last word (its exited z3, or still z3)
    await until(lambda: peers.claims.seen[TOKEN].zone == last_zone, "gw-3's last claim")
    gw3.dies() if gone == "killed" else gw3.stops()
    await until(lambda: "gw-3" not in peers.alive, "gw-3's offline state")
    return gw2, gw3


@pytest.mark.parametrize("gone", ["killed", "stopped"])
async def test_a_takeover_on_the_will_says_no_zone_change_the_cdp_did_not_need(
    mosquitto_server: Mosquitto, tmp_path: Path, gone: str
) -> None:
    gw2, gw3 = await _seed6(mosquitto_server, tmp_path, gone, last_zone=None)
    try:
        peers = gw2.peers
        await gw2.takes_over()
        # Its engine still has the shopper in z3 (the peer's samples late); the last word is "no
        # zone": nothing is said yet (the old code sent entered z3 from gw-3 here, exited z3 after).
        assert gw2.core.zone_of(TOKEN) == "z3"
        assert gw2.presence() == []
        await gw2.waits(AGREE_S)
        assert gw2.core.zone_of(TOKEN) is None  # its engine exited z3 (no sample since)
        await until(lambda: TOKEN in peers.claims.mine, "gw-2's claim")
        assert gw2.presence() == []  # agreed with the last word: claimed silently
        assert peers.health()["peers_handoffs_unagreed"] == 0
        # claimed silently: the CDP last heard of the shopper from gw-3 (session 32: `said_by`)
        assert peers.claims.mine[TOKEN] == Claim(TOKEN, "gw-2", 2, None, said_by="gw-3")
        claims = await asyncio.to_thread(retained, mosquitto_server, "store-local/v1/store-1/gw-2/owner/#")
        assert [json.loads(m.payload) for m in claims] == [
            {"token": TOKEN, "owner": "gw-2", "epoch": 2, "zone": None, "said_by": "gw-3"}
        ]
    finally:
        gw3.close()
        await gw2.__aexit__(None, None, None)


async def test_a_takeover_on_the_will_that_agrees_names_the_dead_owner_at_once(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    """The kill -9 case of tests/test_multi_gateway_faults.py: the dead owner last said z3, where the
    new owner's engine has the shopper too: one ``entered`` z3 from gw-3, at once."""
    gw2, gw3 = await _seed6(mosquitto_server, tmp_path, "killed", last_zone="z3")
    try:
        await gw2.takes_over()
        await until(lambda: gw2.presence() != [], "gw-2 speaks")
        assert gw2.presence() == [(ev.PRESENCE_ENTERED, "z3", "gw-3")]
        assert gw2.peers.claims.mine[TOKEN] == Claim(TOKEN, "gw-2", 2, "z3")
    finally:
        gw3.close()
        await gw2.__aexit__(None, None, None)


def test_who_speaks_at_once() -> None:
    """The start of a takeover (edge/peers/takeover.py): only a gateway without a previous owner, given
    its own shopper back, standalone, or without the dead owner's last claim speaks at once."""
    claim = Claim(TOKEN, "gw-3", 1, None)
    alive = {"gw-1"}
    assert start("gw-2", None, None, alive, True).at_once  # nobody owned it
    assert start("gw-2", "gw-3", Claim(TOKEN, "gw-2", 1, "z2"), alive, True).at_once  # its own, given back
    assert start("gw-2", "gw-3", claim, alive, False).at_once  # standalone
    assert start("gw-2", "gw-3", None, alive, True).at_once  # gone, its last word unknown
    live = start("gw-2", "gw-3", claim, {"gw-3"}, True)
    assert (live.at_once, live.silent) == (False, False)  # a hand-off: waits for the clear
    dead = start("gw-2", "gw-3", claim, alive, True)
    assert (dead.speaker, dead.at_once, dead.silent) == ("gw-3", False, True)  # its will: the claim speaks
