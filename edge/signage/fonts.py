"""The screen's typeface: DejaVu Sans Bold from the system when it is installed, else pygame's own.

pygame ships one font, FreeSans Bold (``freesansbold.ttf``): Latin scripts, € £ zł Kč, but no lira
sign (U+20BA, 2012). DejaVu Sans Bold has every character the demo's languages, the 19 phrase
languages and the currencies need, ₺ included, and is already on nearly every Debian or Raspberry
Pi OS system: ``fonts-dejavu-core`` (fontconfig depends on it; the gateway's provisioning and
``make test`` install it). It is read from where the distribution puts it, never copied into this
repository. Without it the player draws with the bundled font and spells what it lacks as shops
write it without the sign (:data:`FALLBACK_SPELLING`: ``19,99 ₺`` → ``19,99 TL``), never as a
missing-glyph box.

Pure (no pygame): the player (:mod:`edge.signage.render`) loads the file.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

BUNDLED = "bundled"
"""``PlayerSettings.font`` naming pygame's bundled FreeSans Bold (tests, or a screen kept as before)."""

SYSTEM_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),  # Debian, Raspberry Pi OS, Ubuntu
    Path("/usr/share/fonts/TTF/DejaVuSans-Bold.ttf"),  # Arch (ttf-dejavu)
    Path("/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf"),  # Fedora (dejavu-sans-fonts)
    Path("/usr/share/fonts/dejavu/DejaVuSans-Bold.ttf"),  # Alpine (font-dejavu), older Fedora
)
"""Where distributions install DejaVu Sans Bold, the first found wins."""

FALLBACK_SPELLING = {"\u20ba": "TL"}
"""Characters the bundled font lacks → how a price tag writes them without: the Turkish lira sign
as "TL" (what Turkish price tags said before 2012 and many still do)."""


@dataclass(frozen=True, slots=True)
class Typeface:
    """The font file the cards are drawn with; ``path`` None: pygame's bundled FreeSans Bold."""

    path: Path | None

    @property
    def name(self) -> str:
        return self.path.stem if self.path is not None else "FreeSans Bold (pygame's bundled font)"


def find_typeface(setting: str = "", candidates: Iterable[Path] = SYSTEM_FONTS) -> Typeface:
    """The typeface for ``PlayerSettings.font``: "" finds DejaVu Sans Bold among ``candidates``
    (else the bundled font), :data:`BUNDLED` the bundled font, anything else a font file's path
    (the bundled font if it is not a file)."""
    if setting == BUNDLED:
        return Typeface(None)
    if setting:
        path = Path(setting)
        return Typeface(path if path.is_file() else None)
    for path in candidates:
        if path.is_file():
            return Typeface(path)
    return Typeface(None)


__all__ = ["BUNDLED", "FALLBACK_SPELLING", "SYSTEM_FONTS", "Typeface", "find_typeface"]
