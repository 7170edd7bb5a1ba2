"""The last good downlink state, kept importable here: it lives in :mod:`edge.laststate`."""

from __future__ import annotations

from edge.laststate import LastGood, StateStore, read_last_good

__all__ = ["LastGood", "StateStore", "read_last_good"]
