"""The screen-side items of #19 on a real X server: the player with SDL's X11 driver on an Xvfb this
test starts (the fixture of tests/test_signage_window.py), the X server's root window read back with
``xwd`` and compared with what the renderer draws off screen (SDL's dummy driver, in this process).

- the **override** fills the real screen in its colour within a second of the command;
- the **screenshot** (``Screenshot`` → ``Shot``) is the frame the X server shows, not a re-render;
- the **frozen-screen watchdog** kills a stopped X11 player, and the new one takes the display back
  and shows the card again;
- **discretion**: a targeted offer about a personal fact is not what the screen shows; the "your
  offer" label is on the screen over an offer aimed at the shopper, not over one for everyone;
- **typesetting**: the X server shows, pixel for pixel, what the renderer sets (so the kerning, the
  widow rule and the glyph checks of tests/test_signage_typesetting.py hold on a real screen), in
  DejaVu Sans Bold with its own ₺, and with the bundled font ``TL`` in its place.

Every comparison with the off-screen render found the frames identical here (mean step 0.0); the
JPEG differs from the X server's frame by 0.9 steps of 255 on average.

Needs Xvfb, xwd (Debian: xvfb, x11-apps) and fonts-dejavu-core; ``make test`` installs them. Missing:
the tests fail and say so, they are not skipped.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, suppress

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import msgspec
import numpy as np
import pygame
import pytest

from edge.signage import protocol as p
from edge.signage.caps import CapLedger
from edge.signage.cards import Card, card_for, format_price
from edge.signage.decide import Inputs, ScreenDecider
from edge.signage.fonts import BUNDLED, find_typeface
from edge.signage.offers import parse_offers, parse_rules
from edge.signage.override import ALARM, override_card, parse_override
from edge.signage.render import BUNDLED_CONTENT, CardRenderer, ContentCache
from edge.signage.supervisor import PlayerProcess
from tests.test_signage_engine import here, roster, rules_bytes, shopper
from tests.test_signage_schedule import MONDAY_0730_BERLIN, STORE, catalogue, offer
from tests.test_signage_window import H, W, screenshot, xvfb

__all__ = ["xvfb"]  # the fixture, imported for pytest

pytestmark = pytest.mark.timeout(60)

REPORT_WAIT_S = 15.0
"""Longest wait for a report of the player under test (it starts in ~1 s on the 2-core CI machine)."""
SAME_MEAN_STEP = 1.0
"""Mean absolute difference (of 255, per channel) under which two frames are the same picture."""
JPEG_MEAN_STEP = 4.0
"""The same for a JPEG (quality 85) of the frame: its compression error is about 1-2 steps."""

Render = Callable[[Card, str], pygame.Surface]


@pytest.fixture(scope="module")
def offscreen() -> Iterator[Render]:
    """Cards drawn in this process at the X screen's size with SDL's dummy driver (no window on the X
    server under test), per typeface setting ("" the system's DejaVu, "bundled" pygame's)."""
    before = os.environ.get("SDL_VIDEODRIVER")
    os.environ["SDL_VIDEODRIVER"] = "dummy"
    try:
        pygame.display.init()
        pygame.font.init()
        pygame.display.set_mode((W, H))
    finally:
        if before is None:
            del os.environ["SDL_VIDEODRIVER"]
        else:
            os.environ["SDL_VIDEODRIVER"] = before
    renderers: dict[str, CardRenderer] = {}

    def render(card: Card, font: str = "") -> pygame.Surface:
        if font not in renderers:
            renderers[font] = CardRenderer((W, H), ContentCache([BUNDLED_CONTENT]), find_typeface(font))
        return renderers[font].render(card)

    yield render
    pygame.quit()


def mean_step(a: pygame.Surface, b: pygame.Surface) -> float:
    """Mean absolute difference of two same-sized pictures, in steps of 255 per channel."""
    assert a.get_size() == b.get_size()
    diff = pygame.surfarray.array3d(a).astype(np.int16) - pygame.surfarray.array3d(b).astype(np.int16)
    return float(np.abs(diff).mean())


class Screen:
    """A window player on the X server, its reports kept."""

    def __init__(self, player: PlayerProcess, reports: list[p.Report]) -> None:
        self.player = player
        self.reports = reports

    async def report(self, match: Callable[[p.Report], bool], after: int = 0) -> tuple[int, p.Report]:
        """The first report from index ``after`` on that ``match`` says yes to, and its index (bounded
        wait; polled: the reports list is filled by the supervisor's reader)."""
        async with asyncio.timeout(REPORT_WAIT_S):
            while True:
                for index in range(after, len(self.reports)):
                    if match(self.reports[index]):
                        return index, self.reports[index]
                await asyncio.sleep(0.02)

    async def alone(self, play: int, after: int) -> p.Started:
        """Wait for ``play``'s first frame after report ``after``, then until it is alone on screen (a
        heartbeat of it after the crossfade)."""
        index, started = await self.report(lambda r: isinstance(r, p.Started) and r.play == play, after)
        assert isinstance(started, p.Started)
        await self.report(lambda r: isinstance(r, p.Heartbeat) and r.play == play and not r.fading, index)
        await asyncio.sleep(0.05)  # the X server has the frame of that heartbeat
        return started

    async def presented(self, card: Card) -> float:
        """Show ``card`` and wait until it is alone on screen (a heartbeat of it after the crossfade);
        returns the seconds from the command to its first presented frame."""
        mark = len(self.reports)
        sent = time.monotonic()
        self.player.show(card)
        started = await self.alone(card.play, mark)
        return started.mono - sent


@asynccontextmanager
async def x11_player(font: str = "", **settings: object) -> AsyncIterator[Screen]:
    reports: list[p.Report] = []
    config = p.PlayerSettings(
        backend="window", width=W, height=H, fullscreen=True, crossfade_s=0.2, heartbeat_s=0.2, font=font
    )
    config = msgspec.structs.replace(config, **settings)
    async with PlayerProcess(config, reports.append) as player:
        await player.wait_ready()
        assert player.driver == "x11"
        yield Screen(player, reports)


async def root_window(display: str) -> pygame.Surface:
    return await asyncio.to_thread(screenshot, display)


# --- override and screenshot -----------------------------------------------------------------------


async def test_the_override_fills_the_real_screen_and_the_screenshot_is_the_frame_it_shows(
    xvfb: str, offscreen: Render
) -> None:
    override = parse_override(b'{"id": "exit-b", "priority": 90, "title": "Exit B is closed", "ttl_s": 600}')
    assert override is not None
    card = override_card(override, 2, "en")
    async with x11_player() as screen:
        await screen.presented(Card(play=1, kind="generic", headline="Fresh every morning", accent=(0, 102, 153)))
        took = await screen.presented(card)
        shown = await root_window(xvfb)
        shot = await screen.player.screenshot("r-1", 5.0)
    assert took < 1.0, f"the override's first frame {took:.3f} s after the command"
    corners = [(5, 40), (W - 5, 40), (5, H - 40), (W - 5, H - 40)]
    assert all(tuple(shown.get_at(xy))[:3] == ALARM for xy in corners), "the alarm colour to the screen's edges"
    assert mean_step(shown, offscreen(card, "")) < SAME_MEAN_STEP, "the X server shows what the renderer drew"
    assert shot.request_id == "r-1"
    jpeg = pygame.image.load(io.BytesIO(shot.jpeg), "shot.jpg")
    assert jpeg.get_size() == (W, H)
    assert mean_step(jpeg, shown) < JPEG_MEAN_STEP, "the JPEG is the frame on the X server"
    before = offscreen(Card(play=1, kind="generic", headline="Fresh every morning", accent=(0, 102, 153)), "")
    assert mean_step(jpeg, before) > 20 * JPEG_MEAN_STEP, "and not the card before it"


# --- the frozen-screen watchdog --------------------------------------------------------------------


async def test_a_stopped_x11_player_is_restarted_and_shows_its_card_again(xvfb: str, offscreen: Render) -> None:
    card = Card(play=1, kind="generic", headline="Fresh every morning", image="apples.png", accent=(0, 128, 96))
    async with x11_player() as screen:
        player = screen.player
        player.watchdog.frozen_after_s = 2.0  # 10 s in service; the path is the same
        await screen.presented(card)
        pid = player.pid
        assert pid is not None
        mark = len(screen.reports)
        os.kill(pid, signal.SIGSTOP)
        try:
            stopped = time.monotonic()
            # the new player's Ready, then the last card, which the supervisor sends it again
            ready, _ = await screen.report(lambda r: isinstance(r, p.Ready), mark)
            assert player.frozen_restarts == 1
            assert player.pid not in (None, pid)
            assert player.driver == "x11"
            await screen.alone(card.play, ready)
            back_s = time.monotonic() - stopped
            shown = await root_window(xvfb)
        finally:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert player.frozen_restarts == 1
    assert back_s < 30
    assert mean_step(shown, offscreen(card, "")) < SAME_MEAN_STEP, "the card is back on the X server"


# --- discretion ------------------------------------------------------------------------------------


def decided_card(offers: list[dict[str, object]], token: str = "s-1") -> Card:
    cat = parse_offers(catalogue(offers))
    decider = ScreenDecider(STORE, CapLedger())
    viewer = shopper(token, segments=("families",))
    play = decider.step(Inputs(MONDAY_0730_BERLIN, roster([viewer]), [here(token)], cat, parse_rules(rules_bytes([]))))
    assert play is not None
    return card_for(play, cat, 1)


def label_pixels(frame: pygame.Surface, accent: tuple[int, int, int]) -> int:
    """Pixels in the label's place (above the headline, right half) in the card's accent colour."""
    box = pygame.Rect(int(W * 0.47), int(H * 0.06), int(W * 0.2), int(H * 0.07))
    return sum(
        1
        for x in range(box.left, box.right, 2)
        for y in range(box.top, box.bottom, 2)
        if tuple(frame.get_at((x, y)))[:3] == accent
    )


async def test_discretion_on_the_real_screen(xvfb: str, offscreen: Render) -> None:
    sensitive = offer(
        1, category="baby", priority=90, headline={"en": "For your baby"}, target={"segments": ["families"]}
    )
    for_all = offer(2, category="food", priority=50, headline={"en": "Fresh bread for all"})
    kept_off = decided_card([sensitive, for_all])
    assert kept_off.headline == "Fresh bread for all", "the targeted baby offer stays off the public screen"
    assert kept_off.label is None, "no 'your offer' over an offer for everyone"
    targeted = decided_card([{**sensitive, "public_safe": True}, for_all])
    assert targeted.headline == "For your baby"
    assert targeted.label is not None
    async with x11_player() as screen:
        await screen.presented(kept_off)
        public = await root_window(xvfb)
        await screen.presented(msgspec.structs.replace(targeted, play=2))
        personal = await root_window(xvfb)
    assert mean_step(public, offscreen(kept_off, "")) < SAME_MEAN_STEP
    assert mean_step(personal, offscreen(targeted, "")) < SAME_MEAN_STEP
    assert label_pixels(public, kept_off.accent) == 0, "no label on the screen"
    assert label_pixels(personal, targeted.accent) > 50, "the label pill on the screen"


# --- typesetting -----------------------------------------------------------------------------------


def price_card(price: str) -> Card:
    return Card(
        play=1, kind="offer", headline="Taze kavrulmuş kahve, 500 g", text="Bölgeden, her sabah taze.",
        price=price, image="coffee.png", accent=(0, 102, 153), language="tr",
    )  # fmt: skip


@pytest.mark.parametrize("font", ["", BUNDLED])
async def test_the_x_server_shows_the_typeface_the_renderer_sets(xvfb: str, offscreen: Render, font: str) -> None:
    if font == "" and find_typeface().path is None:
        pytest.fail("DejaVu Sans Bold is missing: install the Debian package fonts-dejavu-core (make test does)")
    lira = price_card(format_price(1999, "TRY", "tr"))
    assert lira.price == "19,99 ₺"
    spelled = msgspec.structs.replace(lira, price="19,99 TL")
    async with x11_player(font) as screen:
        await screen.presented(lira)
        shown = await root_window(xvfb)
        typeface = screen.player.font
    assert mean_step(shown, offscreen(lira, font)) < SAME_MEAN_STEP, "the frame is the renderer's, glyph for glyph"
    if font == BUNDLED:
        assert typeface.startswith("FreeSans Bold")
        assert mean_step(shown, offscreen(spelled, font)) < SAME_MEAN_STEP, "₺ spelled TL: no missing-glyph box"
    else:
        assert typeface == "DejaVuSans-Bold"
        assert mean_step(shown, offscreen(spelled, font)) > 0.05, "₺ drawn as its own glyph, not TL"
