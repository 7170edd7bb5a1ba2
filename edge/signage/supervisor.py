"""The gateway's side of the player process: start it, feed it, read its reports, restart it.

The player is a child process (``python -m edge.signage.player``), so a crash there (an exception,
a segfault in SDL, a kill) costs the screen a restart and nothing else: the asyncio loop only
reads its stdout. A player that exits or never becomes ready is restarted with exponential
back-off; it is sent the last card again at once, so the screen comes back where it was.

A player that lives but stopped presenting changing frames (a frame loop stuck in the display
driver, a stopped process, a picture that no longer follows the cards) is caught by the
frozen-screen watchdog (:class:`~edge.signage.watchdog.FrozenScreenDetector`): every heartbeat is fed
to it, a card that looks different from the last one tells it a change is due, and it is asked once
a second; on a verdict the player is killed and restarted like a crashed one (counted in
:attr:`PlayerProcess.frozen_restarts`). Screenshots (:meth:`PlayerProcess.screenshot`) are the JPEG of
the presented frame, read over stdout with a line limit large enough for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import Self

import msgspec

from edge import constants as c
from edge.backoff import Backoff
from edge.signage import protocol as p
from edge.signage.cards import Card
from edge.signage.watchdog import FrozenScreenDetector
from edge.tasks import cancel_and_wait

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 2.0
"""How long a quitting player may take before it is killed: it quits at its next frame (1/30 s)
or, still starting, once pygame is up (about a second); the whole gateway must be gone within
5 s of a SIGTERM."""
WATCHDOG_CHECK_S = 1.0
"""How often the frozen-screen verdict is asked: a second adds at most that to the detector's 10 s."""


class PlayerProcess:
    """See the module docstring. ``on_report`` gets every report; ``on_exit`` the exit code of a
    player that ended by itself (a crash), before the restart."""

    def __init__(
        self,
        settings: p.PlayerSettings,
        on_report: Callable[[p.Report], None],
        on_exit: Callable[[int | None], None] | None = None,
    ) -> None:
        self.settings = settings
        self._on_report = on_report
        self._on_exit = on_exit
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._last: Card | None = None
        self._ready = asyncio.Event()
        self._saved: dict[str, asyncio.Future[None]] = {}
        self._shots: dict[str, asyncio.Future[p.Shot]] = {}
        self._watch: asyncio.Task[None] | None = None
        self.watchdog = FrozenScreenDetector()
        self.restarts = 0
        self.frozen_restarts = 0
        """Players killed and restarted because their screen froze (health ``player_frozen_restarts``)."""
        self.driver = ""
        self.font = ""
        """The typeface the player draws with (its Ready report): DejaVuSans-Bold or the bundled one."""

    @property
    def closing(self) -> bool:
        return self._closing

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.returncode is None else None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._supervise(), name="signage-player")
        self._watch = asyncio.create_task(self._watch_frozen(), name="signage-watchdog")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._closing = True
        if self._watch is not None:
            await cancel_and_wait(self._watch)
        proc = self._proc
        if proc is not None and proc.returncode is None:
            self._send(p.Quit())
            if proc.stdin is not None:
                proc.stdin.close()
            try:
                async with asyncio.timeout(STOP_TIMEOUT_S):
                    await proc.wait()
            except TimeoutError:
                log.warning("the signage player did not quit in %.0f s: killed", STOP_TIMEOUT_S)
                proc.kill()
                await proc.wait()
        if self._task is not None:
            await cancel_and_wait(self._task)
        for future in self._saved.values():
            future.cancel()
        for shot in self._shots.values():
            shot.cancel()

    async def wait_ready(self, within_s: float = c.SIGNAGE_PLAYER_START_TIMEOUT_S) -> None:
        async with asyncio.timeout(within_s):
            await self._ready.wait()

    def show(self, card: Card) -> None:
        last, self._last = self._last, card
        if last is None or _looks(last) != _looks(card):
            self.watchdog.expect_change(time.monotonic())
        self._send(p.Show(card))

    async def screenshot(self, request_id: str, within_s: float) -> p.Shot:
        """The JPEG of the next presented frame (TimeoutError when none came within ``within_s``)."""
        future: asyncio.Future[p.Shot] = asyncio.get_running_loop().create_future()
        self._shots[request_id] = future
        self._send(p.Screenshot(request_id))
        try:
            async with asyncio.timeout(within_s):
                return await future
        finally:
            self._shots.pop(request_id, None)

    async def _watch_frozen(self) -> None:
        while True:
            await asyncio.sleep(WATCHDOG_CHECK_S)
            proc = self._proc
            if proc is None or proc.returncode is not None or not self._ready.is_set():
                continue
            verdict = self.watchdog.verdict(time.monotonic())
            if verdict is None:
                continue
            self.frozen_restarts += 1
            log.error("the signage screen froze (%s): restarting the player", verdict)
            self.watchdog = FrozenScreenDetector(self.watchdog.frozen_after_s)
            self._ready.clear()  # nothing more is sent to it
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)  # a stopped (SIGSTOP) process dies of it too

    async def snapshot(self, path: str, within_s: float = 10.0) -> None:
        """Ask for the screen as a PNG at ``path`` and wait until it is written."""
        future = asyncio.get_running_loop().create_future()
        self._saved[path] = future
        self._send(p.Snapshot(path))
        try:
            async with asyncio.timeout(within_s):
                await future
        finally:
            self._saved.pop(path, None)

    def _send(self, command: p.Command) -> None:
        proc = self._proc
        if proc is None or proc.stdin is None or proc.returncode is not None or not self._ready.is_set():
            return  # sent again (the last card) once a player is ready
        # A gone player: the supervisor sees its exit and restarts it.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, RuntimeError):
            proc.stdin.write(p.encoder.encode(command) + b"\n")

    async def _supervise(self) -> None:
        # No jitter: one player per gateway, nothing to spread out.
        backoff = Backoff(c.SIGNAGE_RESTART_INITIAL_S, c.SIGNAGE_RESTART_MAX_S, jitter=0.0)
        while True:
            code = await self._run_once()
            if self.closing:
                return
            if self._ready.is_set():  # it ran: a fresh crash, not a player that cannot start
                backoff.reset()
            delay = backoff.next_delay()
            self._ready.clear()
            self.restarts += 1
            log.error("the signage player exited (code %s); restarting in %.1f s", code, delay)
            if self._on_exit is not None:
                self._on_exit(code)
            await asyncio.sleep(delay)

    async def _run_once(self) -> int | None:
        env = dict(os.environ, PYGAME_HIDE_SUPPORT_PROMPT="1")
        settings = msgspec.json.encode(self.settings).decode()
        # Its own session: a Ctrl-C at the terminal goes to the gateway, which quits the player
        # itself (a player killed by the same SIGINT would be restarted in the middle of a stop).
        proc = self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "edge.signage.player", settings,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env, start_new_session=True,
            limit=p.REPORT_LINE_LIMIT_BYTES,
        )  # fmt: skip
        try:
            await self._read(proc)
        except asyncio.CancelledError:
            # Cancelled by a stop that came while this player was starting: it must not outlive us.
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        if proc.stdin is not None:
            proc.stdin.close()
        return await proc.wait()

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        try:
            async with asyncio.timeout(c.SIGNAGE_PLAYER_START_TIMEOUT_S):
                first = await proc.stdout.readline()
        except TimeoutError:
            log.error("the signage player did not start in %.0f s", c.SIGNAGE_PLAYER_START_TIMEOUT_S)
            first = b""
        if first:
            self._report(first)
        while first and not proc.stdout.at_eof():
            line = await proc.stdout.readline()
            if line:
                self._report(line)

    def _report(self, line: bytes) -> None:
        try:
            report = p.report_decoder.decode(line)
        except msgspec.DecodeError:
            log.warning("unreadable line from the signage player ignored")
            return
        if isinstance(report, p.Heartbeat):
            self.watchdog.observe(report.mono, report.digest, report.fading)
        elif isinstance(report, p.Shot):
            shot = self._shots.get(report.request_id)
            if shot is not None and not shot.done():
                shot.set_result(report)
        elif isinstance(report, p.Ready):
            self.driver = report.driver
            self.font = report.font
            self.watchdog.reset(time.monotonic())
            self._ready.set()
            if self._last is not None:
                self._send(p.Show(self._last))
        elif isinstance(report, p.Saved):
            future = self._saved.get(report.path)
            if future is not None and not future.done():
                future.set_result(None)
        self._on_report(report)


def _looks(card: Card) -> Card:
    """What a card looks like apart from its play number and per-impression code."""
    return msgspec.structs.replace(card, play=0, code=None, qr=None)
