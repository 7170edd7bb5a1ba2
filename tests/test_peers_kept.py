"""A frozen owner's last word is kept while nobody can hear its zone (issue 18, session 32).

A box frozen for seconds (SIGSTOP: its storage or swap stalled it) keeps its connection: no will comes, its
summaries stop, and the arbitration gives its shoppers to the loudest other gateway (``silent``). Where the
frozen box's last word placed a shopper in a zone only its own scanners cover, the new owner cannot hear whether
they are still there: its engine's exit (the silence of a zone it hears only through the frozen box) used to be
said after ``AGREE_S``, and the box, coming back with the shopper where they were, took them back and said the
entry again -- one exit / enter pair per standing shopper (doors seed 3, gw-2 frozen 15 s: 21.8 spurious changes
per shopper-hour). Now the new owner claims the shopper keeping that word (its claim names the frozen box as the
CDP's last speaker, ``said_by``) and says nothing, until:

- the box speaks again and the arbitration gives the shopper back: nothing at all was said (the box's own last
  word stands: ``speech.gained``, given back);
- the box speaks again and ``AGREE_S`` passes without that: what the engine says, as a new owner (the exit,
  ``from_gateway`` the box);
- its engine places the shopper in another zone: that entry, ``from_gateway`` the box;
- the box is gone (its will): nobody will hear that zone, so the exit.

Played on gw-2's real core, pipeline and SQLite outbox on a manual clock, its peers service on a real mosquitto;
gw-3 is a paho client with a last will (tests/peers_replay.py); the arbitration's changes are the real rule's
kinds, applied as its slot loop would.
"""

from __future__ import annotations

from pathlib import Path

from edge import events as ev
from edge.peers import messages
from edge.peers.arbitration import Change
from edge.peers.messages import Claim
from edge.peers.timing import AGREE_S
from edge.peers.topics import PeerTopics
from tests.mosquitto import Mosquitto
from tests.peers_replay import TOKEN, Gw2, Gw3, gw2_and_gw3, until
from tests.test_peers_duplicate_entered import AT_Z2, AT_Z3, gw3_owns_gw2_hears, hears

KEPT = Claim(TOKEN, "gw-2", 2, "z3", said_by="gw-3")
"""gw-2's claim while it keeps gw-3's last word (gw-3 claimed at epoch 1)."""


async def frozen_owner(gw2: Gw2, gw3: Gw3) -> None:
    """gw-3 owns the shopper standing in z3 (its only scanner ``gw-3-s``), gw-2's engine has them there through
    gw-3's summaries; then gw-3's summaries stop and the arbitration moves the shopper to gw-2 (``silent``)."""
    peers = gw2.peers
    peers.coverage.heard_by("gw-3", ["gw-3-s"])  # its summaries carried z3's scanner
    await gw3_owns_gw2_hears(gw2, gw3, AT_Z3, "z3")
    slot = peers.arbiter.evaluated + 10  # gw-3's last summary is 10 slots old: it is silent
    peers.arbiter.add(slot, "gw-2", {TOKEN: -80.0})
    assert peers.arbiter.evaluate(slot, {"gw-2", "gw-3"}) == [Change(TOKEN, "gw-3", "gw-2", 2, "silent")]
    await peers._apply(Change(TOKEN, "gw-3", "gw-2", 2, "silent"), gw2.clock.now())
    assert peers.claims.mine[TOKEN] == KEPT
    assert peers.health()["peers_handoffs_kept"] == 1


async def gw3_speaks_again(gw2: Gw2) -> None:
    """gw-3's summaries come again (the box resumed)."""
    arbiter = gw2.peers.arbiter
    arbiter.add(arbiter.evaluated + 1, "gw-3", {TOKEN: -60.0})
    arbiter.evaluate(arbiter.evaluated + 1, {"gw-2", "gw-3"})
    assert arbiter.speaks("gw-3")


async def test_given_back_after_the_freeze_nothing_is_said(mosquitto_server: Mosquitto, tmp_path: Path) -> None:
    async with gw2_and_gw3(mosquitto_server, tmp_path) as (gw2, gw3):
        await frozen_owner(gw2, gw3)
        # Its engine no longer hears z3 (gw-3 is frozen): it lets the shopper go, the old code's words.
        await gw2.waits(AGREE_S + 8.0)
        assert gw2.core.zone_of(TOKEN) is None
        assert gw2.presence() == []
        # gw-3 resumes, hears the shopper where they were, and is handed them back.
        await gw3_speaks_again(gw2)
        await gw2.peers._apply(Change(TOKEN, "gw-2", "gw-3", 3, "hand"), gw2.clock.now())
        await gw2.waits(AGREE_S + 1.0)
        assert gw2.presence() == []
        assert TOKEN not in gw2.peers.handovers.kept


async def test_back_but_not_given_back_the_exit_is_said_after_agree_s(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    async with gw2_and_gw3(mosquitto_server, tmp_path) as (gw2, gw3):
        await frozen_owner(gw2, gw3)
        await gw2.waits(AGREE_S + 8.0)
        await gw3_speaks_again(gw2)  # ... without the shopper: they left while it was frozen
        await gw2.waits(AGREE_S / 2)
        assert gw2.presence() == []
        await gw2.waits(AGREE_S)
        await until(lambda: gw2.presence() != [], "gw-2 says the exit")
        assert gw2.presence() == [(ev.PRESENCE_EXITED, "z3", "gw-3")]
        assert gw2.peers.claims.mine[TOKEN] == Claim(TOKEN, "gw-2", 2, None)


async def test_heard_in_another_zone_that_entry_is_said(mosquitto_server: Mosquitto, tmp_path: Path) -> None:
    async with gw2_and_gw3(mosquitto_server, tmp_path) as (gw2, gw3):
        await frozen_owner(gw2, gw3)
        await hears(gw2, 3.0, AT_Z2)  # the shopper walks into gw-2's own zone
        await until(lambda: gw2.presence() != [], "gw-2 says the entry")
        assert gw2.presence() == [(ev.PRESENCE_ENTERED, "z2", "gw-3")]
        assert gw2.peers.claims.mine[TOKEN] == Claim(TOKEN, "gw-2", 2, "z2")


async def test_the_frozen_owners_will_the_exit_is_said(mosquitto_server: Mosquitto, tmp_path: Path) -> None:
    async with gw2_and_gw3(mosquitto_server, tmp_path) as (gw2, gw3):
        await frozen_owner(gw2, gw3)
        await gw2.waits(AGREE_S + 8.0)  # (its will comes 45 s after the freeze: its engine let the shopper go)
        assert gw2.presence() == []
        gw3.dies()  # the broker's keep-alive ran out: its will
        await until(lambda: "gw-3" not in gw2.peers.alive, "gw-3's will")
        await gw2.waits(1.0)
        await until(lambda: gw2.presence() != [], "gw-2 says the exit")
        assert gw2.presence() == [(ev.PRESENCE_EXITED, "z3", "gw-3")]


async def test_a_kept_word_moves_on_with_the_shopper(mosquitto_server: Mosquitto, tmp_path: Path) -> None:
    """Row seed 4 with gw-2 frozen (session 32): gw-1 kept gw-2's word for a shopper in z2, a louder gw-3 took the
    shopper from gw-1, and -- the keep asked only of a ``silent`` move -- waited ``AGREE_S`` and said z2's exit.
    Here gw-3 is the keeper of frozen gw-1's word (z1, only gw-1's scanner) and gw-2 takes the shopper from it
    (``lead``): gw-2 keeps gw-1's word too, and says nothing."""
    async with gw2_and_gw3(mosquitto_server, tmp_path) as (gw2, gw3):
        peers = gw2.peers
        gw1 = PeerTopics(gw3.topics.prefix, "store-1", "gw-1")
        gw3.publish(gw1.state(), messages.state_payload("gw-1", "online"))  # alive, its summaries stopped
        await until(lambda: "gw-1" in peers.alive, "gw-1 online")
        peers.coverage.heard_by("gw-1", ["gw-1-s"])
        gw3.publish(gw3.topics.owner(TOKEN), messages.encoder.encode(Claim(TOKEN, "gw-3", 3, "z1", said_by="gw-1")))
        await until(lambda: peers.arbiter.owner(TOKEN) == "gw-3", "gw-3 keeps the shopper")
        await peers._apply(Change(TOKEN, "gw-3", "gw-2", 4, "lead"), gw2.clock.now())
        assert peers.claims.mine[TOKEN] == Claim(TOKEN, "gw-2", 4, "z1", said_by="gw-1")
        assert peers.handovers.kept[TOKEN].peer == "gw-1"
        await gw2.waits(AGREE_S + 2.0)
        assert gw2.presence() == []


async def test_a_live_hand_off_still_waits_for_the_previous_owners_clear(
    mosquitto_server: Mosquitto, tmp_path: Path
) -> None:
    """The keep's ``Handover.via`` first counted "nobody cleared" as the clear of a hand-off with no keeper
    (``None in (peer, None)``): a new owner spoke before the previous owner's last words were out, and the CDP got
    them in the wrong order (tests/test_multi_gateway.py failed in CI and beside two busy loops). gw-3, speaking,
    loses the shopper to gw-2 (``lead``), whose engine has them in its own z2: gw-2 says nothing until gw-3's
    clear."""
    async with gw2_and_gw3(mosquitto_server, tmp_path) as (gw2, gw3):
        peers = gw2.peers
        await gw3_owns_gw2_hears(gw2, gw3, AT_Z2, "z2")
        await peers._apply(Change(TOKEN, "gw-3", "gw-2", 2, "lead"), gw2.clock.now())
        await gw2.waits(1.0)
        assert gw2.presence() == []  # gw-3 may still say its last words
        gw3.publish(gw3.topics.owner(TOKEN), b"")
        await until(lambda: gw2.presence() != [], "gw-2 speaks on the clear")
        assert gw2.presence() == [(ev.PRESENCE_ENTERED, "z2", "gw-3")]
