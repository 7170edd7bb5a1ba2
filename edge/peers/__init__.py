"""Several gateways in one store (issue 18): shared sightings over the store broker, one owner per shopper.

- :mod:`edge.peers.summary`: the per-second summary of what a gateway heard (pure encode/decode, limits)
  and its conversion into :class:`~edge.presence.Sighting` values of the peer's scanners;
- :mod:`edge.peers.arbitration`: the deterministic ownership every gateway computes alike;
- :mod:`edge.peers.topics`: the store-local topics;
- :mod:`edge.peers.service`: the service, with :mod:`edge.peers.connection` (its own connection to the store
  broker), :mod:`edge.peers.intake` (its bounded inbox), :mod:`edge.peers.slots` (summaries out and in, when a
  slot is evaluated), :mod:`edge.peers.claims`, :mod:`edge.peers.coverage`, :mod:`edge.peers.handover`,
  :mod:`edge.peers.takeover` and :mod:`edge.peers.speech` (a new owner's wait and words),
  :mod:`edge.peers.release` (the old owner's clear);
- :mod:`edge.peers.messages` (claims, states, hand-off records) and :mod:`edge.peers.timing` (its constants).

docs/multi-gateway.md describes the design.
"""
