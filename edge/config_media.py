"""What the box shows and sees: the signage screen it drives and its cameras (config sections).

``[signage]`` (edge.signage: the display, its timings) and ``[vision]`` (edge.vision: the check-in
camera that verifies a consented shopper 1:1 at a screen, and the shelf camera's motion regions, which
see products, never people), validated as they are decoded like every config type (:mod:`edge.config`).
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from edge import constants as c
from edge.config_errors import InvalidConfigError
from edge.config_types import Delay, Id, Rect, Seconds, Sku, check_rect, unique


class VisionRegionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A shelf region in the shelf camera's view: motion there is a ``touch`` of ``sku`` (no identity)."""

    id: Id
    shelf: str
    sku: Sku
    rect: Rect
    """x, y, width, height as fractions of the frame (0..1)."""
    action: Literal["touch", "pickup"] = "touch"
    motion_fraction: Annotated[float, Meta(gt=0, le=1)] = c.SHELF_MOTION_FRACTION
    """A fraction of the region's pixels."""
    debounce_s: Delay = c.SHELF_MOTION_DEBOUNCE_S

    def __post_init__(self) -> None:
        check_rect(self.rect, "rect")


class VisionConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    enabled: bool = False
    source: str = "/dev/video0"
    screen: str | None = None
    roi: Rect = (0.0, 0.0, 1.0, 1.0)
    """The part of the frame (x, y, width, height as fractions) where a checking-in shopper stands."""
    window_s: Annotated[float, Meta(gt=0, le=c.VISION_WINDOW_MAX_S)] = c.VISION_WINDOW_S
    threshold: Annotated[float, Meta(gt=0, lt=1)] = c.FACE_MATCH_COSINE_MIN
    """A cosine similarity threshold, between 0 and 1."""
    fps: Annotated[float, Meta(gt=0, le=60)] = c.VISION_FPS
    shelf_source: str | None = None
    """The camera watching the shelf regions (never used for faces); none: no shelf regions run."""
    regions: tuple[VisionRegionConfig, ...] = ()

    def __post_init__(self) -> None:
        if self.enabled and self.screen is None:
            raise InvalidConfigError("screen", "name the screen whose shoppers the camera may verify")
        check_rect(self.roi, "roi")
        if self.regions and self.shelf_source is None:
            raise InvalidConfigError("shelf_source", "shelf regions need vision.shelf_source")
        unique((region.id for region in self.regions), "regions[{}].id")


class SignageConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The screen this gateway drives (edge.signage); the merchandising rules come from the CDP."""

    enabled: bool = True
    screen: str | None = None
    """The ``[[screens]]`` id shown on this box's display; default: the first screen."""
    backend: Literal["window", "headless"] = "window"
    fullscreen: bool = True
    width: Annotated[int, Meta(ge=160, le=7680)] = 1920
    height: Annotated[int, Meta(ge=160, le=7680)] = 1080
    frames_dir: str | None = None
    """Headless: where PNG frames go (every ``frame_every_s``, 0: only on request)."""
    frame_every_s: Delay = 0.0
    content_dir: str | None = None
    """Local content cache (product images, playlist art); default: ``{state_dir}/content``."""
    play_s: Seconds = c.SIGNAGE_PLAY_S
    min_display_s: Delay = c.SIGNAGE_MIN_DISPLAY_S
    sticky_margin_m: Annotated[float, Meta(ge=0)] = c.SIGNAGE_STICKY_MARGIN_M
    crossfade_s: Delay = c.SIGNAGE_CROSSFADE_S
    fps: Annotated[int, Meta(ge=1, le=120)] = c.SIGNAGE_FPS

    def __post_init__(self) -> None:
        if self.min_display_s > self.play_s:
            raise InvalidConfigError("min_display_s", "must be 0..play_s seconds")
        if self.crossfade_s >= self.play_s:
            raise InvalidConfigError("crossfade_s", "must be >= 0 and shorter than play_s")
