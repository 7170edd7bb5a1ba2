"""Errors of the fleet side; each names what failed and where."""

from __future__ import annotations

from edge.errors import EdgeError


class CentralError(EdgeError):
    """A NATS cluster, stream or bridge problem (names the server, stream or topic)."""
