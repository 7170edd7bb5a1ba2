"""One error root for everything the gateway raises on purpose.

Each subclass is named for the condition and carries structured fields, and its message says
what to do about it (bleak's ``BleakError`` with a ``reason``, anyio's closed-vs-broken names).
"""

from __future__ import annotations

import enum


class EdgeError(Exception):
    """Root of every error the gateway raises on purpose."""


class ConfigError(EdgeError):
    """A configuration file or key is invalid; ``where`` names the file and key."""

    def __init__(self, message: str, *, where: str = "") -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class TraceError(EdgeError):
    """A trace line cannot be read; ``line`` is 1-based."""

    def __init__(self, message: str, *, path: str, line: int) -> None:
        self.path = path
        self.line = line
        super().__init__(f"{path}:{line}: {message}")


class ParseError(EdgeError):
    """A BLE payload is not the frame it claims to be (the only error a parser raises)."""

    def __init__(self, message: str, *, frame: str) -> None:
        self.frame = frame
        super().__init__(f"{frame}: {message}")


class RosterError(EdgeError):
    """A consent roster (or one entry of it) is invalid; the last good roster stays in force."""


class InputFileError(EdgeError):
    """A file given to start with (a roster, offers or rules) is rejected: ``path: field: problem``.

    Unlike a bad downlink, which is counted and leaves the last good state in force, a bad file
    named by the operator stops the command (exit 2): starting without it would hide the mistake."""

    def __init__(self, message: str, *, path: str, field: str = "") -> None:
        self.path = path
        self.field = field
        self.problem = message
        super().__init__(f"{path}: {field}: {message}" if field else f"{path}: {message}")


class DownlinkError(EdgeError):
    """A message from the CDP was rejected; ``topic`` names where it came from."""

    def __init__(self, message: str, *, topic: str) -> None:
        self.topic = topic
        super().__init__(f"{topic}: {message}")


class ScannerFailureReason(enum.Enum):
    """Why a BLE scanner could not run (carried by :class:`ScannerError`)."""

    NO_ADAPTER = "no-adapter"
    POWERED_OFF = "powered-off"
    PERMISSION = "permission"
    NO_BLUEZ = "no-bluez"
    START_TIMEOUT = "start-timeout"
    OTHER = "other"


class ScannerError(EdgeError):
    """The BLE adapter cannot be used; the message says what to do."""

    def __init__(self, message: str, *, reason: ScannerFailureReason) -> None:
        self.reason = reason
        super().__init__(message)


class OutboxError(EdgeError):
    """The durable outbox cannot be opened or written."""


class VisionFailureReason(enum.Enum):
    """Why the camera pipeline could not do what was asked (carried by :class:`VisionError`)."""

    NO_MODELS = "no-models"
    MODEL_HASH = "model-hash"
    MODEL_LOAD = "model-load"
    NO_CAMERA = "no-camera"
    UNREADABLE_IMAGE = "unreadable-image"
    NO_FACE = "no-face"
    MANY_FACES = "many-faces"
    WORKER = "worker"


class VisionError(EdgeError):
    """The camera pipeline (edge.vision) cannot run or cannot answer; the message says what to do."""

    def __init__(self, message: str, *, reason: VisionFailureReason) -> None:
        self.reason = reason
        super().__init__(message)


class ServiceError(EdgeError):
    """A service of the gateway failed or ended by itself: the gateway stops (``edge run`` exits
    non-zero and systemd restarts it); ``service`` names it."""

    def __init__(self, message: str, *, service: str) -> None:
        self.service = service
        super().__init__(message)
