"""edge.peers.coverage: which gateway's scanners cover which zone (own zones, the one peer of a zone)."""

from __future__ import annotations

from edge.config import ZoneConfig
from edge.peers.coverage import Coverage

ZONES = (
    ZoneConfig(id="baby", scanners=("s1",)),
    ZoneConfig(id="wine", scanners=("s2",)),
    ZoneConfig(id="aisle", scanners=("s2", "s3")),
)


def test_own_scanners_make_own_zones_and_never_a_peers() -> None:
    coverage = Coverage(lambda: ZONES)
    coverage.heard_own("s1")
    coverage.heard_by("gw-2", ["s1", "s2", "unzoned"])
    assert coverage.own_zones() == {"baby"}
    assert coverage.scanner_of == {"s2": "gw-2"}  # s1 is this gateway's own; "unzoned" covers no zone
    assert coverage.only_peer("baby") is None  # one of this gateway's own zones
    assert coverage.only_peer("wine") == "gw-2"


def test_a_zone_of_several_peers_or_none_has_no_only_peer() -> None:
    coverage = Coverage(lambda: ZONES)
    assert coverage.only_peer("aisle") is None  # nobody's yet
    coverage.heard_by("gw-2", ["s2"])
    assert coverage.only_peer("aisle") == "gw-2"  # s3 unheard: gw-2's alone
    coverage.heard_by("gw-3", ["s3"])
    assert coverage.only_peer("aisle") is None  # two peers' scanners
    assert coverage.only_peer("no-such-zone") is None
