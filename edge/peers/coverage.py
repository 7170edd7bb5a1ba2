"""Which gateway's scanners cover which zone of the store (issue 18): this gateway's own (the scanners its
sightings came from) and each peer's (learnt from the scanners its summaries carry).

:class:`edge.peers.service.Peers` asks it for its own zones (a new owner that places a shopper in one of
them speaks at once, :mod:`edge.peers.takeover`) and for the one peer a zone belongs to (an owner whose
engine placed a shopper there hands it on to that peer). Pure: the zones are read from the configuration
on every question, the scanners heard are told.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from edge.config import ZoneConfig

__all__ = ["Coverage"]


class Coverage:
    """See the module docstring."""

    __slots__ = ("_zones", "own_scanners", "scanner_of")

    def __init__(self, zones: Callable[[], Sequence[ZoneConfig]]) -> None:
        self._zones = zones
        self.own_scanners: set[str] = set()
        """Scanners this gateway hears itself (its sightings'): its zones are those they cover."""
        self.scanner_of: dict[str, str] = {}
        """A zone's scanner → the peer whose summaries carry it (only scanners of configured zones)."""

    def heard_own(self, scanner: str) -> None:
        """This gateway's own sighting came from ``scanner``."""
        self.own_scanners.add(scanner)

    def heard_by(self, peer: str, scanners: Iterable[str]) -> None:
        """A summary of ``peer`` carried samples of ``scanners`` (those of a zone, not this gateway's own,
        are the peer's from now on)."""
        zoned = {s for z in self._zones() for s in z.scanners}
        for scanner in scanners:
            if scanner in zoned and scanner not in self.own_scanners:
                self.scanner_of[scanner] = peer

    def own_zones(self) -> set[str]:
        """The zones a scanner this gateway hears itself covers."""
        return {z.id for z in self._zones() if self.own_scanners.intersection(z.scanners)}

    def only_peer(self, zone: str) -> str | None:
        """The one peer whose scanners cover ``zone``; None when it is one of this gateway's own zones, or
        when no peer's scanners cover it, or several peers' do."""
        if zone in self.own_zones():
            return None
        scanners = next((z.scanners for z in self._zones() if z.id == zone), ())
        gateways = {self.scanner_of[s] for s in scanners if s in self.scanner_of}
        if len(gateways) != 1:
            return None
        (gateway,) = gateways
        return gateway
