"""SIGINT and SIGTERM for ``edge demo``, ``edge run`` and ``edge replay``: a clean exit within 5 s.

The standard library only: the command line installs it before the command's own imports, so a
signal during start-up is not lost (it stops the command as soon as it is up).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType, TracebackType
from typing import ClassVar, Self

SHUTDOWN_GRACE_S = 4.0
"""After SIGINT/SIGTERM the command must be gone within 5 s (systemd's TimeoutStopSec is 10 s,
a person at Ctrl-C waits less): a clean stop takes well under a second (the last batch, the
player's quit); one that has not finished after this long is forced."""


class Shutdown:
    """SIGINT and SIGTERM for one command, whatever state it is in.

    The first signal calls every ``on_request`` callback at once (in the main thread, between two
    bytecodes, so even a replay busy in the pure core sees it: set an event or a flag there, no
    more) and wakes the event loop. A second signal, or a stop still unfinished after
    :data:`SHUTDOWN_GRACE_S`, removes the ``cleanup`` folders and exits at once with 128 + the
    signal's number (130 for SIGINT, 143 for SIGTERM); child processes (the signage player) end
    when their stdin closes. Python-level handlers (``signal.signal``), not the event loop's: they
    run even while the loop is busy or not running yet (or any more).
    """

    active: ClassVar[Shutdown | None] = None
    """The installed one (the command line's), if any."""

    def __init__(self) -> None:
        self.signal: int | None = None
        """The first signal received, if any."""
        self.cleanup: list[Path] = []
        self._callbacks: list[Callable[[], None]] = []
        self._loops: list[asyncio.AbstractEventLoop] = []
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Self:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._on_signal)
        Shutdown.active = self
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        Shutdown.active = None

    def on_request(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` on the first signal (at once if it has already come)."""
        self._callbacks.append(callback)
        if self.signal is not None:
            callback()

    def stop_event(self) -> asyncio.Event:
        """An event of the running loop, set on the first signal."""
        stop = asyncio.Event()
        self._loops.append(asyncio.get_running_loop())
        self.on_request(stop.set)
        return stop

    @property
    def exit_code(self) -> int:
        return 0 if self.signal is None else 128 + self.signal

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None:
            self.force(signum)
        self.signal = signum
        timer = threading.Timer(SHUTDOWN_GRACE_S, self.force, args=(signum,))
        timer.daemon = True
        timer.start()
        for callback in self._callbacks:
            callback()
        for loop in self._loops:
            with contextlib.suppress(RuntimeError):  # a loop already closed
                loop.call_soon_threadsafe(lambda: None)

    def force(self, signum: int) -> None:
        """Exit now: the temporary folders go first (no logging here: this may run in a signal handler)."""
        for path in self.cleanup:
            shutil.rmtree(path, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.write(2, b"edge: forced exit\n")
        os._exit(128 + signum)


@contextlib.contextmanager
def handling() -> Iterator[Shutdown]:
    """The installed :class:`Shutdown` (the command line's), or a new one for the block."""
    if Shutdown.active is not None:
        yield Shutdown.active
        return
    with Shutdown() as shutdown:
        yield shutdown
