"""The downlink and status payload types, kept importable here: they live in :mod:`edge.messages`
(below the core, which decodes withdrawals with the same decoder as everyone else)."""

from __future__ import annotations

from edge.messages import (
    SCHEMA_DIR,
    SCHEMA_TYPES,
    AnyObject,
    Checkin,
    Status,
    Token,
    Withdraw,
    decode_withdraw,
    note_checkin,
    render,
    schema_of,
    write_all,
)

__all__ = [
    "SCHEMA_DIR",
    "SCHEMA_TYPES",
    "AnyObject",
    "Checkin",
    "Status",
    "Token",
    "Withdraw",
    "decode_withdraw",
    "note_checkin",
    "render",
    "schema_of",
    "write_all",
]

if __name__ == "__main__":
    for written_path in write_all():
        print(written_path)
