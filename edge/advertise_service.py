"""The store's iBeacon as a gateway service: ``AdvertiserService(ports, config.advertise)``.

The worked example of a service (docs/architecture.md): it sees the gateway only through its
:class:`~edge.ports.Ports` (the config, a health report), holds a
:class:`~edge.beacons.advertiser.BeaconAdvertiser` (which heals itself once registered) and says it
is ready at once: advertising is nothing the rest of the gateway waits for, and registering may take
seconds of bounded retries.

Where the gateway cannot advertise (the replay backend, no system bus, no bluetoothd, no adapter,
no free instance...) the gateway still starts: the cause is logged once, health carries
``advertising_registered`` 0 and ``advertising_unavailable_<reason>`` 1, and a cause a person must
fix (no LE advertising, no permission) or the replay backend stops the attempts; anything else is
tried again after :data:`RETRY_UNAVAILABLE_INITIAL_S` … :data:`RETRY_UNAVAILABLE_MAX_S`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from edge.backoff import Backoff
from edge.beacons.advertiser import ATTEMPTS, AdvertiseFailureReason, AdvertiserError, BeaconAdvertiser
from edge.config import Config
from edge.config_ios import AdvertiseConfig
from edge.ports import Ports, Ready, Service

log = logging.getLogger(__name__)

RETRY_UNAVAILABLE_INITIAL_S = 30.0
"""First wait before trying again after the start failed: bluetoothd and the adapter come up a few
seconds after boot, the gateway may start before them."""
RETRY_UNAVAILABLE_MAX_S = 600.0
"""Longest wait between tries: the CDP sees ``advertising_registered`` 0 in health meanwhile."""
REPLAY = "replay-backend"
"""The unavailable reason under ``ble.backend = "replay"`` (a trace, no radio)."""
_FOR_GOOD = frozenset({AdvertiseFailureReason.NOT_SUPPORTED, AdvertiseFailureReason.PERMISSION})


class AdvertiserService:
    """See the module docstring. ``advertiser``: the live advertiser while it is up."""

    name = "advertiser"

    def __init__(
        self,
        ports: Ports,
        config: AdvertiseConfig,
        *,
        retry_initial_s: float = RETRY_UNAVAILABLE_INITIAL_S,
        retry_max_s: float = RETRY_UNAVAILABLE_MAX_S,
        attempts: int = ATTEMPTS,
    ) -> None:
        self.config = config
        self._retry = (retry_initial_s, retry_max_s)
        self._attempts = attempts
        """Registrations each start tries (:class:`BeaconAdvertiser`'s own bounded retries) before the wait."""
        gateway = ports.config
        self.adapter = config.adapter or gateway.ble.adapter or "hci0"
        self.backend = gateway.ble.backend
        self.advertiser: BeaconAdvertiser | None = None
        self.unavailable: str | None = None
        """Why the beacon is not on the air (a reason value, or :data:`REPLAY`); None: it is, or starting."""
        self._logged = False
        self._unreport = ports.report(self.health)

    def health(self) -> dict[str, int]:
        adv = self.advertiser
        out = {"advertising_registered": int(adv is not None and adv.registered)}
        if self.unavailable is not None:
            out[f"advertising_unavailable_{self.unavailable.replace('-', '_')}"] = 1
        return out

    async def run(self, ready: Ready) -> None:
        ready()
        try:
            if self.backend != "bleak":
                self._unavailable(REPLAY, f"the {self.backend} backend has no radio")
                await asyncio.Event().wait()
            backoff = Backoff(*self._retry)
            while True:
                try:
                    async with BeaconAdvertiser(self.config, adapter=self.adapter, attempts=self._attempts) as adv:
                        self.advertiser, self.unavailable = adv, None
                        await asyncio.Event().wait()
                except AdvertiserError as err:
                    self.advertiser = None
                    self._unavailable(err.reason.value, str(err))
                    if err.reason in _FOR_GOOD:
                        await asyncio.Event().wait()
                await asyncio.sleep(backoff.next_delay())
        finally:
            self._unreport()

    def _unavailable(self, reason: str, detail: str) -> None:
        self.unavailable = reason
        if not self._logged:  # once: a retry every few minutes must not fill the journal
            self._logged = True
            log.warning("advertising: unavailable (%s): %s; the gateway runs without its iBeacon", reason, detail)


def advertiser_factory(config: Config) -> Callable[[Ports], Service] | None:
    """The service's factory for the gateway's list when ``[advertise]`` is set, else None."""
    advertise = config.advertise
    if advertise is None:
        return None

    def factory(ports: Ports) -> Service:
        return AdvertiserService(ports, advertise)

    return factory
