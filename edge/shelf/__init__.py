"""Shelf interactions: readings from shelf controllers and motion tags, attributed to the nearby
opted-in shopper only where that shopper has the ``shelf`` scope (see the README's shelf section).

- :mod:`edge.shelf.messages`: the shelf-controller topic and payload, validated into a reading.
- :mod:`edge.shelf.motion`: RuuviTag (data format 5) motion tags → debounced pickup / putback.
- :mod:`edge.shelf.attribution`: the pure attribution rule (who, if anyone, it belongs to).
- :mod:`edge.shelf.recent`: a shopper's recent interactions, bounded, for the decision engine.
- :mod:`edge.shelf.tracker`: the part the core holds; readings in, ``edge.shelf.interaction`` out.
"""
