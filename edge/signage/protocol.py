"""The messages between the gateway and its player process: JSON lines over stdin and stdout.

Gateway → player: :class:`Show` a card, :class:`Snapshot` the screen to a PNG, :class:`Screenshot`
(the presented frame as JPEG bytes), :class:`Quit`.
Player → gateway: :class:`Ready`, :class:`Started` (first presented frame of a play),
:class:`Ended` (last presented frame of a play), :class:`Heartbeat` (still presenting, with a digest of
the presented frame for the frozen-screen watchdog), :class:`Dropped` (a play replaced before it was
ever presented), :class:`Saved` (a PNG written), :class:`Shot` (the JPEG of a presented frame).
Times are ``time.monotonic()`` of the player, which on Linux is the gateway's monotonic clock too.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from edge import constants as c
from edge.signage.cards import Card

REPORT_LINE_LIMIT_BYTES = 8 * 1024 * 1024
"""The longest report line to read (``limit=`` of the subprocess's stream): a :class:`Shot` of a
1920x1080 frame is ~100-400 kB of JPEG, a third more in base64; asyncio's default 64 KiB would fail."""


class PlayerSettings(msgspec.Struct, frozen=True, kw_only=True):
    backend: Literal["window", "headless"] = "window"
    width: int = 1920
    height: int = 1080
    fullscreen: bool = True
    fps: int = c.SIGNAGE_FPS
    crossfade_s: float = c.SIGNAGE_CROSSFADE_S
    content_dirs: tuple[str, ...] = ()
    frames_dir: str | None = None
    frame_every_s: float = 0.0
    """Headless: write a PNG this often (0: only on request)."""
    heartbeat_s: float = c.SIGNAGE_HEARTBEAT_S
    title: str = "instore-edge signage"
    font: str = ""
    """The typeface (edge.signage.fonts): "" DejaVu Sans Bold if installed, else pygame's bundled
    font; "bundled" pygame's; or a font file's path."""


class Show(msgspec.Struct, frozen=True, tag="show"):
    card: Card


class Snapshot(msgspec.Struct, frozen=True, tag="snapshot"):
    path: str


class Screenshot(msgspec.Struct, frozen=True, tag="screenshot"):
    """The next presented frame as JPEG (SDL_image, quality 85; not a re-render): answered by :class:`Shot`."""

    request_id: str


class Quit(msgspec.Struct, frozen=True, tag="quit"):
    pass


Command = Show | Snapshot | Screenshot | Quit


class Ready(msgspec.Struct, frozen=True, tag="ready"):
    mono: float
    driver: str
    font: str = ""
    """The typeface the cards are drawn in (edge.signage.fonts)."""


class Started(msgspec.Struct, frozen=True, tag="started"):
    play: int
    mono: float


class Ended(msgspec.Struct, frozen=True, tag="ended"):
    play: int
    mono: float


class Heartbeat(msgspec.Struct, frozen=True, tag="heartbeat"):
    play: int
    mono: float
    frames: int
    frame_ms_max: float
    digest: int = 0
    """A checksum of the presented frame, downscaled (the frozen-screen watchdog compares them)."""
    fading: bool = False
    """A crossfade was running when the frame was presented: consecutive digests must differ."""


class Dropped(msgspec.Struct, frozen=True, tag="dropped"):
    play: int


class Saved(msgspec.Struct, frozen=True, tag="saved"):
    path: str
    mono: float


class Shot(msgspec.Struct, frozen=True, tag="shot"):
    """The presented frame of :class:`Screenshot` ``request_id``: JPEG bytes (base64 in the JSON line)."""

    request_id: str
    jpeg: bytes
    mono: float
    """When the frame was presented."""


Report = Ready | Started | Ended | Heartbeat | Dropped | Saved | Shot

command_decoder = msgspec.json.Decoder(Command)
report_decoder = msgspec.json.Decoder(Report)
encoder = msgspec.json.Encoder()
