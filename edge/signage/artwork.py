"""The bundled demo artwork: simple product illustrations drawn with pygame, saved as PNG into
``edge/signage/content/`` (``python -m edge.signage.artwork`` redraws them). Stands in for the
product photos a retailer's content cache holds; the simulated store's offers name these files.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
import pygame

SIZE = 640
SS = 2
"""Drawn at twice the size and scaled down: cheap anti-aliasing."""
BLEED_PX = 3
"""Before the downscale, each shape's colour is spread this far into the transparent pixels around it
(their alpha stays 0). Without it the filter mixed in the transparent pixels' black, and every light
edge got a dotted dark fringe: speckles along the outline on a light panel."""
Colour = tuple[int, int, int]


def _canvas() -> pygame.Surface:
    surface = pygame.Surface((SIZE * SS, SIZE * SS), pygame.SRCALPHA)
    surface.fill((0, 0, 0, 0))
    return surface


def _r(x: float, y: float, w: float, h: float) -> pygame.Rect:
    return pygame.Rect(round(x * SS), round(y * SS), round(w * SS), round(h * SS))


def _poly(*points: tuple[float, float]) -> list[tuple[int, int]]:
    return [(round(x * SS), round(y * SS)) for x, y in points]


ARC_STEP_RAD = 0.01
"""Brush steps along an arc: at most ~2 px apart at this artwork's radii, so the stroke is solid."""


def _arc(surface: pygame.Surface, colour: Colour, rect: pygame.Rect, start: float, stop: float, width: int) -> None:
    """A thick elliptic arc as a round brush stroke. Not ``pygame.draw.arc``: its thick arcs leave
    pinholes (single transparent pixels inside the stroke), speckles once scaled onto a panel."""
    rx, ry = (rect.width - width) / 2, (rect.height - width) / 2
    cx, cy = rect.centerx, rect.centery
    steps = max(2, math.ceil((stop - start) / ARC_STEP_RAD))
    for i in range(steps + 1):
        angle = start + (stop - start) * i / steps
        centre = (round(cx + rx * math.cos(angle)), round(cy - ry * math.sin(angle)))
        pygame.draw.circle(surface, colour, centre, width // 2)


def _label(surface: pygame.Surface, rect: pygame.Rect, text: str, colour: Colour, size: int) -> None:
    font = pygame.font.Font(None, size * SS)
    rendered = font.render(text, True, colour)
    surface.blit(rendered, rendered.get_rect(center=rect.center))


def bottle(glass: Colour, label: Colour, text: str) -> pygame.Surface:
    s = _canvas()
    pygame.draw.rect(s, glass, _r(270, 40, 100, 40), border_radius=10 * SS)
    pygame.draw.rect(s, glass, _r(280, 70, 80, 150))
    pygame.draw.ellipse(s, glass, _r(200, 170, 240, 140))
    pygame.draw.rect(s, glass, _r(200, 240, 240, 370), border_radius=30 * SS)
    pygame.draw.rect(s, [min(255, v + 50) for v in glass], _r(225, 270, 26, 300), border_radius=13 * SS)
    pygame.draw.rect(s, label, _r(215, 360, 210, 160), border_radius=12 * SS)
    _label(s, _r(215, 360, 210, 160), text, (60, 20, 30), 52)
    return s


Icon = Callable[[pygame.Surface], None]


def box(body: Colour, band: Colour, text: str, icon: Icon | None = None) -> pygame.Surface:
    s = _canvas()
    pygame.draw.polygon(s, [max(0, v - 40) for v in body], _poly((470, 130), (540, 90), (540, 520), (470, 580)))
    pygame.draw.polygon(s, [min(255, v + 30) for v in body], _poly((110, 130), (180, 90), (540, 90), (470, 130)))
    pygame.draw.rect(s, body, _r(110, 130, 360, 450))
    pygame.draw.rect(s, band, _r(110, 380, 360, 110))
    _label(s, _r(110, 380, 360, 110), text, (255, 255, 255), 64)
    if icon is not None:
        icon(s)
    return s


def _baby_face(s: pygame.Surface) -> None:
    pygame.draw.circle(s, (255, 224, 196), (290 * SS, 250 * SS), 90 * SS)
    for x in (260, 320):
        pygame.draw.circle(s, (60, 60, 70), (x * SS, 240 * SS), 10 * SS)
    _arc(s, (200, 80, 90), _r(255, 250, 70, 50), 3.5, 5.9, 6 * SS)


def _drop(s: pygame.Surface) -> None:
    pygame.draw.circle(s, (255, 255, 255), (290 * SS, 270 * SS), 70 * SS)
    pygame.draw.polygon(s, (255, 255, 255), [(230 * SS, 240 * SS), (350 * SS, 240 * SS), (290 * SS, 150 * SS)])


def coffee() -> pygame.Surface:
    s = _canvas()
    pygame.draw.polygon(s, (92, 58, 40), _poly((170, 120), (470, 120), (500, 590), (140, 590)))
    pygame.draw.rect(s, (60, 36, 26), _r(160, 100, 320, 50), border_radius=8 * SS)
    pygame.draw.ellipse(s, (236, 200, 150), _r(230, 250, 180, 220))
    pygame.draw.ellipse(s, (92, 58, 40), _r(300, 260, 40, 200))
    _label(s, _r(150, 490, 340, 80), "ROAST", (236, 200, 150), 58)
    return s


def carton(body: Colour, text: str) -> pygame.Surface:
    s = _canvas()
    pygame.draw.polygon(s, body, _poly((200, 60), (440, 60), (470, 180), (170, 180)))
    pygame.draw.rect(s, (255, 255, 255), _r(290, 30, 60, 40), border_radius=8 * SS)
    pygame.draw.rect(s, body, _r(170, 180, 300, 420), border_radius=10 * SS)
    pygame.draw.ellipse(s, (240, 220, 170), _r(210, 240, 220, 200))
    _label(s, _r(170, 470, 300, 90), text, (255, 255, 255), 64)
    return s


def gift() -> pygame.Surface:
    s = _canvas()
    pygame.draw.rect(s, (200, 16, 46), _r(110, 250, 420, 330), border_radius=12 * SS)
    pygame.draw.rect(s, (220, 40, 70), _r(90, 190, 460, 90), border_radius=12 * SS)
    pygame.draw.rect(s, (250, 200, 60), _r(290, 190, 60, 390))
    for rect in (_r(200, 100, 120, 100), _r(320, 100, 120, 100)):
        pygame.draw.ellipse(s, (250, 200, 60), rect, 24 * SS)
    return s


def apples() -> pygame.Surface:
    s = _canvas()
    for cx, cy, colour in ((230, 380, (200, 30, 40)), (410, 380, (120, 180, 40)), (320, 250, (220, 60, 40))):
        pygame.draw.circle(s, colour, (cx * SS, cy * SS), 120 * SS)
        pygame.draw.circle(s, [min(255, v + 70) for v in colour], ((cx - 45) * SS, (cy - 45) * SS), 28 * SS)
        pygame.draw.line(s, (90, 60, 30), (cx * SS, (cy - 115) * SS), ((cx + 10) * SS, (cy - 160) * SS), 10 * SS)
        pygame.draw.ellipse(s, (60, 150, 60), _r(cx + 12, cy - 170, 70, 34))
    return s


def bag() -> pygame.Surface:
    s = _canvas()
    _arc(s, (250, 250, 250), _r(220, 60, 200, 220), 0.0, 3.14, 22 * SS)
    pygame.draw.polygon(s, (250, 250, 250), _poly((150, 180), (490, 180), (530, 600), (110, 600)))
    pygame.draw.circle(s, (0, 102, 153), (320 * SS, 390 * SS), 110 * SS)
    _heart(s, 320, 395, (255, 255, 255))
    return s


def _heart(s: pygame.Surface, cx: float, cy: float, colour: Colour) -> None:
    """A heart instead of a word: the welcome art is shown in every store language."""
    for dx in (-28, 28):
        pygame.draw.circle(s, colour, (round((cx + dx) * SS), round((cy - 20) * SS)), 34 * SS)
    pygame.draw.polygon(s, colour, _poly((cx - 53, cy + 3), (cx, cy - 20), (cx + 53, cy + 3), (cx, cy + 62)))


def bowl() -> pygame.Surface:
    s = _canvas()
    for cx, cy, colour in ((240, 300, (240, 120, 40)), (330, 270, (80, 170, 60)), (410, 310, (230, 40, 60))):
        pygame.draw.circle(s, colour, (cx * SS, cy * SS), 70 * SS)
    pygame.draw.ellipse(s, (250, 250, 250), _r(110, 300, 420, 120))
    pygame.draw.polygon(s, (250, 250, 250), _poly((110, 360), (530, 360), (440, 560), (200, 560)))
    pygame.draw.rect(s, (0, 128, 96), _r(180, 440, 280, 30), border_radius=15 * SS)
    return s


ARTWORK: dict[str, Callable[[], pygame.Surface]] = {
    "wine.png": lambda: bottle((90, 20, 40), (245, 235, 210), "RIESLING"),
    "prosecco.png": lambda: bottle((40, 90, 50), (250, 225, 150), "PROSECCO"),
    "diapers.png": lambda: box((120, 190, 230), (0, 102, 153), "SOFT", _baby_face),
    "wipes.png": lambda: box((150, 210, 200), (20, 110, 120), "WIPES", _drop),
    "oat-drink.png": lambda: carton((0, 128, 96), "OAT"),
    "coffee.png": coffee,
    "gift.png": gift,
    "apples.png": apples,
    "welcome.png": bag,
    "recipes.png": bowl,
}


CONTENT = Path(__file__).resolve().parent / "content"


def bleed(drawing: pygame.Surface, reach: int = BLEED_PX) -> pygame.Surface:
    """``drawing`` with its shapes' colours spread ``reach`` pixels into the transparent area around
    them, its alpha unchanged: a filter that mixes neighbours then finds the right colour at an edge."""
    spread = pygame.Surface(drawing.get_size(), pygame.SRCALPHA)
    spread.fill((0, 0, 0, 0))
    offsets = [(dx, dy) for dy in range(-reach, reach + 1) for dx in range(-reach, reach + 1)]
    for offset in sorted(offsets, key=lambda o: -(o[0] ** 2 + o[1] ** 2)):
        spread.blit(drawing, offset)  # the farthest first: each pixel ends with its nearest shape's colour
    spread.fill((0, 0, 0, 255), special_flags=pygame.BLEND_RGBA_MAX)  # opaque: colours only
    alpha = drawing.copy()
    alpha.fill((255, 255, 255, 0), special_flags=pygame.BLEND_RGBA_MAX)  # white, the drawing's alpha
    spread.blit(alpha, (0, 0), special_flags=pygame.BLEND_RGBA_MULT)  # the colours, the drawing's alpha
    return spread


def downscaled(drawing: pygame.Surface) -> pygame.Surface:
    return pygame.transform.smoothscale(bleed(drawing), (SIZE, SIZE))


def main(directory: Path = CONTENT) -> None:
    pygame.font.init()
    directory.mkdir(parents=True, exist_ok=True)
    for name, draw in ARTWORK.items():
        pygame.image.save(downscaled(draw()), str(directory / name))


if __name__ == "__main__":
    main()
