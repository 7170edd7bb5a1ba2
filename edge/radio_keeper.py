"""An engine's learned radio kept in ``{state_dir}`` across restarts (issue 13): the grid engine's ``radio.json``, the
threshold engine's ``offsets.json``.

What is kept and why: :mod:`edge.presence_grid_memory`, :mod:`edge.presence_offsets_memory`; the file's format and
checks: :mod:`edge.radio_file`. :class:`RadioKeeper` reads the file once when the gateway
starts (before the first sighting) and hands it to the engine; it writes the radio in use at each health event
(``presence.health_interval_s``) when it changed since the last write, and once more when the gateway stops.

A file that cannot be used -- unreadable, not ours, of another version, learned on another layout, a value out of
bounds -- is logged once with its path and why, counted (``radio_memory_rejected``), and the engine starts cold, as
with no file: a kept radio is a head start, never a requirement. The radio this start learns replaces it at the
first health event that has one to keep. A write that fails (a
full disk, a read-only ``state_dir``) is logged and counted (``radio_memory_save_errors``) and tried again at the
next health event; the engine goes on with what it learned either way.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from edge.atomic import write_atomic
from edge.config import Config, ScannerConfig
from edge.radio_file import MEMORY_MAX_BYTES, Kept, KeptFile

log = logging.getLogger(__name__)

M = TypeVar("M")


class Remembers(Protocol[M]):
    """An engine that keeps a radio: what it has in use (None: nothing to keep), and a start from a kept one."""

    def memory(self) -> M | None: ...

    def recall(self, radio: M) -> None: ...


def read_kept(path: Path, layout: str, scanners: tuple[ScannerConfig, ...], kept: Kept[M]) -> KeptFile[M] | str | None:
    """The kept radio at ``path`` (``kept.read``), why it cannot be used, or None when there is no file (``edge
    doctor`` reads it the same way)."""
    try:
        with path.open("rb") as file:
            data = file.read(MEMORY_MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as err:
        return f"cannot be read: {err.strerror or err}"
    return kept.read(data, layout, scanners)


class RadioKeeper(Generic[M]):
    """Keeps ``engine``'s radio in ``state_dir`` / ``kept.file``."""

    def __init__(self, engine: Remembers[M], kept: Kept[M], config: Config, state_dir: Path) -> None:
        self.engine = engine
        self.kept = kept
        self.path = state_dir / kept.file
        self._scanners = config.scanners
        self.layout = kept.layout(config)
        self._written: M | None = None
        """The radio last written or read (nothing to write while it is the one in use)."""
        self.loaded = 0
        """1 when this start began from a kept radio."""
        self.rejected = 0
        self.saved = 0
        self.save_errors = 0

    def load(self) -> M | None:
        """Read the kept radio and start the engine from it; None (the engine cold) when there is none or it cannot
        be used (logged with the file's path and why)."""
        found = read_kept(self.path, self.layout, self._scanners, self.kept)
        if found is None:
            return None
        if isinstance(found, str):
            self._reject(found)
            return None
        radio = found.radio
        self.engine.recall(radio)
        self._written = radio
        self.loaded = 1
        log.info("%s: starting from the radio learned before: %s", self.path, self.kept.describe(radio))
        return radio

    def _reject(self, why: str) -> None:
        self.rejected += 1
        log.warning("%s: %s; the presence engine starts from the configured radio", self.path, why)

    def due(self, now: float) -> bytes | None:
        """The file's new bytes when the radio in use differs from the one last written, else None (read on the
        event loop: the engine is not to be read from another thread)."""
        memory = self.engine.memory()
        if memory is None or memory == self._written:
            return None
        self._written = memory
        return self.kept.encode(memory, self.layout, now)

    def write(self, data: bytes) -> None:
        """Write ``data`` (:meth:`due`) atomically; a failure is logged and counted, never raised."""
        try:
            write_atomic(self.path, data)
        except OSError as err:
            self.save_errors += 1
            self._written = None  # (tried again at the next health event)
            log.warning("%s: cannot write the learned radio: %s", self.path, err.strerror or err)
            return
        self.saved += 1

    async def save(self, now: float) -> None:
        """At a health event: write the radio in use if it changed (off the event loop)."""
        data = self.due(now)
        if data is not None:
            await asyncio.to_thread(self.write, data)

    def close(self, now: float) -> None:
        """When the gateway stops: write the radio in use if it changed."""
        data = self.due(now)
        if data is not None:
            self.write(data)

    def health(self) -> dict[str, int]:
        """Counters for ``edge.gateway.health``."""
        return {
            "radio_memory_loaded": self.loaded,
            "radio_memory_rejected": self.rejected,
            "radio_memory_saved": self.saved,
            "radio_memory_save_errors": self.save_errors,
        }
