"""A real window: the player with SDL's X11 driver on an Xvfb server this test starts, then a
screenshot of the X server's root window (``xwd``) read back pixel by pixel.

Needs Xvfb and xwd (Debian: xvfb, x11-apps; ``make test`` installs them). Missing: the test fails
and says so, it is not skipped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pygame
import pytest

from edge.signage import protocol as p
from edge.signage.cards import Card
from edge.signage.supervisor import PlayerProcess

W, H = 1280, 720
ACCENT = (0, 102, 153)
REPORT_WAIT_S = 15.0
"""Longest wait for a report of the player (it starts in ~1 s on the 2-core CI machine)."""


@pytest.fixture
def xvfb(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for tool, package in (("Xvfb", "xvfb"), ("xwd", "x11-apps")):
        if shutil.which(tool) is None:
            pytest.fail(
                f"{tool} is missing: install the Debian package {package} (make test does, via .ci/system-packages)"
            )
    read, write = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{W}x{H}x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        with os.fdopen(read) as handle:
            number = handle.readline().strip()
        if not number:
            pytest.fail("Xvfb did not start (no display number)")
        display = f":{number}"
        monkeypatch.setenv("DISPLAY", display)
        monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
        monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
        yield display
    finally:
        server.terminate()
        server.wait(10)


def screenshot(display: str) -> pygame.Surface:
    """The X server's root window as a surface, from ``xwd``'s XWD (version 7) output."""
    raw = subprocess.run(
        ["xwd", "-root", "-silent", "-display", display], capture_output=True, check=True, timeout=20
    ).stdout
    fields = struct.unpack(">25I", raw[:100])
    header_size, version, width, height = fields[0], fields[1], fields[4], fields[5]
    byte_order, bits_per_pixel, bytes_per_line, ncolors = fields[7], fields[11], fields[12], fields[19]
    assert version == 7
    assert bits_per_pixel == 32
    assert byte_order == 0, "LSB-first pixels (what Xvfb on x86 and ARM writes)"
    start = header_size + 12 * ncolors
    pixels = raw[start : start + bytes_per_line * height]
    return pygame.image.frombuffer(pixels, (width, height), "BGRA").copy()


async def test_the_window_backend_shows_the_offer_on_a_real_x_server(xvfb: str, tmp_path: Path) -> None:
    started: list[int] = []
    alone: list[int] = []
    settings = p.PlayerSettings(backend="window", width=W, height=H, fullscreen=True, crossfade_s=0.2, heartbeat_s=0.2)

    def on_report(report: p.Report) -> None:
        if isinstance(report, p.Started):
            started.append(report.play)
        if isinstance(report, p.Heartbeat) and not report.fading:
            alone.append(report.play)  # presented after the crossfade

    async with PlayerProcess(settings, on_report) as player:
        await player.wait_ready()
        assert player.driver == "x11"
        card = Card(
            play=1, kind="offer", headline="Soft nappies: 20 % off", text="For families like yours.",
            label="Your offer", price="€11.99", image="diapers.png", code="BABY20", qr="BABY20", accent=ACCENT,
        )  # fmt: skip
        player.show(card)
        # until a heartbeat of the card after its 0.2 s crossfade (a fixed 0.6 s sleep raced a
        # loaded machine: a frame mid-fade has neither pure black nor pure white in its QR code)
        async with asyncio.timeout(REPORT_WAIT_S):
            while 1 not in alone:  # noqa: ASYNC110 - the supervisor's reader fills the list
                await asyncio.sleep(0.02)
        assert started == [1]
        shot = await asyncio.to_thread(screenshot, xvfb)
    pygame.image.save(shot, str(tmp_path / "window.png"))  # kept by pytest's tmp_path for a look
    assert shot.get_size() == (W, H)
    panel = shot.get_at((8, 8))[:3]
    assert panel not in {(0, 0, 0), (255, 255, 255)}, "the image panel's tint fills the left edge"
    qr_area = {shot.get_at((x, y))[:3] for x in range(W - 200, W - 80, 2) for y in range(H - 200, H - 80, 2)}
    assert (0, 0, 0) in qr_area
    assert (255, 255, 255) in qr_area
    price_area = {shot.get_at((x, y))[:3] for x in range(int(W * 0.5), int(W * 0.7), 2) for y in range(200, 420, 2)}
    assert ACCENT in price_area, "the price in the accent colour"
