"""systemd's notify protocol (sd_notify(3)): one datagram of ``KEY=VALUE`` lines to ``$NOTIFY_SOCKET``.

Written here rather than taken from the ``sdnotify`` package: the protocol is a single ``sendto``,
and the package (unmaintained since 2017, untyped) swallows every error silently and blocks on a
full socket. This one is typed, never blocks the event loop (a non-blocking socket; a full queue
drops the message and counts it, like a missed watchdog ping), understands abstract-namespace
addresses (``@…``), and logs a broken socket once instead of on every ping.

Outside systemd (no ``NOTIFY_SOCKET``) every call is a cheap no-op, so ``edge run`` behaves the
same in a terminal, under a test harness and under systemd.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


def watchdog_interval_s(env: Mapping[str, str] | None = None, pid: int | None = None) -> float | None:
    """The service's ``WatchdogSec=`` in seconds, or None when the watchdog is off or meant for another
    process (``WATCHDOG_PID`` names another pid: a child that inherited the environment)."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC")
    if not usec:
        return None
    owner = env.get("WATCHDOG_PID")
    if owner and owner != str(os.getpid() if pid is None else pid):
        return None
    try:
        value = int(usec)
    except ValueError:
        return None
    return value / 1_000_000 if value > 0 else None


class Notifier:
    """Sends state changes to the service manager; ``address`` None: not under systemd (no-op)."""

    def __init__(self, address: str | None) -> None:
        self.address = address
        self.sent = 0
        self.dropped = 0
        self._sock: socket.socket | None = None
        self._broken = False
        if address:
            target = "\0" + address[1:] if address.startswith("@") else address
            self._target = target
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if env is None else env
        return cls(env.get("NOTIFY_SOCKET") or None)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def send(self, *lines: str) -> bool:
        """One datagram with these ``KEY=VALUE`` lines; False if it could not be sent (never raises)."""
        if self._sock is None:
            return False
        try:
            self._sock.sendto("\n".join(lines).encode("utf-8"), self._target)
        except BlockingIOError:
            self.dropped += 1
            return False
        except OSError as err:
            self.dropped += 1
            if not self._broken:
                self._broken = True
                log.warning("cannot notify systemd at NOTIFY_SOCKET %s: %s", self.address, err.strerror or err)
            return False
        self.sent += 1
        return True

    def ready(self, status: str = "") -> bool:
        return self.send("READY=1", f"STATUS={status}") if status else self.send("READY=1")

    def status(self, status: str) -> bool:
        return self.send(f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def stopping(self, status: str = "stopping") -> bool:
        return self.send("STOPPING=1", f"STATUS={status}")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
