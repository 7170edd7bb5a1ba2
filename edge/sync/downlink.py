"""Downlinks from the CDP: validated, committed to SQLite, applied, and only then acknowledged.

paho runs with manual acknowledgement: a QoS 1 message is PUBACKed after it was validated, its
state committed (the last good roster / offers / rules / config, a withdrawal) and applied, so a
crash before that makes the broker deliver it again (persistent session). A consent withdrawal
takes effect in the core the moment it arrives (no further event for the token), before its
commit; the purge and the ``edge.consent.withdrawn`` acknowledgement follow in the same step.
A bad message (malformed, oversized, failing its schema) is counted, answered with an
``edge.gateway.health`` event, acknowledged (so it is not redelivered for ever), and the last
good state stays in force. Payloads are never logged: they hold tokens.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass

import msgspec

from edge import constants as c
from edge.clock import Clock
from edge.core import Core
from edge.errors import DownlinkError, RosterError
from edge.inputs import Downlink
from edge.pipeline import Pipeline
from edge.roster import Roster, parse_roster
from edge.sync.client import Link
from edge.sync.messages import decode_withdraw, note_checkin
from edge.sync.state import StateStore
from edge.sync.topics import Topics

log = logging.getLogger(__name__)

_any_object = msgspec.json.Decoder(dict[str, object])


@dataclass(frozen=True, slots=True)
class Incoming:
    link: Link | None
    topic: str
    payload: bytes
    mid: int
    qos: int
    withdrawn: str | None = None
    """The token, when a withdrawal was already applied on arrival."""


class Downlinks:
    def __init__(
        self,
        core: Core,
        pipeline: Pipeline,
        state: StateStore,
        topics: Topics,
        clock: Clock,
        health_extra: Callable[[], dict[str, int]],
        *,
        max_bytes: int = c.MQTT_DOWNLINK_MAX_BYTES,
    ) -> None:
        self.core = core
        self.pipeline = pipeline
        self.state = state
        self.topics = topics
        self.clock = clock
        self.health_extra = health_extra
        self.max_bytes = max_bytes
        self.queue: asyncio.Queue[Incoming] = asyncio.Queue()
        self.applied = 0

    # --- arrival (on the loop, synchronous) ---------------------------------------------------

    def on_message(self, link: Link | None, topic: str, payload: bytes, mid: int, qos: int) -> None:
        withdrawn = None
        if topic == self.topics.withdraw and len(payload) <= self.max_bytes:
            try:
                withdrawn = decode_withdraw(payload).token
            except msgspec.DecodeError:
                withdrawn = None
            else:
                self.core.withdraw(withdrawn)  # at once: nothing more is resolved or emitted for it
        self.queue.put_nowait(Incoming(link, topic, payload, mid, qos, withdrawn))

    async def run(self) -> None:
        """Apply queued downlinks in arrival order, acknowledging each after its commit."""
        while True:
            item = await self.queue.get()
            await self.apply(item)
            if item.link is not None:
                item.link.ack(item.mid, item.qos)

    # --- applying ------------------------------------------------------------------------------

    async def apply(self, item: Incoming) -> None:
        now = self.clock.now()
        core, topics = self.core, self.topics
        try:
            self._check_size(item)
            if item.topic == topics.withdraw:
                await self._withdraw(item, now)
            elif item.topic == topics.roster:
                await self._roster(item.payload, now)
            else:
                await self._other(item, now)
        except (DownlinkError, RosterError) as err:
            core.counters.downlinks_rejected += 1
            log.error("%s: %s (the last good state stays in force)", item.topic, err)
            await self.pipeline.publish([core.health_event(now, self.health_extra())])
            return
        self.applied += 1

    def _check_size(self, item: Incoming) -> None:
        if len(item.payload) > self.max_bytes:
            raise DownlinkError(f"{len(item.payload)} bytes is over the {self.max_bytes} byte limit", topic=item.topic)

    async def _withdraw(self, item: Incoming, now: float) -> None:
        self.core.counters.downlinks += 1
        token = item.withdrawn
        if token is None:
            try:
                token = decode_withdraw(item.payload).token
            except msgspec.DecodeError as err:
                raise DownlinkError(f"withdrawal rejected: {err}", topic=item.topic) from None
            self.core.withdraw(token)
        roster = self.core.resolver.roster
        await self.state.add_withdrawal(token, roster.version if roster else 0, now)
        await self._purge(now)

    async def _purge(self, now: float) -> None:
        if self.core.withdrawn:
            await self.pipeline.step(None, now)
            await self.pipeline.flush()

    async def _roster(self, payload: bytes, now: float) -> None:
        self.core.counters.downlinks += 1
        roster = parse_roster(payload)
        await self.state.save_roster(self.topics.roster, payload, roster.version, now)
        await self._put_roster(roster, now)

    async def _put_roster(self, roster: Roster, now: float) -> None:
        for token in await self.state.withdrawals_for(roster.version):
            roster = roster.without(token)
        self.core.set_roster(roster, now)
        await self._purge(now)

    async def _other(self, item: Incoming, now: float) -> None:
        core = self.core
        if item.topic == self.topics.checkin:
            note_checkin(item.payload)
        rejected = core.counters.downlinks_rejected
        events = core.on_downlink(Downlink(now, item.topic, item.payload))
        if core.counters.downlinks_rejected != rejected:
            core.counters.downlinks_rejected = rejected  # counted once, by apply
            raise DownlinkError("rejected by its handler", topic=item.topic)
        if item.topic in self.topics.retained_state():
            if item.topic not in core.downlink_handlers:
                try:
                    _any_object.decode(item.payload)
                except msgspec.DecodeError as err:
                    raise DownlinkError(f"not a JSON object: {err}", topic=item.topic) from None
            await self.state.save(item.topic, item.payload, now)
        if events:
            await self.pipeline.publish(events)

    # --- start-up --------------------------------------------------------------------------------

    async def restore_roster(self) -> None:
        """The last good roster (if newer than the one in force) and the withdrawals still in force."""
        now = self.clock.now()
        stored = (await self.state.load()).get(self.topics.roster)
        if stored is not None:
            try:
                roster = parse_roster(stored)
            except RosterError as err:
                log.error("the stored roster is unusable: %s", err)
            else:
                current = self.core.resolver.roster
                if current is None or roster.version >= current.version:
                    await self._put_roster(roster, now)
                    log.info("roster version %d restored from the last good state", roster.version)
        current = self.core.resolver.roster
        if current is not None:
            for token in await self.state.withdrawals_for(current.version):
                self.core.resolver.withdraw(token)

    async def restore_owned(self) -> None:
        """The last good offers, rules and config, to the handlers registered for them."""
        stored = await self.state.load()
        now = self.clock.now()
        for topic in self.topics.retained_state():
            if topic != self.topics.roster and topic in stored and topic in self.core.downlink_handlers:
                events = self.core.on_downlink(Downlink(now, topic, stored[topic]))
                if events:
                    await self.pipeline.publish(events)
