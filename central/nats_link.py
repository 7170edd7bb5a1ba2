"""One NATS connection to the cluster (any node of the list; reconnects to the others)."""

from __future__ import annotations

import logging

import nats
from nats.aio.client import Client

from central import constants as c
from central.errors import CentralError

log = logging.getLogger(__name__)


def servers(text: str) -> list[str]:
    """``nats://a:4222,nats://b:4222`` → the list; each must be nats:// or tls://."""
    urls = [u.strip() for u in text.split(",") if u.strip()]
    if not urls or not all(u.startswith(("nats://", "tls://")) for u in urls):
        raise CentralError(f"--nats {text!r}: give nats://host:port[,nats://host:port…]")
    return urls


async def connect(urls: list[str], name: str) -> Client:
    async def disconnected() -> None:
        log.warning("%s: NATS disconnected; reconnecting", name)

    async def reconnected() -> None:
        log.info("%s: NATS reconnected", name)

    async def error(err: Exception) -> None:
        log.debug("%s: NATS: %s", name, err)

    try:
        return await nats.connect(
            servers=urls,
            name=name,
            connect_timeout=c.NATS_CONNECT_TIMEOUT_S,
            reconnect_time_wait=c.NATS_RECONNECT_WAIT_S,
            max_reconnect_attempts=-1,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
        )
    except (OSError, TimeoutError, nats.errors.Error) as err:
        raise CentralError(f"{name}: cannot connect to NATS at {','.join(urls)}: {err or type(err).__name__}") from None
