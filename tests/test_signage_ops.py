"""Screen operations on the player side: the override card (parsed, timed from its first receipt,
drawn full screen), the screenshot of the presented frame as JPEG from the real player process (SDL's
dummy driver), and the frozen-screen watchdog's verdicts."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

import pygame
import pytest

from edge.errors import DownlinkError
from edge.signage import protocol as p
from edge.signage.cards import Card
from edge.signage.override import ALARM, CALM, active_override, override_card, parse_override
from edge.signage.render import BUNDLED_CONTENT, CardRenderer, ContentCache
from edge.signage.watchdog import FrozenScreenDetector
from edge.tasks import cancel_and_wait
from tests.helpers import START

W, H = 480, 270


# --- the override payload --------------------------------------------------------------------------


def test_override_lasts_its_ttl_from_the_first_receipt_and_clears() -> None:
    payload = b'{"id": "evac-1", "priority": 90, "title": {"de": "Bitte verlassen Sie", "en": "Please leave"}, '
    payload += b'"body": "Exit A", "ttl_s": 600}'
    override = parse_override(payload)
    assert override is not None
    first_seen = START
    # a restart 5 minutes in: the broker re-sends the retained message, the first receipt is kept
    assert active_override(override, first_seen, START + 300) is override
    assert active_override(override, first_seen, START + 599.9) is override
    assert active_override(override, first_seen, START + 600) is None
    card = override_card(override, 7, "de")
    assert (card.kind, card.headline, card.text, card.accent) == ("override", "Bitte verlassen Sie", "Exit A", ALARM)
    assert override_card(override, 7, "fr").headline in {"Bitte verlassen Sie", "Please leave"}
    assert parse_override(b"") is None
    assert parse_override(b'{"id": "evac-1", "clear": true}') is None


def test_override_until_and_priority_and_bad_payloads() -> None:
    override = parse_override(
        b'{"id": "till", "priority": 20, "title": "Till 3 closes", "until": "2026-11-23T10:05:00Z"}'
    )
    assert override is not None
    assert active_override(override, START, START + 299) is not None
    assert active_override(override, START, START + 300) is None
    assert override_card(override, 1, "en").accent == CALM
    with pytest.raises(DownlinkError, match=r"\$.priority"):
        parse_override(b'{"id": "x", "priority": 500, "title": "t"}')
    with pytest.raises(DownlinkError, match="title or a body"):
        parse_override(b'{"id": "x"}')
    with pytest.raises(DownlinkError, match=r"\$.until"):
        parse_override(b'{"id": "x", "title": "t", "until": "tomorrow"}')
    # bounded as an offer's headline and text (session 49: they were not)
    assert parse_override(json.dumps({"id": "x", "title": "t" * 400, "body": {"en": "b" * 2000}}).encode())
    with pytest.raises(DownlinkError, match=r"\$.title: Expected `str` of length <= 400"):
        parse_override(json.dumps({"id": "x", "title": "t" * 401}).encode())
    with pytest.raises(DownlinkError, match=r"\$.body\[...\]: Expected `str` of length <= 2000"):
        parse_override(json.dumps({"id": "x", "title": "t", "body": {"en": "b" * 1_000_000}}).encode())


@pytest.fixture(scope="module")
def renderer() -> Iterator[CardRenderer]:
    pygame.display.init()
    pygame.font.init()
    pygame.display.set_mode((W, H))
    yield CardRenderer((W, H), ContentCache([BUNDLED_CONTENT]))
    pygame.quit()


def test_the_override_card_fills_the_screen_in_its_colour(renderer: CardRenderer) -> None:
    override = parse_override(
        b'{"id": "e", "priority": 95, "title": "Bitte verlassen Sie den Markt", "body": "Ausgang A"}'
    )
    assert override is not None
    surface = renderer.render(override_card(override, 1, "de"))
    corners = [(5, 40), (W - 5, 40), (5, H - 40), (W - 5, H - 40)]
    assert all(tuple(surface.get_at(xy))[:3] == ALARM for xy in corners)
    white = sum(
        1 for x in range(0, W, 3) for y in range(60, H - 30, 3) if tuple(surface.get_at((x, y)))[:3] == (255, 255, 255)
    )
    assert white > 100, "the title and the sign are drawn"


# --- the player process: override on screen, screenshot of the presented frame ---------------------


class Player:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.reports: asyncio.Queue[p.Report] = asyncio.Queue()

    async def send(self, command: p.Command) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(p.encoder.encode(command) + b"\n")
        await self.process.stdin.drain()

    async def wait(self, kind: type[p.Report], within_s: float = 20.0) -> p.Report:
        async with asyncio.timeout(within_s):
            while True:
                report = await self.reports.get()
                if isinstance(report, kind):
                    return report

    async def alone(self, play: int, within_s: float = 20.0) -> p.Heartbeat:
        """The first heartbeat of ``play`` after its crossfade: from then on it is alone on screen (a
        fixed sleep past the crossfade raced the player on a loaded machine)."""
        async with asyncio.timeout(within_s):
            while True:
                report = await self.reports.get()
                if isinstance(report, p.Heartbeat) and report.play == play and not report.fading:
                    return report


@asynccontextmanager
async def player(width: int = W, height: int = H) -> AsyncIterator[Player]:
    settings = p.PlayerSettings(backend="headless", width=width, height=height, crossfade_s=0.2, heartbeat_s=0.2)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edge.signage.player", p.encoder.encode(settings).decode(),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        limit=p.REPORT_LINE_LIMIT_BYTES,
    )  # fmt: skip
    handle = Player(process)

    async def read() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            await handle.reports.put(p.report_decoder.decode(line))

    reader = asyncio.create_task(read())
    try:
        await handle.wait(p.Ready)
        yield handle
    finally:
        await handle.send(p.Quit())
        async with asyncio.timeout(10):
            await process.wait()
        await cancel_and_wait(reader)


async def test_override_on_screen_and_a_screenshot_of_the_presented_frame() -> None:
    async with player() as screen:
        override = parse_override(b'{"id": "e", "priority": 95, "title": "Please leave by exit A", "ttl_s": 60}')
        assert override is not None
        sent = time.monotonic()
        await screen.send(p.Show(override_card(override, 1, "en")))
        started = await screen.wait(p.Started)
        assert isinstance(started, p.Started)
        assert started.play == 1
        assert started.mono - sent < 1.0, "the override's first frame within a second"
        await screen.alone(1)  # past the crossfade: the override alone on screen
        await screen.send(p.Screenshot("r-1"))
        shot = await screen.wait(p.Shot)
        assert isinstance(shot, p.Shot)
        assert shot.request_id == "r-1"
        assert shot.jpeg[:2] == b"\xff\xd8", "JPEG bytes"
        image = pygame.image.load(io.BytesIO(shot.jpeg), "shot.jpg")
        assert image.get_size() == (W, H)
        r, g, b = tuple(image.get_at((10, H // 2)))[:3]
        assert abs(r - ALARM[0]) < 12
        assert abs(g - ALARM[1]) < 12
        assert abs(b - ALARM[2]) < 12


async def test_heartbeat_digests_change_with_the_presented_picture() -> None:
    async with player() as screen:
        await screen.send(p.Show(Card(play=1, kind="generic", headline="One", accent=(0, 102, 153))))
        first = await screen.alone(1)  # not a heartbeat queued during the crossfade
        await screen.send(p.Show(Card(play=2, kind="generic", headline="Two", accent=(200, 16, 46))))
        second = await screen.alone(2)
        assert first.digest != second.digest


# --- the frozen-screen watchdog (pure) -------------------------------------------------------------


def beats(detector: FrozenScreenDetector, start: float, seconds: float, digest: object, fading: bool = False) -> float:
    t = start
    while t < start + seconds:
        detector.observe(t, hash(digest) if not isinstance(digest, int) else digest, fading)
        t += 0.5
    return t


def test_a_living_screen_is_never_frozen() -> None:
    detector = FrozenScreenDetector()
    detector.reset(0.0)
    t = beats(detector, 0.0, 60, 1)  # a still card: the same digest is fine when nothing should change
    assert detector.verdict(t) is None
    detector.expect_change(t)
    detector.observe(t + 0.5, 2, True)  # the fade began
    detector.observe(t + 1.0, 3, False)
    assert detector.verdict(t + 1.0) is None
    t = beats(detector, t + 1.5, 60, 3)  # the new card stays up
    assert detector.verdict(t) is None


def test_frozen_when_heartbeats_stop_a_fade_sticks_or_a_new_card_never_shows() -> None:
    detector = FrozenScreenDetector()
    detector.reset(0.0)
    beats(detector, 0.0, 5, 1)
    assert detector.verdict(9.0) is None
    assert detector.verdict(14.6) == "no-heartbeat"  # last beat at 4.5 s

    detector.reset(0.0)
    t = beats(detector, 0.0, 12, 7, fading=True)
    assert detector.verdict(t) == "stuck-fade"

    detector.reset(0.0)
    t = beats(detector, 0.0, 2, 1)
    detector.expect_change(t)
    t2 = beats(detector, t, 9.5, 1)
    assert detector.verdict(t2) is None
    t3 = beats(detector, t2, 1.0, 1)
    assert detector.verdict(t3) == "unchanged"
    assert t3 - t <= 30.0
