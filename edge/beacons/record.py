"""``edge record``: live advertisements into the trace format, with pseudonymous addresses.

Real Bluetooth addresses never leave the process: each is replaced in the file by a pseudonym,
HMAC-SHA256 of the address under a random key made for this recording and forgotten after it,
rendered as a random static address (``C3:5A:…``, top two bits set). The same device keeps the same
pseudonym within one recording, so a trace still tells devices apart; two recordings cannot be
linked, and the pseudonym cannot be turned back into the address. ``keep`` lets the caller write
only rostered adverts.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import msgspec

from edge import constants as c
from edge.beacons.advert import Advertisement
from edge.beacons.source import Source
from edge.trace import header_line, item_line

_KEY_BYTES = 32
"""HMAC-SHA256 key length: the hash's block-sized security level."""

_RANDOM_STATIC_BITS = 0b1100_0000
"""The two top bits of a random static device address (Core spec Vol 6, Part B, 1.3.2.1)."""


class AddressPseudonyms:
    """Maps real addresses to per-recording pseudonyms; the key lives only in this object."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key if key is not None else secrets.token_bytes(_KEY_BYTES)

    def __call__(self, address: str) -> str:
        digest = hmac.new(self._key, address.upper().encode("ascii", "replace"), hashlib.sha256).digest()
        octets = bytes([digest[0] | _RANDOM_STATIC_BITS]) + digest[1:6]
        return ":".join(f"{octet:02X}" for octet in octets)


async def record(out: Path, seconds: float, source: Source, *, keep: Callable[[Advertisement], bool]) -> int:
    """Records the advertisements ``source`` yields for ``seconds`` into the trace ``out``.

    The source is entered here (``async with``), so its start errors (a
    :class:`~edge.errors.ScannerError` saying what to do) come out of this call before the file is
    created. The recording's t = 0 is when scanning has started. Items other than advertisements,
    and advertisements ``keep`` rejects, are not written.

    Returns:
        The number of lines written, the header included.
    """
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds!r}")
    pseudonym = AddressPseudonyms()
    async with source:
        start = source.clock.now()
        handle: BinaryIO = await asyncio.to_thread(out.open, "wb")
        try:
            return await _write(handle, source, start, seconds, keep, pseudonym)
        finally:
            await asyncio.to_thread(handle.close)


async def _write(
    handle: BinaryIO,
    source: Source,
    start: float,
    seconds: float,
    keep: Callable[[Advertisement], bool],
    pseudonym: AddressPseudonyms,
) -> int:
    loop = asyncio.get_running_loop()
    pending = [header_line(start)]
    pending_bytes = len(pending[0])
    lines = 1
    flush_at = loop.time() + c.RECORD_FLUSH_INTERVAL_S
    try:
        async with asyncio.timeout(seconds) as scope:
            async for item in source:
                if not isinstance(item, Advertisement) or not keep(item):
                    continue
                line = item_line(msgspec.structs.replace(item, address=pseudonym(item.address)), start)
                pending.append(line)
                pending_bytes += len(line)
                lines += 1
                if pending_bytes >= c.RECORD_FLUSH_BYTES or loop.time() >= flush_at:
                    chunk, pending, pending_bytes = b"".join(pending), [], 0
                    await asyncio.to_thread(handle.write, chunk)
                    flush_at = loop.time() + c.RECORD_FLUSH_INTERVAL_S
    except TimeoutError:
        if not scope.expired():
            raise
    await asyncio.to_thread(handle.write, b"".join(pending))
    return lines
