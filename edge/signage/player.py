"""The player process: pygame on a window (fullscreen; KMSDRM on a Pi) or headless (SDL's dummy
driver, PNG frames on request or every N s). ``python -m edge.signage.player SETTINGS_JSON``.

It runs in its own process so nothing it does (a wedged display driver, a crash in SDL, a slow
frame) can stop capture or sync; the gateway restarts it (:mod:`edge.signage.supervisor`).
Three threads: the frame loop (compose and present at ``fps``), a builder that renders the next
card completely before it may enter (preloaded: a transition never waits on a half-drawn item),
and a writer for PNG and JPEG files (a screenshot is the presented frame, copied right after the
flip, encoded off the frame loop). Commands arrive on stdin, reports leave on the original stdout; the
process ends when stdin closes (the gateway is gone).
"""

from __future__ import annotations

import io
import logging
import os
import queue
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

import msgspec

from edge.signage import protocol as p
from edge.signage.watchdog import DIGEST_SIZE, frame_digest

log = logging.getLogger("edge.signage.player")


class _Out:
    """Reports to the gateway, one JSON line each, from any thread."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def send(self, report: p.Report) -> None:
        line = p.encoder.encode(report) + b"\n"
        with self._lock:
            self._stream.write(line)
            self._stream.flush()


def _read_commands(commands: queue.Queue[p.Command | None]) -> None:
    for line in sys.stdin.buffer:
        try:
            commands.put(p.command_decoder.decode(line))
        except msgspec.DecodeError as err:
            log.error("bad command from the gateway ignored: %s", err)
    commands.put(None)


def run(settings: p.PlayerSettings, out: _Out) -> int:
    if settings.backend == "headless":
        os.environ["SDL_VIDEODRIVER"] = "dummy"
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    from edge.signage.cards import Card, boot_card
    from edge.signage.compose import Compositor
    from edge.signage.fonts import find_typeface
    from edge.signage.render import BUNDLED_CONTENT, CardRenderer, ContentCache

    pygame.display.init()
    pygame.font.init()
    flags = pygame.FULLSCREEN if settings.backend == "window" and settings.fullscreen else 0
    screen = pygame.display.set_mode((settings.width, settings.height), flags)
    pygame.display.set_caption(settings.title)
    if flags:
        pygame.mouse.set_visible(False)
    dirs = [Path(d) for d in settings.content_dirs] + [BUNDLED_CONTENT]
    renderer = CardRenderer(screen.get_size(), ContentCache(dirs), find_typeface(settings.font))
    compositor = Compositor(renderer.render(boot_card()), 0, settings.crossfade_s)

    commands: queue.Queue[p.Command | None] = queue.Queue()
    built: queue.Queue[tuple[int, pygame.Surface | None]] = queue.Queue()
    threading.Thread(target=_read_commands, args=(commands,), name="player-stdin", daemon=True).start()
    builder = ThreadPoolExecutor(1, thread_name_prefix="player-build")
    writer = ThreadPoolExecutor(1, thread_name_prefix="player-png")

    def build(card: Card) -> None:
        try:
            built.put((card.play, renderer.render(card)))
        except Exception:  # a bad card must not end the player: the old item stays up
            log.exception("card for play %d could not be drawn", card.play)
            built.put((card.play, None))

    def save(frame: pygame.Surface, path: str) -> None:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            pygame.image.save(frame, path)
        except (pygame.error, OSError) as err:
            log.error("cannot write the frame %s: %s", path, err)
            return
        out.send(p.Saved(path, time.monotonic()))

    def shoot(frame: pygame.Surface, request_id: str, mono: float) -> None:
        buffer = io.BytesIO()
        try:
            pygame.image.save(frame, buffer, "frame.jpg")
        except pygame.error as err:
            log.error("cannot encode the screenshot %s: %s", request_id, err)
            return
        out.send(p.Shot(request_id, buffer.getvalue(), mono))

    def digest(frame: pygame.Surface) -> int:
        return frame_digest(pygame.image.tobytes(pygame.transform.scale(frame, DIGEST_SIZE), "RGB"))

    out.send(p.Ready(time.monotonic(), pygame.display.get_driver(), renderer.typeface.name))
    latest = 0
    frame_s = 1.0 / settings.fps
    next_frame = last_presented = time.monotonic()
    next_heartbeat = next_png = next_frame
    frames, worst_ms, png_index = 0, 0.0, 0
    snapshots: list[str] = []
    shots: list[str] = []
    try:
        while True:
            try:
                while True:
                    command = commands.get_nowait()
                    if command is None or isinstance(command, p.Quit):
                        return 0
                    if isinstance(command, p.Show):
                        latest = command.card.play
                        builder.submit(build, command.card)
                    elif isinstance(command, p.Screenshot):
                        shots.append(command.request_id)
                    else:
                        snapshots.append(command.path)
            except queue.Empty:
                pass
            try:
                while True:
                    play, surface = built.get_nowait()
                    if surface is None or play != latest:
                        out.send(p.Dropped(play))
                        continue
                    replaced = compositor.enter(surface, play)
                    if replaced is not None:
                        out.send(p.Dropped(replaced))
            except queue.Empty:
                pass
            started = time.monotonic()
            change = compositor.draw(screen, started)
            pygame.display.flip()
            presented = time.monotonic()
            pygame.event.pump()
            frames += 1
            worst_ms = max(worst_ms, (presented - started) * 1000)
            if change.started is not None:
                out.send(p.Started(change.started, presented))
            for ended in change.ended:
                out.send(p.Ended(ended, last_presented))
            last_presented = presented
            if settings.frames_dir and settings.frame_every_s > 0 and presented >= next_png:
                png_index += 1
                snapshots.append(str(Path(settings.frames_dir) / f"frame-{png_index:06d}.png"))
                next_png = presented + settings.frame_every_s
            for path in snapshots:
                writer.submit(save, screen.copy(), path)
            snapshots.clear()
            for request_id in shots:
                writer.submit(shoot, screen.copy(), request_id, presented)
            shots.clear()
            if presented >= next_heartbeat:
                showing = compositor.incoming_play if compositor.busy else compositor.current_play
                beat = p.Heartbeat(showing, presented, frames, round(worst_ms, 2), digest(screen), compositor.busy)
                out.send(beat)
                next_heartbeat = presented + settings.heartbeat_s
                frames, worst_ms = 0, 0.0
            next_frame = max(next_frame + frame_s, presented)
            time.sleep(max(0.0, next_frame - time.monotonic()))
    finally:
        builder.shutdown(wait=False, cancel_futures=True)
        writer.shutdown(wait=True)
        pygame.quit()


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m edge.signage.player SETTINGS_JSON", file=sys.stderr)
        return 2
    settings = msgspec.json.decode(argv[1], type=p.PlayerSettings)
    stream = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed (pygame's banner, a library) goes to stderr, not the protocol
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        return run(settings, _Out(stream))
    except BrokenPipeError:
        return 0  # the gateway went away


if __name__ == "__main__":
    sys.exit(main(sys.argv))
