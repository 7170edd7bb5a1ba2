"""The crossfade between two fully drawn items: never a black frame.

An item only enters once its surface is complete (rendered ahead, off the frame loop): each frame
is the outgoing item with the incoming one blended over it at the fade's progress. Both are opaque,
so every frame is a mix of two real pictures. The compositor says which plays became visible and
which stopped being visible on each frame, for proof of play.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pygame


@dataclass(slots=True)
class FrameChange:
    """What one composed frame changed: the play that appeared, the plays that disappeared."""

    started: int | None = None
    ended: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Compositor:
    current: pygame.Surface
    current_play: int
    crossfade_s: float
    incoming: pygame.Surface | None = None
    incoming_play: int = -1
    fade_start: float = 0.0
    _pending: list[tuple[pygame.Surface, int]] = field(default_factory=list)

    def enter(self, surface: pygame.Surface, play: int) -> int | None:
        """Queue a fully rendered item; it starts fading in on the next frame. Only the newest
        waiting item matters: returns the play it replaced, never presented."""
        replaced = self._pending[0][1] if self._pending else None
        self._pending[:] = [(surface, play)]
        return replaced

    @property
    def busy(self) -> bool:
        return self.incoming is not None

    def draw(self, target: pygame.Surface, now: float) -> FrameChange:
        """Compose the frame for monotonic time ``now`` onto ``target`` (which holds the last frame)."""
        change = FrameChange()
        if self._pending:
            if self.incoming is not None:
                # A new item during a fade: the frame on screen (the blend) becomes the outgoing
                # picture, so the new item starts at once instead of after the fade.
                change.ended.append(self.current_play)
                self.current, self.current_play = target.copy(), self.incoming_play
            self.incoming, self.incoming_play = self._pending.pop()
            self.fade_start = now
            change.started = self.incoming_play
        incoming = self.incoming
        if incoming is None:
            target.blit(self.current, (0, 0))
            return change
        progress = 1.0 if self.crossfade_s <= 0 else (now - self.fade_start) / self.crossfade_s
        if progress >= 1.0:
            change.ended.append(self.current_play)
            self.current, self.current_play = incoming, self.incoming_play
            self.incoming = None
            target.blit(self.current, (0, 0))
            return change
        target.blit(self.current, (0, 0))
        incoming.set_alpha(max(1, round(255 * progress)))
        target.blit(incoming, (0, 0))
        incoming.set_alpha(None)
        return change
