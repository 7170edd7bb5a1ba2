"""Identity resolution: an advertisement → an opted-in shopper, or nobody.

Identity comes only from payloads that resolve against the consent roster: iBeacon and
Eddystone-UID by lookup, Eddystone-EID through a table of the EIDs each rostered temporary key
broadcasts in the current and the neighbouring rotation windows, recomputed at window edges.
Everything else resolves to ``None`` and the caller drops it at once. The address is never
looked at. An expired roster, or none, resolves nobody (fail closed).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Mapping
from typing import Protocol

import msgspec

from edge.beacons.advert import APPLE_COMPANY_ID, EDDYSTONE_UUID, Advertisement
from edge.beacons.parse import EDDYSTONE_EID, EDDYSTONE_UID, IBEACON_PREFIX
from edge.eid import eid_for_counter
from edge.roster import EddystoneEidId, EddystoneUidId, IBeaconId, Roster, Shopper, Via

EDDYSTONE_1M_LOSS_DB = 41
"""Eddystone advertises its power at 0 m; the specification's 41 dB of loss gives the 1 m value."""

IBEACON_BYTES = 23
"""Apple manufacturer data of an iBeacon: 02 15, UUID (16), major (2), minor (2), power (1)."""
IBEACON_KEY_BYTES = 22
"""An iBeacon's type bytes and identifier (all but the power byte): the resolver's key."""
EDDYSTONE_EID_BYTES = 10
"""Eddystone-EID service data: frame type, ranging data, the 8-byte EID."""
EDDYSTONE_UID_BYTES = 20
"""Eddystone-UID service data: frame type, ranging data, namespace (10), instance (6), RFU (2; 18
bytes from beacons that leave it out)."""

EID_NEIGHBOUR_WINDOWS = 1
"""Windows either side of the current one whose EIDs are accepted: covers beacon clock drift and
a scanner hearing an advert just across an edge."""

EID_REWIND_S = 1.0
"""How far back of the latest time asked an EID is still looked up in the table as it is: the table
holds the windows either side of that time's, and a second back is at most one window back (a
window is 2^k >= 1 s). The bleak source asks (edge.core.Core.admits) before the writer resolves
the adverts heard a few ms earlier: without this, each of those would rebuild the whole table (an
AES block per key and window)."""

EID_COUNTER_MAX = 0xFFFFFFFF
"""An Eddystone-EID beacon's time counter is 32 bits (the roster's ``t0`` range keeps ``now - t0`` near it)."""


class Refusals(Protocol):
    """Where a refused advert is counted (edge.core.Counters): as seen and dropped."""

    adverts_seen: int
    adverts_dropped: int


Admit = Callable[[Mapping[int, bytes], Mapping[str, bytes], float], bool]
"""(manufacturer data, service data, heard at) → whether the advert may be anybody's."""


class Resolved(msgspec.Struct, frozen=True, gc=False):
    """Who an advert resolved to, how, and its power at 1 m (as the payload says).

    A frozen msgspec Struct, as edge.presence.Sighting: one is built per rostered advert the writer
    handles, and a frozen dataclass's ``__init__`` (``object.__setattr__`` per field) cost 1.2 µs
    of the resolver's 2.6 (0.1 µs now). ``gc=False``: a shopper never refers back to it."""

    shopper: Shopper
    via: Via
    measured_power_1m_dbm: float | None

    @property
    def token(self) -> str:
        return self.shopper.token


class _EidTable:
    """EIDs of every rostered temporary key for windows w-1, w, w+1, rolled forward at edges.

    :meth:`lookup` between the last time asked (less :data:`EID_REWIND_S`) and the next edge is a
    dict lookup (:attr:`low`, :attr:`next_edge`: what bleak's admission question checks before it
    looks up :attr:`eids` itself, edge.identity.Resolver.admitter); else the table is rolled
    forward or rebuilt first."""

    __slots__ = ("_by_entry", "_edges", "_entries", "eids", "low", "next_edge")

    def __init__(self, entries: list[tuple[Shopper, EddystoneEidId]]) -> None:
        self._entries = entries
        self.eids: dict[bytes, Shopper] = {}
        self._by_entry: list[list[bytes]] = [[] for _ in entries]
        self._edges: list[tuple[float, int]] = []
        self.low = float("inf")
        """The last time asked less EID_REWIND_S: earlier, the table is rebuilt (inf: never built)."""
        self.next_edge = float("-inf")
        """The earliest window edge of any key: from there the table rolls forward first."""

    def _fill(self, index: int, now: float) -> None:
        shopper, ident = self._entries[index]
        for old in self._by_entry[index]:
            if self.eids.get(old) is shopper:
                del self.eids[old]
        counter = int(now - ident.t0)
        fresh: list[bytes] = []
        if counter > EID_COUNTER_MAX:  # the beacon's 32-bit counter has run out: it broadcasts nothing we know
            next_edge = float("inf")
        elif counter >= 0:
            window = counter >> ident.k
            for w in range(window - EID_NEIGHBOUR_WINDOWS, window + EID_NEIGHBOUR_WINDOWS + 1):
                if w >= 0 and (w << ident.k) <= EID_COUNTER_MAX:
                    eid = eid_for_counter(ident.tk, ident.k, w << ident.k)
                    self.eids[eid] = shopper
                    fresh.append(eid)
            next_edge = float(ident.t0 + ((window + 1) << ident.k))
        else:
            next_edge = float(ident.t0)
        self._by_entry[index] = fresh
        heapq.heappush(self._edges, (next_edge, index))

    def _rebuild(self, now: float) -> None:
        self.eids.clear()
        self._edges.clear()
        self._by_entry = [[] for _ in self._entries]
        for index in range(len(self._entries)):
            self._fill(index, now)

    def lookup(self, eid: bytes, now: float) -> Shopper | None:
        if self.low <= now < self.next_edge:  # the common case: within the windows the table holds
            low = now - EID_REWIND_S
            if low > self.low:
                self.low = low
            return self.eids.get(eid)
        self._roll(now)
        return self.eids.get(eid)

    def _roll(self, now: float) -> None:
        """The table for ``now``, which is before :attr:`low` or at or past :attr:`next_edge`."""
        edges = self._edges
        if now < self.low:
            self._rebuild(now)  # never built, a clock set back, a replay started over: every key again
            self.low = now - EID_REWIND_S
        else:  # past an edge (edges are always after the latest time asked: see _fill)
            while edges and edges[0][0] <= now:
                _, index = heapq.heappop(edges)
                self._fill(index, now)
            self.low = max(self.low, now - EID_REWIND_S)
        self.next_edge = edges[0][0] if edges else float("inf")


class Resolver:
    """Resolves advertisements against the roster in force; see the module docstring."""

    def __init__(self, roster: Roster | None = None) -> None:
        self.roster: Roster | None = None
        self._ibeacon: dict[bytes, Shopper] = {}
        """iBeacon payload bytes 0..22 (02 15, UUID, major, minor, as sent) → shopper: one slice of
        the payload is the key, its type bytes included."""
        self._uid: dict[bytes, Shopper] = {}
        """Eddystone-UID bytes 2..18 (namespace, instance, as sent) → shopper."""
        self._eid = _EidTable([])
        if roster is not None:
            self.set_roster(roster)

    def set_roster(self, roster: Roster | None) -> None:
        """Put a roster in force (``None``: nobody resolves)."""
        self.roster = roster
        self._ibeacon = {}
        self._uid = {}
        eid_entries: list[tuple[Shopper, EddystoneEidId]] = []
        for shopper in roster.shoppers if roster else ():
            if not shopper.has("presence"):
                continue
            for ident in shopper.ids:
                if isinstance(ident, IBeaconId):
                    key = (
                        IBEACON_PREFIX
                        + ident.uuid.bytes
                        + ident.major.to_bytes(2, "big")
                        + ident.minor.to_bytes(2, "big")
                    )
                    self._ibeacon[key] = shopper
                elif isinstance(ident, EddystoneUidId):
                    self._uid[ident.namespace + ident.instance] = shopper
                else:
                    eid_entries.append((shopper, ident))
        self._eid = _EidTable(eid_entries)

    def withdraw(self, token: str) -> bool:
        """Stop resolving ``token`` at once; True if it was in the roster."""
        if self.roster is None or self.roster.get(token) is None:
            return False
        self.set_roster(self.roster.without(token))
        return True

    def expired(self, now: float) -> bool:
        return self.roster is None or self.roster.expired(now)

    def admitter(self, refusals: Refusals, *, also_company: int | None = None) -> Admit:
        """``resolve_payloads(...) is not None`` as one flat function for the bleak source
        (edge.core.Core.admitter): the same answers from the same tables, without the call to
        :meth:`resolve_payloads` or a :class:`Resolved` per advert (asked of every advert, before
        bleak builds anything for it: the largest single share of the gateway's own work per advert;
        docs/performance.md, fifth and seventh passes). A refused advert is counted in ``refusals``;
        ``also_company``: a company id whose manufacturer data is admitted anyway (a configured
        motion tag's, resolved by its own table later). Reads the tables in force at each call, so
        a new roster or a withdrawal holds from the next advert."""
        resolver = self
        apple, eddystone = APPLE_COMPANY_ID, EDDYSTONE_UUID
        ibeacon_bytes, ibeacon_key = IBEACON_BYTES, IBEACON_KEY_BYTES
        eid_frame, eid_bytes, uid_frame, uid_bytes = (
            EDDYSTONE_EID,
            EDDYSTONE_EID_BYTES,
            EDDYSTONE_UID,
            EDDYSTONE_UID_BYTES,
        )

        def admit(manufacturer_data: Mapping[int, bytes], service_data: Mapping[str, bytes], now: float) -> bool:
            ibeacon = manufacturer_data.get(apple)
            eddy = service_data.get(eddystone)
            if ibeacon is not None or eddy is not None:
                roster = resolver.roster
                if roster is not None and now < roster.expires_at:
                    if (
                        ibeacon is not None
                        and len(ibeacon) == ibeacon_bytes
                        and bytes(ibeacon[:ibeacon_key]) in resolver._ibeacon
                    ):
                        return True
                    if eddy is not None:
                        size = len(eddy)
                        if size == eid_bytes and eddy[0] == eid_frame:
                            table = resolver._eid
                            if table.low <= now < table.next_edge:  # _EidTable.lookup's common case, inline
                                if now - EID_REWIND_S > table.low:
                                    table.low = now - EID_REWIND_S
                                if bytes(eddy[2:10]) in table.eids:
                                    return True
                            elif table.lookup(bytes(eddy[2:10]), now) is not None:
                                return True
                        elif (
                            (size == uid_bytes or size == uid_bytes - 2)
                            and eddy[0] == uid_frame
                            and bytes(eddy[2:18]) in resolver._uid
                        ):
                            return True
            if also_company is not None and also_company in manufacturer_data:
                return True
            refusals.adverts_seen += 1
            refusals.adverts_dropped += 1
            return False

        return admit

    def resolve(self, adv: Advertisement, now: float) -> Resolved | None:
        """The opted-in shopper ``adv`` comes from, or None (drop it: no event, row or log)."""
        return self.resolve_payloads(adv.manufacturer_data, adv.service_data, now)

    def resolve_payloads(
        self, manufacturer_data: Mapping[int, bytes], service_data: Mapping[str, bytes], now: float
    ) -> Resolved | None:
        """:meth:`resolve` on an advert's payloads alone (what edge.core.Core.admits asks before an
        :class:`Advertisement` is built).

        The identifier's bytes are the key: a payload whose length, type bytes and identifier are
        not a rostered one's costs a slice and a dict miss, and nothing is built from it (no frame,
        no UUID). Accepts exactly what :func:`~edge.beacons.parse.parse_ibeacon` and
        :func:`~edge.beacons.parse.parse_eddystone` accept for the same identifiers."""
        roster = self.roster
        if roster is None or now >= roster.expires_at:
            return None
        if self._ibeacon:
            payload = manufacturer_data.get(APPLE_COMPANY_ID)
            if payload is not None and len(payload) == IBEACON_BYTES:
                shopper = self._ibeacon.get(bytes(payload[:IBEACON_KEY_BYTES]))
                if shopper is not None:
                    power = payload[22]
                    return Resolved(shopper, "ibeacon", float(power - 256 if power > 127 else power))
        payload = service_data.get(EDDYSTONE_UUID)
        if payload is None or len(payload) < 2:
            return None
        kind = payload[0]
        size = len(payload)
        if kind == EDDYSTONE_EID and size == EDDYSTONE_EID_BYTES:
            shopper = self._eid.lookup(bytes(payload[2:10]), now)
            via: Via = "eddystone-eid"
        elif kind == EDDYSTONE_UID and (size == EDDYSTONE_UID_BYTES or size == EDDYSTONE_UID_BYTES - 2) and self._uid:
            shopper = self._uid.get(bytes(payload[2:18]))
            via = "eddystone-uid"
        else:
            return None
        if shopper is None:
            return None
        power = payload[1]
        return Resolved(shopper, via, float((power - 256 if power > 127 else power) - EDDYSTONE_1M_LOSS_DB))
