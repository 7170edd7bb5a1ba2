"""Draws a :class:`~edge.signage.cards.Card` onto a pygame surface, at any resolution.

Layout is in units of a 1920x1080 screen scaled to the real size. An offer card: the product on a
tinted panel on the left; on the right the "your offer" label (in capitals as the card's language
writes them), headline, text, price (with the old price struck through) and, at the bottom, the
redemption code beside its QR code. A generic card: a full-bleed gradient with the headline and
the image. The typeface is DejaVu Sans Bold from the system when installed, else pygame's bundled
FreeSans Bold (:mod:`edge.signage.fonts`); what the font lacks (the lira sign in FreeSans) is spelled
as shops write it without (``TL``), never drawn as a missing-glyph box. Every phrase of
:mod:`edge.phrases`, the demo's texts and every currency are tested against both; large-text
preference scales every text by LARGE_TEXT_SCALE.

Only the player process imports this module (pygame is imported here).
"""

from __future__ import annotations

import contextlib
import logging
import re
from pathlib import Path

import msgspec
import pygame
import pygame.freetype
import segno

from edge.phrases import upper
from edge.signage.cards import Card
from edge.signage.fonts import FALLBACK_SPELLING, Typeface, find_typeface

log = logging.getLogger(__name__)

WIDOW_MAX_CHARS = 6
"""A last line of one word this short ("km.", "you!") reads as a stray: the lines are rebalanced."""
_NUMBER = re.compile(r"^[-+]?[\d.,:/]+[%€£$]?$|^[€£$][\d.,]+$")
_UNIT = re.compile(r"^[^\W\d]{1,3}[.,;:!?)]*$|^[%€£$₺][.,;:!?)]*$")
GLUE = "\u00a0"
"""Joins a number and its unit ("50 km", "20 %") so no line break falls between them; drawn as a space."""

SIZE_REFERENCE = "Hamburgefonstiv HAMBURGEFONSTIV 0123456789"
"""Set in the typeface and in the bundled font to size the typeface alike: the layout was drawn for
FreeSans Bold (which pygame scales by 0.6875); DejaVu Sans Bold is much wider at the same size."""
LATIN_SCRIPT = "Latn"
"""SDL_ttf shapes with HarfBuzz: DejaVu's kerning is in GPOS under the Latin script, applied only when
the script is named (FreeSans Bold's legacy ``kern`` table applies either way)."""

LARGE_TEXT_SCALE = 1.3
"""Text size for shoppers who asked for large text: +30 %, still three lines of headline."""
BACKGROUND = (247, 244, 238)
INK = (28, 28, 36)
MUTED = (92, 92, 104)
WHITE = (255, 255, 255)

BUNDLED_CONTENT = Path(__file__).resolve().parent / "content"


class ContentCache:
    """Images by name from the local content directories (first match wins), loaded once."""

    def __init__(self, directories: list[Path]) -> None:
        self.directories = [d.resolve() for d in directories]
        self._images: dict[str, pygame.Surface | None] = {}
        self._scaled: dict[tuple[str, int, int], pygame.Surface] = {}

    def _load(self, name: str) -> pygame.Surface | None:
        if name in self._images:
            return self._images[name]
        image = None
        if "/" not in name and "\\" not in name and not name.startswith("."):
            for directory in self.directories:
                path = directory / name
                if path.is_file():
                    try:
                        image = pygame.image.load(str(path)).convert_alpha()
                    except (pygame.error, OSError) as err:
                        log.warning("content %s cannot be loaded (%s): a placeholder is shown", name, err)
                    break
        self._images[name] = image
        return image

    def fit(self, name: str | None, width: int, height: int) -> pygame.Surface | None:
        """The image scaled to fit ``width`` x ``height`` (aspect kept), or None if missing."""
        if not name:
            return None
        key = (name, width, height)
        if key in self._scaled:
            return self._scaled[key]
        image = self._load(name)
        if image is None:
            return None
        scale = min(width / image.get_width(), height / image.get_height())
        size = (max(1, int(image.get_width() * scale)), max(1, int(image.get_height() * scale)))
        scaled = pygame.transform.smoothscale(image, size)
        self._scaled[key] = scaled
        return scaled


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (round(a[0] + (b[0] - a[0]) * t), round(a[1] + (b[1] - a[1]) * t), round(a[2] + (b[2] - a[2]) * t))


class CardRenderer:
    """Renders cards at ``size``; keeps fonts per pixel size."""

    def __init__(self, size: tuple[int, int], content: ContentCache, typeface: Typeface | None = None) -> None:
        self.size = size
        self.content = content
        self.scale = min(size[0] / 1920, size[1] / 1080)
        self.typeface = typeface if typeface is not None else find_typeface()
        self._file = str(self.typeface.path) if self.typeface.path is not None else None
        self._fonts: dict[int, pygame.font.Font] = {}
        self.spelling = {char: alt for char, alt in FALLBACK_SPELLING.items() if not self.has_glyph(char)}
        """What this font lacks → how it is written instead (the bundled font: ₺ → TL)."""
        self.size_factor = 1.0
        if self._file is not None:
            reference = pygame.font.Font(None, 100).size(SIZE_REFERENCE)[0]
            self.size_factor = reference / max(
                1, self._shaped(pygame.font.Font(self._file, 100)).size(SIZE_REFERENCE)[0]
            )

    def has_glyph(self, char: str) -> bool:
        """Whether the typeface has a glyph of its own for ``char`` (not the missing-glyph box)."""
        if not pygame.freetype.get_init():
            pygame.freetype.init()
        return pygame.freetype.Font(self._file, 16).get_metrics(char) != [None]

    @staticmethod
    def _shaped(font: pygame.font.Font) -> pygame.font.Font:
        with contextlib.suppress(pygame.error, AttributeError):  # SDL_ttf without HarfBuzz: kern table only
            font.set_script(LATIN_SCRIPT)
        return font

    def font(self, points: float, large: bool = False) -> pygame.font.Font:
        pixels = max(8, round(points * self.scale * (LARGE_TEXT_SCALE if large else 1.0) * self.size_factor))
        if pixels not in self._fonts:
            # None: the bundled freesansbold.ttf
            self._fonts[pixels] = self._shaped(pygame.font.Font(self._file, pixels))
        return self._fonts[pixels]

    def spell(self, text: str) -> str:
        """``text`` with what the font lacks written as :attr:`spelling` says, and without NUL (the one
        character SDL_ttf refuses: a CDP text holding one raised ValueError in the player; session 49)."""
        for char, alt in self.spelling.items():
            text = text.replace(char, alt)
        return text.replace("\x00", "")

    def spelled(self, card: Card) -> Card:
        """The card with every text spelled for this font."""
        fields = ("headline", "text", "label", "price", "was_price", "code", "code_label", "scan_hint")
        texts = {name: value for name in fields if isinstance(value := getattr(card, name), str)}
        changes = {name: spelled for name, value in texts.items() if (spelled := self.spell(value)) != value}
        return msgspec.structs.replace(card, **changes) if changes else card

    def render(self, card: Card) -> pygame.Surface:
        card = self.spelled(card)
        surface = pygame.Surface(self.size).convert()
        if card.kind == "offer":
            self._offer(surface, card)
        elif card.kind == "override":
            self._override(surface, card)
        else:
            self._generic(surface, card)
        return surface

    # --- text ------------------------------------------------------------------------------

    @staticmethod
    def words(text: str) -> list[str]:
        """The words of ``text``, a number glued to the unit after it ("50 km", "20 %", "500 g")."""
        words: list[str] = []
        for word in text.split():
            if words and _UNIT.match(word) and _NUMBER.match(words[-1].rsplit(GLUE, 1)[-1]):
                words[-1] += GLUE + word
            else:
                words.append(word)
        return words

    @classmethod
    def wrap(cls, font: pygame.font.Font, text: str, width: int, max_lines: int) -> list[str]:
        """``text`` in lines of at most ``width`` pixels (kerned as the font kerns: SDL_ttf applies
        the font's kerning table), at most ``max_lines`` (the last ends with … if cut), and no widow:
        a short lone word on the last line makes the lines rebalance (narrowest width with as many
        lines), else the word before it moves down too."""
        lines = cls._greedy(font, text, width, stop_after=max_lines + 1)  # the lines past the cut are not drawn
        if len(lines) >= 2 and cls._widowed(lines) and len(lines) <= max_lines:
            lines = cls._rebalanced(font, text, width, lines)
        lines = [line.replace(GLUE, " ") for line in lines]
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            last = lines[-1]
            while last and font.size(last + "…")[0] > width:
                last = last[:-1]
            lines[-1] = last.rstrip() + "…"
        return lines

    @staticmethod
    def _widowed(lines: list[str]) -> bool:
        last = lines[-1]
        return " " not in last and len(last.replace(GLUE, " ")) <= WIDOW_MAX_CHARS

    @classmethod
    def _rebalanced(cls, font: pygame.font.Font, text: str, width: int, lines: list[str]) -> list[str]:
        count = len(lines)
        widest = max(int(font.size(word.replace(GLUE, " "))[0]) for word in cls.words(text))
        low, high = min(width, max(width // 2, widest)), width  # narrowest with no more lines, no new cuts
        while low < high:
            middle = (low + high) // 2
            if len(cls._greedy(font, text, middle)) <= count:
                high = middle
            else:
                low = middle + 1
        balanced = cls._greedy(font, text, high)
        if not cls._widowed(balanced):
            return balanced
        before = balanced[-2].split(" ")
        if len(before) >= 2:  # move one more word down, if the last line still fits
            moved = [" ".join(before[:-1]), f"{before[-1]} {balanced[-1]}"]
            if font.size(moved[1].replace(GLUE, " "))[0] <= width:
                return [*balanced[:-2], *moved]
        return balanced

    @classmethod
    def _greedy(cls, font: pygame.font.Font, text: str, width: int, stop_after: int | None = None) -> list[str]:
        """Greedy lines of at most ``width`` pixels; with ``stop_after``, no more lines than that (the first
        ones are the same: a text of 2,000 characters or a hostile override's megabyte costs a few lines)."""

        def size(line: str) -> int:
            return int(font.size(line.replace(GLUE, " "))[0])

        def full() -> bool:
            return stop_after is not None and sum(map(bool, lines)) >= stop_after

        lines: list[str] = []
        line = ""
        for word in cls.words(text):
            if full():
                break
            if size(word) > width and GLUE in word:  # a glued number and unit wider than the column
                head, _, word = word.rpartition(GLUE)
                lines.append(f"{line} {head}".strip())
                line = ""
            if size(word) > width and line:  # a word wider than the column starts a line of its own
                lines.append(line)
                line = ""
            while size(word) > width and len(word) > 1 and not full():
                lines.append(cls._cut(font, word, width) + "-")
                word = word[len(lines[-1]) - 1 :]
            candidate = f"{line} {word}".strip()
            if size(candidate) <= width:
                line = candidate
            else:
                lines.append(line)
                line = word
        if line:
            lines.append(line)
        return [entry for entry in lines if entry][:stop_after]

    @staticmethod
    def _cut(font: pygame.font.Font, word: str, width: int) -> str:
        """The longest head of ``word`` (at least one character) that fits ``width`` with a hyphen after it, by
        bisection: a word of n characters is measured log2(n) times, not up to n (a 2,000-character word took
        3.7 s, quadratic; session 49)."""
        low, high = 1, len(word) - 1  # head word[:low] is taken even when it does not fit, as before
        while low < high:
            middle = (low + high + 1) // 2
            if font.size(word[:middle].replace(GLUE, " ") + "-")[0] <= width:
                low = middle
            else:
                high = middle - 1
        return word[:low]

    def _text(
        self, surface: pygame.Surface, text: str, font: pygame.font.Font, colour: tuple[int, int, int],
        x: int, y: int, width: int, max_lines: int, spacing: float = 1.08,
    ) -> int:  # fmt: skip
        """Draw wrapped text from (x, y); returns the y below it."""
        step = round(font.get_linesize() * spacing)
        for line in self.wrap(font, text, width, max_lines):
            surface.blit(font.render(line, True, colour), (x, y))
            y += step
        return y

    # --- cards -----------------------------------------------------------------------------

    def _image_or_placeholder(self, surface: pygame.Surface, card: Card, box: pygame.Rect) -> None:
        image = self.content.fit(card.image, box.width, box.height)
        if image is not None:
            surface.blit(image, image.get_rect(center=box.center))
            return
        radius = min(box.width, box.height) // 3
        pygame.draw.circle(surface, card.accent, box.center, radius)
        initial = self.font(radius * 1.2 / self.scale).render(
            upper(card.headline[:1] or "?", card.language), True, WHITE
        )
        surface.blit(initial, initial.get_rect(center=box.center))

    def _offer(self, surface: pygame.Surface, card: Card) -> None:
        w, h = self.size
        s = self.scale
        large = card.large_text
        surface.fill(BACKGROUND)
        panel = pygame.Rect(0, 0, round(w * 0.44), h)
        surface.fill(_mix(card.accent, WHITE, 0.82), panel)
        pygame.draw.rect(surface, card.accent, pygame.Rect(panel.right - round(12 * s), 0, round(12 * s), h))
        shadow = pygame.Rect(0, 0, round(panel.width * 0.55), round(44 * s))
        shadow.center = (panel.centerx, round(h * 0.86))
        pygame.draw.ellipse(surface, _mix(card.accent, WHITE, 0.62), shadow)
        self._image_or_placeholder(surface, card, panel.inflate(-round(panel.width * 0.22), -round(h * 0.2)))

        x = panel.right + round(80 * s)
        column = w - x - round(90 * s)
        y = round(90 * s)
        if card.label:
            font = self.font(40, large)
            text = font.render(upper(card.label, card.language), True, WHITE)
            pill = text.get_rect(topleft=(x, y)).inflate(round(44 * s), round(20 * s))
            pill.topleft = (x, y)
            pygame.draw.rect(surface, card.accent, pill, border_radius=pill.height // 2)
            surface.blit(text, text.get_rect(center=pill.center))
            y = pill.bottom + round(40 * s)
        y = self._text(surface, card.headline, self.font(96, large), INK, x, y, column, 3, 1.0)
        if card.text:
            y = self._text(surface, card.text, self.font(44, large), MUTED, x, y + round(18 * s), column, 3)
        if card.price:
            price = self.font(150, large).render(card.price, True, card.accent)
            top = y + round(20 * s)
            surface.blit(price, (x, top))
            if card.was_price:
                was = self.font(44, large).render(card.was_price, True, MUTED)
                spot = was.get_rect(midleft=(x + price.get_width() + round(36 * s), top + price.get_height() // 2))
                surface.blit(was, spot)
                pygame.draw.line(surface, MUTED, spot.midleft, spot.midright, max(2, round(4 * s)))
        if card.qr:
            self._qr_block(surface, card, x, column)

    def _qr_block(self, surface: pygame.Surface, card: Card, x: int, column: int) -> None:
        w, h = self.size
        s = self.scale
        side = round(250 * s)
        qr = self.qr(card.qr or "", side)
        box = pygame.Rect(0, 0, side + round(24 * s), side + round(24 * s))
        box.bottomright = (w - round(90 * s), h - round(70 * s))
        pygame.draw.rect(surface, WHITE, box, border_radius=round(16 * s))
        pygame.draw.rect(surface, _mix(MUTED, WHITE, 0.6), box, max(1, round(2 * s)), border_radius=round(16 * s))
        surface.blit(qr, qr.get_rect(center=box.center))
        text_right = box.left - round(40 * s)
        y = box.top + round(30 * s)
        if card.code:
            label = self.font(36, card.large_text).render(card.code_label or "Code", True, MUTED)
            surface.blit(label, label.get_rect(topright=(text_right, y)))
            y += label.get_height() + round(8 * s)
            code = render_unkerned(self.font(64, card.large_text), card.code, INK)
            surface.blit(code, code.get_rect(topright=(text_right, y)))
            y += code.get_height() + round(16 * s)
        if card.scan_hint:
            hint = self.font(34, card.large_text).render(card.scan_hint, True, card.accent)
            surface.blit(hint, hint.get_rect(topright=(text_right, y)))

    def qr(self, data: str, side: int) -> pygame.Surface:
        """A QR code (segno, quiet zone included) as black modules on white, ``side`` pixels at most."""
        rows = list(segno.make(data, error="m", micro=False).matrix_iter(scale=1, border=2))
        n = len(rows)
        modules = pygame.Surface((n, n))
        modules.fill(WHITE)
        for r, row in enumerate(rows):
            for col, dark in enumerate(row):
                if dark:
                    modules.set_at((col, r), (0, 0, 0))
        scale = max(1, side // n)
        return pygame.transform.scale(modules, (n * scale, n * scale))

    def _generic(self, surface: pygame.Surface, card: Card) -> None:
        w, h = self.size
        s = self.scale
        top, bottom = _mix(card.accent, WHITE, 0.08), _mix(card.accent, (0, 0, 0), 0.45)
        band = max(1, h // 120)
        for y in range(0, h, band):
            surface.fill(_mix(top, bottom, y / h), pygame.Rect(0, y, w, band))
        art = pygame.Rect(round(w * 0.56), round(h * 0.14), round(w * 0.38), round(h * 0.72))
        if card.image:
            self._image_or_placeholder(surface, card, art)
        x, column = round(130 * s), round(w * 0.48)
        lines = self.wrap(self.font(110, card.large_text), card.headline, column, 3)
        text_lines = self.wrap(self.font(50, card.large_text), card.text, column, 3) if card.text else []
        height = len(lines) * self.font(110, card.large_text).get_linesize() + len(text_lines) * round(
            self.font(50, card.large_text).get_linesize() * 1.1
        )
        y = max(round(80 * s), (h - height) // 2)
        if card.headline:
            pygame.draw.rect(surface, WHITE, pygame.Rect(x, y - round(50 * s), round(120 * s), round(12 * s)))
        y = self._text(surface, card.headline, self.font(110, card.large_text), WHITE, x, y, column, 3, 1.0)
        if card.text:
            body = self.font(50, card.large_text)
            self._text(surface, card.text, body, (236, 236, 242), x, y + round(24 * s), column, 3)

    def _override(self, surface: pygame.Surface, card: Card) -> None:
        """An operations message over everything: the card's colour (alarm or calm) full screen, a
        warning sign, the title large and the body below, centred, in the store's language."""
        w, h = self.size
        s = self.scale
        surface.fill(card.accent)
        band = pygame.Rect(0, 0, w, round(18 * s))
        surface.fill(WHITE, band)
        surface.fill(WHITE, band.move(0, h - band.height))
        cx, top = w // 2, round(140 * s)
        side = round(170 * s)
        triangle = [
            (cx, top),
            (cx - side // 2 - round(20 * s), top + side),
            (cx + side // 2 + round(20 * s), top + side),
        ]
        pygame.draw.polygon(surface, WHITE, triangle)
        mark = self.font(130).render("!", True, card.accent)
        surface.blit(mark, mark.get_rect(center=(cx, top + round(side * 0.62))))
        column = round(w * 0.8)
        y = top + side + round(70 * s)
        title_font, body_font = self.font(120), self.font(60)
        for line in self.wrap(title_font, card.headline, column, 2):
            rendered = title_font.render(line, True, WHITE)
            surface.blit(rendered, rendered.get_rect(midtop=(cx, y)))
            y += title_font.get_linesize()
        y += round(30 * s)
        for line in self.wrap(body_font, card.text, column, 4) if card.text else []:
            rendered = body_font.render(line, True, (250, 238, 238))
            surface.blit(rendered, rendered.get_rect(midtop=(cx, y)))
            y += round(body_font.get_linesize() * 1.1)


def render_unkerned(font: pygame.font.Font, text: str, colour: tuple[int, int, int]) -> pygame.Surface:
    """``text`` glyph by glyph at each glyph's own advance: no kerning, for codes a shopper types.

    FreeSans Bold's kerning table has *positive* pairs between capitals and figures (at 64 px "Q2"
    is 4 px and "XM" 3 px wider than their advances), meant for words, not codes: "OAT25-7KQ2XM"
    showed a gap between Q and 2 that read as a space. A code is set like a licence plate instead."""
    glyphs = [font.render(ch, True, colour) for ch in text]
    advances = [m[4] if m is not None else g.get_width() for m, g in zip(font.metrics(text), glyphs, strict=True)]
    width = max(1, sum(advances[:-1]) + (glyphs[-1].get_width() if glyphs else 0))
    surface = pygame.Surface((width, font.get_height()), pygame.SRCALPHA)
    x = 0
    for glyph, advance in zip(glyphs, advances, strict=True):
        surface.blit(glyph, (x, 0))
        x += advance
    return surface
