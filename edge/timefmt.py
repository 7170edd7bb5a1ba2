"""The one time format of the gateway's messages: RFC 3339 in UTC, milliseconds, a ``Z``.

Events, the roster, offers and the trace format all read and write times through here, so a
module that needs a timestamp does not import a file format to get one.
"""

from __future__ import annotations

from datetime import UTC, datetime


def parse_start(text: str) -> float:
    """An RFC 3339 timestamp → Unix seconds; naive times are taken as UTC."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def format_time(unix: float) -> str:
    """Unix seconds → RFC 3339 in UTC with milliseconds and a ``Z``."""
    moment = datetime.fromtimestamp(unix, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
