"""Pure policy of the MQTT sync, kept importable here: the reconnect back-off (edge.backoff) and
the outbox's drop policy and ``sequence`` extension (edge.outbox_policy, beside the outbox)."""

from __future__ import annotations

from edge.backoff import Backoff
from edge.outbox_policy import DEFAULT_DROP_RANK, DROP_RANK, drop_rank, pick_victims, with_sequence

__all__ = ["DEFAULT_DROP_RANK", "DROP_RANK", "Backoff", "drop_rank", "pick_victims", "with_sequence"]
