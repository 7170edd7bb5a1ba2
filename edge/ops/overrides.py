"""Remote config overrides (``cdp/v1/{store}/{gateway}/config``): validated, persisted, rolled back.

The config is a frozen value the gateway is built from, so an override takes effect by a restart:

1. A downlink arrives (MQTT, or a trace's downlink line). :func:`edge.config.apply_override`
   validates it against the file config (pure). Invalid: :class:`DownlinkError` — counted, logged
   with the key, not persisted by edge.sync; the config in force stays (nothing to roll back).
2. Valid and different from the override in force: written atomically to
   ``{state_dir}/config-override.json`` (the previous one kept as ``.prev``) with a *pending*
   marker, and the gateway asks for a restart (``restart_requested``; ``edge run`` exits 75 and
   systemd's ``Restart=on-failure`` starts it again).
3. At start, :meth:`OverrideStore.effective` merges the persisted override and marks it *trying*.
   The marker is cleared once the gateway has sent READY=1; found *trying* at the next start, the
   last start with this override never became ready, and it is rolled back to ``.prev`` (or none).

An override equal to the one in force (the broker redelivers retained messages at every
reconnect) changes nothing. Payloads are not logged: only keys and problems.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from edge.atomic import write_atomic
from edge.config import Config, apply_override
from edge.errors import ConfigError, DownlinkError
from edge.events import Event
from edge.inputs import Downlink

log = logging.getLogger(__name__)

OVERRIDE_FILE = "config-override.json"
PREVIOUS_FILE = "config-override.prev.json"
PENDING_FILE = "config-override.pending"
_ACCEPTED = b"accepted"
"""Pending marker: persisted, not yet tried."""
_TRYING = b"trying"
"""Pending marker: a start with it is under way; found again at the next start, it failed."""


class OverrideStore:
    """The persisted override in ``state_dir``; see the module docstring."""

    def __init__(self, state_dir: Path) -> None:
        self.dir = state_dir
        self.path = state_dir / OVERRIDE_FILE
        self.previous = state_dir / PREVIOUS_FILE
        self.pending = state_dir / PENDING_FILE
        self.in_force: object = None
        """The override (parsed JSON) the running config was built with; None: the file config."""

    def _read(self, path: Path) -> object:
        try:
            return json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as err:
            log.error("%s is unreadable (%s): ignored", path, err)
            return None

    def effective(self, base: Config) -> Config:
        """The file config with the persisted override, rolled back if it failed before."""
        try:
            marker = self.pending.read_bytes()
        except FileNotFoundError:
            marker = None
        if marker == _TRYING:
            log.error("the last start with the remote config override never became ready: rolling back")
            prev = self._read(self.previous)
            if prev is None:
                self.path.unlink(missing_ok=True)
            else:
                write_atomic(self.path, json.dumps(prev).encode())
            self.pending.unlink(missing_ok=True)
        elif marker is not None:
            write_atomic(self.pending, _TRYING)
        override = self._read(self.path)
        if override is None:
            return base
        try:
            config = apply_override(base, override, source=str(self.path))
        except ConfigError as err:
            log.error("%s; starting with the file config", err)
            self.path.replace(self.path.with_suffix(".rejected.json"))
            return base
        self.in_force = override
        log.info(
            "remote config override in force (%s)", ", ".join(sorted(override)) if isinstance(override, dict) else ""
        )
        return config

    def confirm(self) -> None:
        """The gateway became ready with the override in force: it is good."""
        self.pending.unlink(missing_ok=True)

    def accept(self, override: object) -> None:
        """Persist a validated override (the current one becomes ``.prev``), marked pending."""
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self.path.replace(self.previous)
        else:
            self.previous.unlink(missing_ok=True)
        write_atomic(self.pending, _ACCEPTED)
        write_atomic(self.path, json.dumps(override).encode())
        self.in_force = override


class OverrideHandler:
    """The downlink handler for the config topic (``core.downlink_handlers[topic]``)."""

    def __init__(self, base: Config, store: OverrideStore, on_restart: Callable[[], None]) -> None:
        self.base = base
        self.store = store
        self.on_restart = on_restart
        self.accepted = 0
        self.rejected = 0
        self.restart_requested = False

    def __call__(self, downlink: Downlink) -> list[Event]:
        try:
            override = json.loads(downlink.payload)
            merged = apply_override(self.base, override)
            in_force = apply_override(self.base, self.store.in_force) if self.store.in_force else self.base
        except ValueError as err:
            self.rejected += 1
            raise DownlinkError(f"not JSON: {err}", topic=downlink.topic) from None
        except ConfigError as err:
            self.rejected += 1
            raise DownlinkError(f"rejected, the config in force stays: {err}", topic=downlink.topic) from None
        if override == self.store.in_force or merged == in_force:
            return []  # nothing changes (e.g. only keys this version does not know): no restart
        self.store.accept(override)
        self.accepted += 1
        log.warning("remote config override accepted (%s): restarting to apply it", ", ".join(sorted(override)))
        self.restart_requested = True
        self.on_restart()
        return []

    def health(self) -> dict[str, int]:
        return {"config_overrides_accepted": self.accepted, "config_overrides_rejected": self.rejected}
