"""The gateway's topics, kept importable here: they live in :mod:`edge.topics`."""

from __future__ import annotations

from edge.topics import TOPIC_VERSION, Topics

__all__ = ["TOPIC_VERSION", "Topics"]
