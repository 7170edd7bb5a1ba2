"""What the operations side asks of a screen over MQTT: an override message and a screenshot.

- ``cdp/v1/{store}/{gateway}/override`` (retained; :mod:`edge.signage.override`): routed through the
  ports with the last good store, so the override in force comes back before the first message
  after a restart. Its ``ttl_s`` counts from the **first receipt** of its id, kept in the screen's
  state database (:meth:`SignageState.first_seen`): neither a restart nor the broker re-sending the
  retained message extends it. An empty retained message or ``"clear": true`` ends it. While one
  is active it wins over every decision; ``priority`` ≥ 80 draws it in the alarm colour.
- ``cdp/v1/{store}/{gateway}/screenshot`` ``{"request_id"}``: the player copies the next presented
  frame (not a re-render) and encodes it as JPEG; the bytes go to
  ``edge/v1/{store}/{gateway}/screenshot/{request_id}`` with the MQTT 5 content type ``image/jpeg``
  through the ports' uplink (QoS 0, not through the outbox: a reply, asked again if lost). At most
  one request is in flight; one arriving meanwhile is refused and counted
  (``screenshot_rejected``), so a flood of requests cannot load the frame loop or the link.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from typing import Annotated

import msgspec

from edge.errors import DownlinkError
from edge.events import Event
from edge.ports import Ports
from edge.router import ORDER_DEFAULT, Route
from edge.signage.cards import Card
from edge.signage.override import Override, active_override, override_card, parse_override
from edge.signage.state import SignageState
from edge.signage.supervisor import PlayerProcess
from edge.tasks import cancel_and_wait
from edge.unknown import located

log = logging.getLogger(__name__)

SCREENSHOT_TIMEOUT_S = 1.5
"""How long the player may take to answer a screenshot: the 2 s round trip less the two MQTT legs and
the gateway's turn (the player answers in ~50 ms at 1080p; a player that takes this long is stuck)."""
JPEG = "image/jpeg"


class _ScreenshotRequest(msgspec.Struct, forbid_unknown_fields=False):
    request_id: Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class ScreenOps:
    """The override in force and the screenshot requests; see the module docstring."""

    def __init__(self, ports: Ports, player: PlayerProcess, wake: Callable[[], None], *, owner: str) -> None:
        self.ports = ports
        self.player = player
        self._wake = wake
        self.override: Override | None = None
        self.first_seen: float | None = None
        self.version = ""
        """Changes when a different override (or the same id with other words) is put in force."""
        self._received = 0.0
        self._shot: asyncio.Task[None] | None = None
        self.counters = {
            "screenshot_requests": 0,
            "screenshot_sent": 0,
            "screenshot_rejected": 0,
            "screenshot_failed": 0,
        }
        topics = ports.topics
        override = Route(topics.override, self._decode_override, self._put_override, True, ORDER_DEFAULT, owner=owner)
        screenshot = Route(topics.screenshot, self._decode_screenshot, self._put_screenshot, owner=owner)
        self._routes = [ports.route(override), ports.route(screenshot)]

    def unroute(self) -> None:
        for undo in self._routes:
            undo()

    # --- the override ------------------------------------------------------------------------

    def _decode_override(self, payload: bytes) -> Override | None:
        return parse_override(payload, topic=self.ports.topics.override)

    def _put_override(self, override: Override | None, now: float) -> list[Event]:
        version = hashlib.sha256(repr(override).encode()).hexdigest()[:12] if override is not None else ""
        if version != self.version:  # the retained message again (a reconnect) changes nothing
            self.override, self.version = override, version
            self.first_seen, self._received = None, now
        self._wake()
        return []

    async def settle(self, state: SignageState) -> None:
        """Give a newly received override its first receipt (kept from before a restart)."""
        override = self.override
        if override is None or self.first_seen is not None:
            return
        first = await state.first_seen(override.id, self._received)
        if self.override is override:
            self.first_seen = first

    @property
    def received(self) -> float:
        """When the override in force was received, on the core's time (0 before any): a replay hands
        the core its downlinks up to ``PACE_S x speed`` before the source's clock reaches them."""
        return self._received

    def active(self, now: float) -> Override | None:
        return active_override(self.override, self.first_seen, now)

    def ends_at(self, override: Override) -> float:
        return override.ends_at(self.first_seen if self.first_seen is not None else self._received)

    @staticmethod
    def card(override: Override, number: int, language: str) -> Card:
        return override_card(override, number, language)

    # --- screenshots ---------------------------------------------------------------------------

    def _decode_screenshot(self, payload: bytes) -> str:
        try:
            return msgspec.json.decode(payload, type=_ScreenshotRequest).request_id
        except msgspec.DecodeError as err:
            field, problem = located(err)
            topic = self.ports.topics.screenshot
            raise DownlinkError(f"screenshot request rejected: {field}: {problem}", topic=topic) from None

    def _put_screenshot(self, request_id: str, _now: float) -> list[Event]:
        self.counters["screenshot_requests"] += 1
        if self._shot is not None and not self._shot.done():
            self.counters["screenshot_rejected"] += 1
            log.warning("screenshot %s refused: another is in flight", request_id)
            return []
        self._shot = asyncio.get_running_loop().create_task(self._screenshot(request_id), name="signage-screenshot")
        return []

    async def _screenshot(self, request_id: str) -> None:
        try:
            shot = await self.player.screenshot(request_id, SCREENSHOT_TIMEOUT_S)
        except TimeoutError:
            self.counters["screenshot_failed"] += 1
            log.error("screenshot %s: the player gave no frame within %.1f s", request_id, SCREENSHOT_TIMEOUT_S)
            return
        topic = self.ports.topics.screenshot_reply(request_id)
        if self.ports.uplink.send(topic, shot.jpeg, content_type=JPEG):
            self.counters["screenshot_sent"] += 1
        else:
            self.counters["screenshot_failed"] += 1
            log.warning("screenshot %s: no broker connection to send it on", request_id)

    async def close(self) -> None:
        if self._shot is not None:
            await cancel_and_wait(self._shot)
