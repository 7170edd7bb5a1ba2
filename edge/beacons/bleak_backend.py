"""The ``bleak`` backend of the source facade: live advertisements from a BlueZ adapter.

bleak's detection callback turns each (``BLEDevice``, ``AdvertisementData``) into an
:class:`~edge.beacons.advert.Advertisement` and puts it straight into the pipeline's
:class:`~edge.beacons.source.Feed` while :meth:`BleakSource.pump` runs (no task, queue or future
per advert: one wake-up per burst), else on a bounded queue for ``async for`` readers (full:
dropped and counted). While a feed with an admission question is pumped, the question is asked
before bleak builds anything for the advert (:meth:`BleakSource._ask_first`): the nine in ten
adverts of phones nobody rostered cost a look at the D-Bus properties bleak already holds, not
bleak's ``AdvertisementData``, ``BLEDevice`` and payload copies.

Scanning is passive where BlueZ offers it (its AdvertisementMonitor API: BlueZ >= 5.56 with
``--experimental``, kernel >= 5.10), active otherwise; ``mode`` tells which one runs.

Self-healing, after habluetooth: a bounded start, retries with capped exponential back-off and
jitter, and a watchdog that restarts scanning when no advertisement arrived for ``watchdog_s``.
Every wait on BlueZ has a timeout. Failures become :class:`~edge.errors.ScannerError` with a
reason and a message that says what to do.

Privacy: this module logs adapter-level events only, never a device address. bleak's own debug
log prints device object paths (which contain the address), so bleak's and dbus_fast's loggers
are held at INFO or above while a source exists.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import AsyncExitStack
from types import MappingProxyType, TracebackType
from typing import Any, Final, Literal, Self, TypeAlias

from bleak import BleakScanner
from bleak.args.bluez import BlueZScannerArgs, OrPattern
from bleak.assigned_numbers import AdvertisementDataType
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.exc import BleakError

from edge import constants as c
from edge.backoff import Backoff
from edge.beacons.advert import APPLE_COMPANY_ID, RUUVI_COMPANY_ID, Advertisement
from edge.beacons.bluez_errors import adapter_label, probe_adapter, scanner_error
from edge.beacons.source import Feed, SourceCounters
from edge.clock import Clock, SystemClock
from edge.errors import ScannerError, ScannerFailureReason
from edge.tasks import cancel_and_wait

logger = logging.getLogger(__name__)

ScanMode: TypeAlias = Literal["passive", "active"]

PASSIVE_PATTERNS: Final = (
    OrPattern(
        0,
        AdvertisementDataType.MANUFACTURER_SPECIFIC_DATA,
        APPLE_COMPANY_ID.to_bytes(2, "little") + b"\x02\x15",
    ),
    OrPattern(0, AdvertisementDataType.SERVICE_DATA_UUID16, b"\xaa\xfe"),
    OrPattern(0, AdvertisementDataType.COMPLETE_LIST_SERVICE_UUID16, b"\xaa\xfe"),
    OrPattern(0, AdvertisementDataType.MANUFACTURER_SPECIFIC_DATA, RUUVI_COMPANY_ID.to_bytes(2, "little")),
)
"""What passive scanning asks BlueZ to report: iBeacon frames (Apple company id, then 02 15),
Eddystone service data and service list (0xFEAA), RuuviTag data. BlueZ drops every other advert
before it reaches D-Bus, which is what a store full of phones needs."""

SCANNER_WATCHDOG_CHECKS: Final = 4
"""How often per ``watchdog_s`` the watchdog looks whether adverts still arrive: a silence is
noticed at most a quarter period late (30 s: 7.5 s), for 8 wake-ups a minute at night."""

RSSI_UNAVAILABLE_DBM: Final = -127
"""What bleak reports when BlueZ has no RSSI for a device (HCI's "RSSI not available")."""

_NEEDS_A_PERSON: Final = frozenset(
    {
        ScannerFailureReason.NO_ADAPTER,
        ScannerFailureReason.POWERED_OFF,
        ScannerFailureReason.PERMISSION,
        ScannerFailureReason.NO_BLUEZ,
    }
)
"""Failures that no retry fixes at the first start: they fail at once with their message."""

_QUIET_LOGGERS: Final = ("bleak", "dbus_fast")

_NOTHING: Final[Mapping[Any, bytes]] = MappingProxyType({})
"""An advert's missing manufacturer or service data, for the admission question (read only)."""

BluezHandler: TypeAlias = Callable[[str, dict[str, Any]], None]
"""bleak's BlueZ backend's handler of one advert: (D-Bus object path, the device's properties)."""


def _hush_device_level_logs() -> None:
    """Keep bleak and dbus_fast from logging at DEBUG: their debug lines carry device addresses."""
    for name in _QUIET_LOGGERS:
        quiet = logging.getLogger(name)
        if quiet.getEffectiveLevel() < logging.INFO:
            quiet.setLevel(logging.INFO)


class BleakSource:
    """Advertisements from a BlueZ adapter via bleak: an async context manager and async iterator.

    Args:
        scanner_id: the ``scanner`` every advertisement carries (a zone's ``scanners`` name it).
        adapter: the BlueZ adapter (``hci0``); ``None`` for BlueZ's first powered one.
        watchdog_s: restart scanning when no advertisement arrived for this long.
        start_timeout_s: bound on one scanner start (and on each stop).
        passive: try passive scanning first (falls back to active where BlueZ lacks it).
        queue_max: advertisements buffered for the consumer; beyond it they are dropped and counted.
        start_attempts: attempts at the first start before a transient failure is raised.
        retry_initial_s, retry_max_s: the back-off ladder between attempts.
    """

    ASK_FIRST: bool = True
    """Ask a feed's question before bleak builds anything (:meth:`_ask_first`); False: in bleak's
    callback, after (benchmarks/realtime/variant.py measures the callback's parts that way)."""

    def __init__(
        self,
        *,
        scanner_id: str,
        adapter: str | None = None,
        watchdog_s: float = c.SCANNER_WATCHDOG_S,
        start_timeout_s: float = c.SCANNER_START_TIMEOUT_S,
        stop_timeout_s: float = c.SCANNER_STOP_TIMEOUT_S,
        passive: bool = True,
        queue_max: int = c.SCANNER_QUEUE_MAX,
        start_attempts: int = c.SCANNER_START_ATTEMPTS,
        retry_initial_s: float = c.SCANNER_RETRY_INITIAL_S,
        retry_max_s: float = c.SCANNER_RETRY_MAX_S,
        clock: Clock | None = None,
    ) -> None:
        if watchdog_s <= 0 or start_timeout_s <= 0 or stop_timeout_s <= 0:
            raise ValueError("watchdog_s, start_timeout_s and stop_timeout_s must be > 0")
        if queue_max < 1 or start_attempts < 1:
            raise ValueError("queue_max and start_attempts must be >= 1")
        self.scanner_id = scanner_id
        self.adapter = adapter
        self.clock: Clock = clock or SystemClock()
        self._now = time.time if type(self.clock) is SystemClock else self.clock.now
        """What the callback stamps adverts with: the wall clock without a method call in between."""
        self.counters = SourceCounters()
        self.mode: ScanMode | None = None
        """The scanning mode in use once started; stays ``active`` once passive has failed."""
        self._watchdog_s = watchdog_s
        self._start_timeout_s = start_timeout_s
        self._stop_timeout_s = stop_timeout_s
        self._passive = passive
        self._start_attempts = start_attempts
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._queue: asyncio.Queue[Advertisement] = asyncio.Queue(maxsize=queue_max)
        self._scanner: BleakScanner | None = None
        self._stack: AsyncExitStack | None = None
        self._feed: Feed | None = None
        self._stopped = asyncio.Event()
        self._asked = False
        """True while bleak handles an advert the feed's question admitted (:meth:`_ask_first`):
        the callback does not ask again."""
        self.asks_first = False
        """Whether the running scanner asks the feed's question before bleak builds anything
        (False: bleak's internals were not where this bleak version keeps them; the callback asks)."""

    # --- lifecycle ---------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise RuntimeError("this BleakSource is already running")
        _hush_device_level_logs()
        async with AsyncExitStack() as stack:
            await self._start_with_retries(attempts=self._start_attempts)
            stack.push_async_callback(self._stop_scanner)
            watchdog = asyncio.create_task(self._watch(), name=f"ble-watchdog-{self.scanner_id}")
            stack.push_async_callback(cancel_and_wait, watchdog)
            self._stack = stack.pop_all()
        self._stopped.clear()
        logger.info("scanning on %s (%s)", adapter_label(self.adapter), self.mode)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack, self._stack = self._stack, None
        self._stopped.set()
        if stack is not None:
            await stack.aclose()

    @property
    def running(self) -> bool:
        """Between a successful ``__aenter__`` and ``__aexit__``."""
        return self._stack is not None

    def __aiter__(self) -> AsyncGenerator[Advertisement, None]:
        return self._items()

    async def _items(self) -> AsyncGenerator[Advertisement, None]:
        if self._drained():
            raise RuntimeError("iterate a BleakSource inside `async with`")
        while not self._drained():
            yield await self._queue.get()

    def _drained(self) -> bool:
        """Stopped, and every advertisement handed out (a method: mypy must not narrow it)."""
        return self._stack is None and self._queue.empty()

    def sync_items(self) -> None:
        """Live advertisements arrive in real time: never read synchronously."""
        return

    async def pump(self, feed: Feed) -> None:
        """bleak's callback puts every advertisement into ``feed`` until the source stops (the
        ones queued before, first)."""
        if self._stack is None:
            raise RuntimeError("pump a BleakSource inside `async with`")
        if self._feed is not None:
            raise RuntimeError("this BleakSource already feeds a pipeline")
        while not self._queue.empty():
            feed.put(self._queue.get_nowait())
        self._feed = feed
        try:
            await self._stopped.wait()
        finally:
            self._feed = None

    # --- bleak's callback ----------------------------------------------------------------------

    def _on_advertisement(self, device: BLEDevice, data: AdvertisementData) -> None:
        rssi = data.rssi
        if rssi == RSSI_UNAVAILABLE_DBM:
            # not an advertisement: bluetoothd invalidates RSSI on every device when any client's
            # discovery stops (`bluetoothctl scan off` during a check), and bleak reports that too
            return
        self.counters.adverts += 1  # also what the watchdog watches: no clock read per advert for it
        # bleak builds fresh dicts per callback (nothing to copy); BlueZ's UUIDs are lower case
        # already: the comprehensions run only for a key that is not
        service_data = data.service_data
        if service_data:
            for uuid in service_data:  # a loop, not all(...): no generator per advert
                if not uuid.islower():
                    service_data = {key.lower(): payload for key, payload in service_data.items()}
                    break
        at = self._now()
        feed = self._feed
        if feed is not None and not self._asked:
            admit = feed.admit
            if admit is not None and not admit(data.manufacturer_data, service_data, at):
                return  # nobody's (a phone not on the roster): not built, not queued (counted by the core)
        uuids = data.service_uuids
        service_uuids = tuple(u if u.islower() else u.lower() for u in uuids) if uuids else ()
        advert = Advertisement(
            at=at,
            scanner=self.scanner_id,
            address=device.address,
            rssi=rssi,
            tx_power=data.tx_power,
            local_name=data.local_name,
            manufacturer_data=data.manufacturer_data,
            service_data=service_data,
            service_uuids=service_uuids,
        )
        if feed is not None:
            feed.put(advert)
            return
        try:
            self._queue.put_nowait(advert)
        except asyncio.QueueFull:
            self.counters.queue_drops += 1

    def _ask_first(self, handle: BluezHandler) -> BluezHandler:
        """bleak's BlueZ handler ``handle`` behind the feed's admission question.

        bleak's handler copies the advert's payloads, builds an ``AdvertisementData`` and a
        ``BLEDevice`` and records the device, then calls :meth:`_on_advertisement`; for the nine in
        ten adverts a gateway refuses, all of that was bleak's largest share of the gateway's CPU
        per advert after D-Bus decoding (docs/performance.md, seventh pass). Asked here, on the
        properties bleak already holds (read, never changed; the address never read), a refused
        advert is counted as heard and goes no further: not built, not recorded by bleak, not
        queued (the core counts it as seen and dropped). An admitted one, and every advert while
        no feed asks (a queue reader, ``edge record``), goes on through bleak unchanged."""
        source = self
        counters = self.counters
        now = self._now

        def ask_first(path: str, props: dict[str, Any]) -> None:
            feed = source._feed
            admit = feed.admit if feed is not None else None
            if admit is None:
                handle(path, props)
                return
            if props.get("RSSI", RSSI_UNAVAILABLE_DBM) == RSSI_UNAVAILABLE_DBM:
                return  # not an advertisement (see _on_advertisement): bleak's callback drops it too
            service_data = props.get("ServiceData") or _NOTHING
            if service_data:
                for uuid in service_data:  # BlueZ's are lower case; the question needs them so
                    if not uuid.islower():
                        service_data = {key.lower(): payload for key, payload in service_data.items()}
                        break
            if not admit(props.get("ManufacturerData") or _NOTHING, service_data, now()):
                counters.adverts += 1  # heard (the watchdog watches this), refused, nothing built
                return
            source._asked = True
            try:
                handle(path, props)
            finally:
                source._asked = False

        return ask_first

    def _put_question_first(self, scanner: BleakScanner) -> bool:
        """Puts :meth:`_ask_first` in front of bleak's BlueZ handler of ``scanner`` (before its
        start, which hands the handler to bleak's BlueZ manager). bleak offers no public hook
        there: this uses its BlueZ backend's ``_handle_advertising_data`` (bleak 3.x; the lock
        files pin it, and tests/test_bleak_backend.py fails if it moves). Where it is not found,
        False: the callback asks the question, as before."""
        if not self.ASK_FIRST:
            return False
        backend = getattr(scanner, "_backend", None)
        handle = getattr(backend, "_handle_advertising_data", None)
        if backend is None or not callable(handle):
            logger.info("bleak's BlueZ handler was not found: adverts are asked about after bleak built them")
            return False
        backend._handle_advertising_data = self._ask_first(handle)
        return True

    # --- start, stop, restart ------------------------------------------------------------------

    async def _start_once(self, mode: ScanMode) -> None:
        bluez = BlueZScannerArgs(or_patterns=list(PASSIVE_PATTERNS)) if mode == "passive" else BlueZScannerArgs()
        if self.adapter:
            bluez["adapter"] = self.adapter
        try:
            async with asyncio.timeout(self._start_timeout_s):
                if self.adapter:
                    await probe_adapter(self.adapter)
                scanner = BleakScanner(self._on_advertisement, scanning_mode=mode, bluez=bluez)
                asks_first = self._put_question_first(scanner)
                await scanner.start()
        except (BleakError, OSError, ValueError, TimeoutError) as err:
            raise scanner_error(err, adapter=self.adapter, start_timeout_s=self._start_timeout_s) from err
        self._scanner = scanner
        self.mode = mode
        self.asks_first = asks_first

    async def _start_scanner(self) -> None:
        if self._passive and self.mode != "active":
            try:
                await self._start_once("passive")
            except ScannerError as err:
                if err.reason is not ScannerFailureReason.OTHER:
                    raise
                # for the life of this source: active scanning works on every BlueZ
                logger.info(
                    "passive scanning is not available on %s (%s); scanning actively",
                    adapter_label(self.adapter),
                    err.__cause__,
                )
            else:
                return
        await self._start_once("active")

    async def _start_with_retries(self, *, attempts: int | None) -> None:
        """Starts scanning; ``attempts=None`` retries every failure without limit."""
        backoff = Backoff(self._retry_initial_s, self._retry_max_s, c.SCANNER_RETRY_JITTER)
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._start_scanner()
            except ScannerError as err:
                if attempts is not None and (attempt >= attempts or err.reason in _NEEDS_A_PERSON):
                    raise
                pause = backoff.next_delay()
                logger.warning(
                    "scanner start %d on %s failed (%s): %s; retrying in %.1f s",
                    attempt,
                    adapter_label(self.adapter),
                    err.reason.value,
                    err,
                    pause,
                )
                await asyncio.sleep(pause)
            else:
                return

    async def _stop_scanner(self) -> None:
        scanner, self._scanner = self._scanner, None
        if scanner is None:
            return
        try:
            async with asyncio.timeout(self._stop_timeout_s):
                await scanner.stop()
        except (BleakError, OSError, ValueError, TimeoutError) as err:
            # the adapter may be gone (unplugged, bluetoothd restarted): nothing left to stop
            logger.warning("stopping the scanner on %s failed: %r", adapter_label(self.adapter), err)

    async def _watch(self) -> None:
        """Restarts scanning whenever no advertisement arrived for ``watchdog_s``.

        It looks at the advert count every ``watchdog_s / SCANNER_WATCHDOG_CHECKS`` (the callback
        reads no clock for it): a silence is noticed between ``watchdog_s`` and a check later.
        The first restart of a silent spell is a warning; the next ones (a closed store at night)
        are logged at debug level, until an advertisement arrives again.
        """
        adverts_at_restart = -1
        check_s = self._watchdog_s / SCANNER_WATCHDOG_CHECKS
        heard, quiet_since = self.counters.adverts, time.monotonic()
        while True:
            await asyncio.sleep(check_s)
            now = time.monotonic()
            if self.counters.adverts != heard:
                heard, quiet_since = self.counters.adverts, now
                continue
            silent_s = now - quiet_since
            if silent_s < self._watchdog_s:
                continue
            logger.log(
                logging.DEBUG if self.counters.adverts == adverts_at_restart else logging.WARNING,
                "no advertisement on %s for %.1f s: restarting the scanner",
                adapter_label(self.adapter),
                silent_s,
            )
            adverts_at_restart = self.counters.adverts
            self.counters.restarts += 1
            try:
                await self._stop_scanner()
                await self._start_with_retries(attempts=None)
            except Exception:
                # a bug, not BlueZ (those are retried above): keep healing rather than go deaf
                logger.exception("restarting the scanner on %s failed", adapter_label(self.adapter))
            heard, quiet_since = self.counters.adverts, time.monotonic()  # the new scanner's silence from now
