"""Eddystone-EID: the ephemeral identifier a shopper's app or tag broadcasts, rotating every 2^k s.

EID = first 8 bytes of AES-128-ECB(tk, 11 zero bytes ‖ k ‖ ((T >> k) << k) as 32-bit big-endian),
with T the beacon's time counter (now − t0) and ``tk`` the temporary key of the current 2^16 s
window. The gateway holds only ``tk``, never the identity key (Eddystone-EID specification).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

TK_BYTES = 16
"""AES-128 temporary key length."""
EID_BYTES = 8
"""Length of the ephemeral identifier in the frame."""
K_MIN = 0
K_MAX = 15
"""Rotation exponent range of the specification: 1 s to about 9 hours."""


def eid_for_counter(tk: bytes, k: int, counter: int) -> bytes:
    """The EID broadcast while the beacon's time counter is ``counter`` (seconds since t0)."""
    if len(tk) != TK_BYTES:
        raise ValueError(f"the temporary key must be {TK_BYTES} bytes, got {len(tk)}")
    if not K_MIN <= k <= K_MAX:
        raise ValueError(f"k must be in {K_MIN}..{K_MAX}, got {k}")
    if not 0 <= counter <= 0xFFFFFFFF:
        raise ValueError(f"the time counter {counter} is outside 0..2^32-1")
    block = bytes(11) + bytes([k]) + ((counter >> k) << k).to_bytes(4, "big")
    encryptor = Cipher(algorithms.AES(tk), modes.ECB()).encryptor()  # noqa: S305 - one block, as specified
    return (encryptor.update(block) + encryptor.finalize())[:EID_BYTES]


def eid_at(tk: bytes, k: int, t0: float, now: float) -> bytes:
    """The EID broadcast at Unix time ``now`` by a beacon whose counter was 0 at ``t0``."""
    return eid_for_counter(tk, k, int(now - t0))


def window_index(k: int, t0: float, now: float) -> int:
    """Which rotation window (counter >> k) Unix time ``now`` falls in."""
    return int(now - t0) >> k
