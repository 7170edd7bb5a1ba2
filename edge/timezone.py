"""A store's time zone by its IANA name ("Europe/Berlin"), for the config and the offers' schedules.

:class:`zoneinfo.ZoneInfo` reads the name as a path under the time zone database: besides
``ZoneInfoNotFoundError`` and ``ValueError`` it raises ``OSError`` for a name that is a directory
("Europe") or longer than a file name may be -- an operator's typo or a hostile downlink, not a crash.
"""

from __future__ import annotations

import zoneinfo


def time_zone(name: str) -> zoneinfo.ZoneInfo:
    """The zone named ``name``; ``ValueError`` saying what is wrong when the database holds no such zone."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f'{name!r} is not an IANA time zone ("Europe/Berlin")') from None
