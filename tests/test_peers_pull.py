"""The next zone's gateway pulls a shopper whose owner's stream says no zone (issue 18, session 22).

Traced on doors seed 6's third hand-off (``benchmarks/multi_gateway.py --only accuracy --walks doors --seeds 6
--seconds 180 --timelines 5``, docs/multi-gateway.md, "Doors seed 6's third hand-off"): shopper-0001 walks from
z1 (gw-1's scanner) into z2 (gw-2's, 7 m on). gw-1 owns them; its engine hears z2's scanner through gw-2's
summaries, a second late, so it leaves z1 (``exited``: its claim says no zone) and enters z2 only 2.7-4.5 s after
the true entry, run to run; gw-2's engine, hearing z2 first-hand, has them in z2 at 3.0-3.6 s (offline, as
``edge run`` feeds the engines, over the slot phases). Only the owner's engine handed on, and the loudness (gw-2
4.75 dB louder at slot 822) needs its margin twice: the CDP heard z2 from the owner's engine, up to a second after
gw-2's knew.

Now gw-2's summaries (its early part sent at once) hand the shopper to itself -- a pull -- and gw-1, whose stream
last said no zone, hands them to gw-2 at once (its claim naming gw-2, then its clear), as it would on its own
engine's ``entered`` z2. The owner alone moves its shoppers: a pull is never applied by anyone else.
"""

from __future__ import annotations

from edge.peers.arbitration import Arbiter
from edge.peers.pull import honoured, pulls
from edge.peers.summary import Hand, Slot, decode, encode
from edge.presence import Sighting

ALIVE = {"gw-1", "gw-2", "gw-3"}
TOKEN = "shopper-0001"
SLOT = 1_796_226_822
"""The traced slot: gw-1's claim said no zone from just after its end, gw-2's engine entered z2 early in the next."""


def _owned_by_gw1() -> Arbiter:
    """Every gateway's arbiter: gw-1 has owned the shopper since they came in through z1's door; at the traced
    slot gw-2 leads by 4.75 dB over the window (-71.5 against -76.25 dBm), once: not yet a move."""
    arbiter = Arbiter()
    arbiter.add(SLOT - 2, "gw-1", {TOKEN: -65.0})
    arbiter.add(SLOT - 2, "gw-2", {TOKEN: -78.0})
    arbiter.add(SLOT - 2, "gw-3", {TOKEN: -86.0})
    assert [(c.new, c.why) for c in arbiter.evaluate(SLOT - 2, ALIVE)] == [("gw-1", "new")]
    for slot, levels in ((SLOT - 1, (-74.5, -72.0, -83.0)), (SLOT, (-78.0, -71.0, -74.0))):
        for gateway, level in zip(("gw-1", "gw-2", "gw-3"), levels, strict=True):
            arbiter.add(slot, gateway, {TOKEN: level})
        assert arbiter.evaluate(slot, ALIVE) == []
    return arbiter


def test_the_next_zones_gateway_pulls_and_the_owner_whose_stream_says_no_zone_hands_on_at_once() -> None:
    arbiters = {gateway: _owned_by_gw1() for gateway in ALIVE}
    # gw-2's engine enters z2, one of its own zones: it pulls (its early part goes at once, carrying the hand).
    assert pulls("gw-2", arbiters["gw-2"].owner(TOKEN), "z2", {"z2"}, ALIVE - {"gw-2"})
    part = Slot("gw-2")
    part.add(Sighting(TOKEN, "ibeacon", "gw-2-s", -67, -59.0, SLOT + 1.26))
    early = decode(encode(part.peek(SLOT + 1, (Hand(TOKEN, "gw-2"),))), peer="gw-2")
    assert early.early
    assert early.hands == (Hand(TOKEN, "gw-2"),)
    heard = TOKEN in {entry.token for entry in early.tokens}
    # gw-1, the owner, last said no zone (its ``exited`` z1): it hands the shopper to gw-2 at once ...
    gw1 = arbiters["gw-1"]
    assert honoured("gw-1", gw1.owner(TOKEN), None, True, False, "gw-2", ALIVE - {"gw-1"}, heard)
    epoch = gw1.epoch(TOKEN)
    # ... by its claim naming gw-2, which every gateway applies (Arbiter.hand), itself first.
    for arbiter in arbiters.values():
        change = arbiter.hand(TOKEN, "gw-1", epoch, "gw-2")
        assert change is not None
        assert (change.old, change.new, change.why) == ("gw-1", "gw-2", "at_once")
    assert {arbiter.owner(TOKEN) for arbiter in arbiters.values()} == {"gw-2"}


def test_nobody_but_the_owner_acts_on_a_pull_and_the_owner_only_while_its_stream_says_no_zone() -> None:
    arbiter = _owned_by_gw1()
    others = ALIVE - {"gw-1"}
    assert not honoured("gw-1", arbiter.owner(TOKEN), "z1", True, False, "gw-2", others, True)  # it keeps them
    assert not honoured("gw-1", arbiter.owner(TOKEN), "z2", True, False, "gw-2", others, True)  # hands on itself
    assert not honoured("gw-3", arbiter.owner(TOKEN), None, True, False, "gw-2", ALIVE - {"gw-3"}, True)
    assert not honoured("gw-1", arbiter.owner(TOKEN), None, False, False, "gw-2", others, True)  # no claim held
    assert not honoured("gw-1", arbiter.owner(TOKEN), None, True, True, "gw-2", others, True)  # taking them over
    assert not honoured("gw-1", arbiter.owner(TOKEN), None, True, False, "gw-2", {"gw-3"}, True)  # gw-2 gone
    assert not honoured("gw-1", arbiter.owner(TOKEN), None, True, False, "gw-2", others, False)  # not heard
    assert not honoured("gw-1", arbiter.owner(TOKEN), None, True, False, "gw-1", others, True)  # its own
    # A pull not honoured moves nobody: the loudness still needs its margin twice.
    assert arbiter.owner(TOKEN) == "gw-1"


def test_a_gateway_pulls_only_another_alive_gateways_shopper_into_one_of_its_own_zones() -> None:
    alive = {"gw-1", "gw-3"}
    assert pulls("gw-2", "gw-1", "z2", {"z2"}, alive)
    assert not pulls("gw-2", "gw-2", "z2", {"z2"}, alive)  # its own shopper: it keeps them
    assert not pulls("gw-2", None, "z2", {"z2"}, alive)  # nobody owns them: the loudest takes them
    assert not pulls("gw-2", "gw-1", "z1", {"z2"}, alive)  # another gateway's zone: heard late
    assert not pulls("gw-2", "gw-1", None, {"z2"}, alive)
    assert not pulls("gw-2", "gw-1", "z2", {"z2"}, {"gw-3"})  # the owner is gone: its will moves them
