"""The ``[store]`` config section: the other gateways of the same store (:mod:`edge.peers`).

Kept beside :mod:`edge.config` (which includes it in :class:`~edge.config.Config` and calls
:func:`check_store`). Not changeable by a remote override: who the peers are decides whose
sightings this gateway believes and who may own a shopper's presence.
"""

from __future__ import annotations

import re

import msgspec

from edge.errors import ConfigError

STORE_TOPIC_PREFIX = "store-local/v1"
"""The store-local topics' root. Deliberately not under ``edge/v1/``: a bridge that forwards
``edge/v1/{store}/#`` to the central broker (hardware/mosquitto/bridge.conf) can never carry them."""
PEERS_MAX = 32
"""A store with more gateways than this is a configuration mistake (each summary is read by every
gateway: the store-local traffic grows with the square of the count)."""
RESERVED_GATEWAY_IDS = frozenset({"local", "shelf", "bridge", "owner"})
"""Topic levels the store's topics use beside the gateways' own (``edge/v1/{store}/shelf/…``)."""
_PREFIX = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(/[A-Za-z0-9][A-Za-z0-9._-]{0,63}){0,3}$")


class StoreConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``[store]``: several gateways in one store (absent or no ``peers``: this gateway is alone)."""

    peers: tuple[str, ...] = ()
    """The store's other gateways (their ``gateway.gateway`` ids), on the same store broker
    (``mqtt.url``). Sightings and ownership claims of gateways not listed are ignored."""
    topic_prefix: str = STORE_TOPIC_PREFIX
    """Root of the store-local topics: ``{topic_prefix}/{store}/{gateway}/sightings`` etc.
    One to four levels of letters, digits, ``. _ -``; must not start with ``edge/`` or ``cdp/``
    (the levels the bridge to the CDP forwards)."""

    @property
    def enabled(self) -> bool:
        return bool(self.peers)


class StoreConfigError(ConfigError, ValueError):
    """An invalid ``[store]``; a ``ValueError`` too, so a ``Config.__post_init__`` may raise it."""


def check_store(
    store: StoreConfig, gateway: str, has_broker: bool, source: str = "", client_id: str | None = None
) -> None:
    """Raises :class:`StoreConfigError` naming the key (after ``source``, if given) for an invalid ``[store]``.
    ``client_id``: ``mqtt.client_id``, which must not be a gateway id of the store (the peers' connection to
    the store broker uses the gateway id as its client id: two connections with one id take each other's
    session over and over)."""
    at = f"{source}: " if source else ""
    where = f"{at}store"
    if store.peers and gateway in RESERVED_GATEWAY_IDS:
        raise StoreConfigError(f"{gateway!r} is reserved for a store topic level", where=f"{at}gateway.gateway")
    if len(store.peers) > PEERS_MAX:
        raise StoreConfigError(f"at most {PEERS_MAX} peers", where=f"{where}.peers")
    seen: set[str] = set()
    for index, peer in enumerate(store.peers):
        key = f"{where}.peers[{index}]"
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", peer) or peer in RESERVED_GATEWAY_IDS:
            raise StoreConfigError(f"{peer!r} is not a valid gateway id", where=key)
        if peer == gateway:
            raise StoreConfigError(f"{peer!r} is this gateway itself", where=key)
        if peer in seen:
            raise StoreConfigError(f"duplicate peer {peer!r}", where=key)
        seen.add(peer)
    prefix = store.topic_prefix
    if not _PREFIX.match(prefix):
        raise StoreConfigError(
            f"{prefix!r} is not 1-4 topic levels of letters, digits, . _ - (no + # or empty level)",
            where=f"{where}.topic_prefix",
        )
    if prefix.split("/")[0] in ("edge", "cdp"):
        raise StoreConfigError(
            "must not start with edge/ or cdp/: the bridge to the CDP forwards those", where=f"{where}.topic_prefix"
        )
    if store.peers and client_id is not None and (client_id == gateway or client_id in store.peers):
        raise StoreConfigError(
            f"{client_id!r} is a gateway id of the store: the peers' connection uses it as its client id",
            where=f"{at}mqtt.client_id",
        )
    if store.peers and not has_broker:
        raise StoreConfigError("peers need the store broker: set mqtt.url", where=f"{where}.peers")
