"""The frozen-screen watchdog (pure): has the player stopped presenting changing frames when it should?

A player can hang in ways its process supervisor does not see: the process lives, but the frame loop
is stuck in a display driver (no heartbeats), or frames are "presented" while the picture stays the
same (a wedged compositor, a stale buffer). The player's heartbeat carries a digest of the presented
frame (:func:`frame_digest`) and whether a crossfade was running. :class:`FrozenScreenDetector` says
the screen is frozen, and why, when:

- ``no-heartbeat``: no heartbeat for :data:`FROZEN_AFTER_S` (the loop is stuck);
- ``stuck-fade``: heartbeats during a crossfade with the same digest for :data:`FROZEN_AFTER_S` (a fade
  lasts 0.5 s and changes every frame; one between two identical pictures ends as quickly);
- ``unchanged``: a new, different card was started (:meth:`expect_change`) and the presented digest is
  still the one from before it, :data:`FROZEN_AFTER_S` later.

The supervisor restarts the player on a verdict and counts it in health; the detector is reset then.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

FROZEN_AFTER_S = 10.0
"""Verdict this long after the evidence began: 20 heartbeats (0.5 s) and a whole crossfade many times
over, so a busy frame never counts; with the restart (≤ 5 s to the first frame) the screen is back
well inside the 30 s the issue allows."""
DIGEST_SIZE = (32, 18)
"""The presented frame is downscaled to this before its checksum: ~0.2 ms at 1920x1080, and any change
of content (a new card, a fade step) changes it."""


def frame_digest(pixels: bytes) -> int:
    """A checksum of the downscaled frame's bytes."""
    return zlib.crc32(pixels)


@dataclass(slots=True)
class FrozenScreenDetector:
    frozen_after_s: float = FROZEN_AFTER_S
    _last_beat: float | None = None
    _last_digest: int | None = None
    _last_fading: bool = False
    _stuck_since: float | None = None
    _expect_since: float | None = None
    _digest_before: int | None = None

    def reset(self, now: float) -> None:
        """A (re)started player: the evidence starts over."""
        self._last_beat, self._last_digest, self._last_fading = now, None, False
        self._stuck_since = None
        self._expect_since = self._digest_before = None

    def expect_change(self, now: float) -> None:
        """A card that looks different from the one on screen was started."""
        if self._expect_since is None:
            self._expect_since, self._digest_before = now, self._last_digest

    def observe(self, now: float, digest: int, fading: bool) -> None:
        """A heartbeat: the digest of the presented frame and whether a crossfade was running."""
        if fading and self._last_fading and digest == self._last_digest:
            if self._stuck_since is None:
                self._stuck_since = self._last_beat
        else:
            self._stuck_since = None
        if self._expect_since is not None and digest != self._digest_before:
            self._expect_since = self._digest_before = None
        self._last_beat, self._last_digest, self._last_fading = now, digest, fading

    def verdict(self, now: float) -> str | None:
        """``no-heartbeat``, ``stuck-fade`` or ``unchanged`` when frozen; None when the screen lives."""
        if self._last_beat is not None and now - self._last_beat >= self.frozen_after_s:
            return "no-heartbeat"
        if self._stuck_since is not None and now - self._stuck_since >= self.frozen_after_s:
            return "stuck-fade"
        if self._expect_since is not None and now - self._expect_since >= self.frozen_after_s:
            return "unchanged"
        return None
