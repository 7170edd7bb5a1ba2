"""The iOS path end to end: the gateway advertises the store's iBeacon, an iPhone sees it and checks in.

Real parts: the gateway (bleak's real BlueZ backend scanning the fake BlueZ — python-dbusmock's bluez5
on a private D-Bus — while the advertiser service registers the iBeacon there), a real mosquitto
carrying the check-in and the events, the signage player headless (SDL's dummy driver). The
simulated iPhone reads the exported advertisement's properties over the private bus as bluetoothd
would, decodes the iBeacon with the project's parser, matches the region its app monitors, and the
CDP (a test key) signs the check-in it relays on ``cdp/v1/{store}/checkin``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from edge import app
from edge import events as ev
from edge.advertise_service import AdvertiserService, advertiser_factory
from edge.beacons.advert import APPLE_COMPANY_ID
from edge.beacons.backends import open_source
from edge.beacons.parse import parse_ibeacon
from edge.beacons.replay import ItemsSource
from edge.checkin.proof import signed_text
from edge.config import Config, SignageConfig
from edge.config_ios import AdvertiseConfig, CheckinConfig
from edge.ports import Ports, Service
from edge.signage.decide import Play
from edge.signage.measure import OnScreen
from edge.sim import catalogue
from edge.sim.store import SimulatedStore
from edge.tasks import cancel_and_wait
from edge.timefmt import format_time
from tests.fake_bluez import FakeBlueZ, FakeBlueZFactory
from tests.mosquitto import Collector, Mosquitto
from tests.test_advertiser import exported, until

os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"
pytestmark = [pytest.mark.bluez, pytest.mark.timeout(40)]

STORE_UUID = "8e1f3c52-6a4d-4b7e-9f10-2c5d7a3b9e41"
MAJOR = 7
CDP_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
"""The CDP's signing key of this test (the gateway gets only its public half)."""
SMALL = {"backend": "headless", "width": 480, "height": 270, "play_s": 4.0, "min_display_s": 2.0, "crossfade_s": 0.2}
TOPIC = "edge/v1/store-1/gw-1"
ADVERTISE = AdvertiseConfig(uuid=STORE_UUID, major=MAJOR)


def ios_config(store: SimulatedStore, state: Path, url: str) -> Config:
    public = CDP_KEY.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    config = store.config
    return msgspec.structs.replace(
        config,
        gateway=msgspec.structs.replace(config.gateway, state_dir=str(state)),
        mqtt=msgspec.structs.replace(config.mqtt, url=url, reconnect_initial_s=0.05, reconnect_max_s=0.5),
        advertise=AdvertiseConfig(uuid=STORE_UUID, major=MAJOR, minor=1, zone="entrance"),
        checkin=CheckinConfig(cdp_public_key=base64.b64encode(public).decode()),
    )


def cdp_proof(
    token: str, region: dict[str, Any], now: float, nonce: str, event: str = "enter", code: str | None = None
) -> bytes:
    """What the CDP relays after the app's region-entry call: signed, five minutes to live; ``code``:
    a redemption code the shopper entered or scanned in the app."""
    body: dict[str, Any] = {
        "token": token,
        "event": event,
        "region": region,
        "issued_at": format_time(now - 0.5),
        "expires_at": format_time(now + 300),
        "nonce": nonce,
    }
    if code is not None:
        body["code"] = code
    return json.dumps({**body, "sig": base64.b64encode(CDP_KEY.sign(signed_text(body))).decode()}).encode()


async def iphone_sees_region(fake: FakeBlueZ, service: AdvertiserService) -> dict[str, Any]:
    """The phone's side: the advertisement as it goes on the air, decoded; the region CoreLocation reports."""
    adv = service.advertiser
    assert adv is not None
    props = await exported(fake, adv)
    assert props["Type"] == "broadcast"
    frame = parse_ibeacon(props["ManufacturerData"][APPLE_COMPANY_ID].value)
    assert str(frame.uuid) == STORE_UUID  # the app monitors the retailer's one UUID
    return {"uuid": str(frame.uuid).upper(), "major": frame.major, "minor": frame.minor}


def presence(collector: Collector) -> list[dict[str, Any]]:
    return [e for e in collector.events() if e["type"].startswith("edge.presence.")]


def redeemed(collector: Collector) -> list[dict[str, Any]]:
    return [e for e in collector.events() if e["type"] == "edge.offer.redeemed"]


async def test_an_iphone_checks_in_and_its_offer_is_on_the_screen(fake_bluez: FakeBlueZ, tmp_path: Path) -> None:
    now = time.time()
    store = SimulatedStore(seed=7, start=now)
    token = store.shoppers[1].token  # has a personal coupon in the simulated catalogue
    with Mosquitto(tmp_path / "broker") as broker:
        cdp = Collector(broker, (f"{TOPIC}/events/#",))
        try:
            cdp.publish("cdp/v1/store-1/roster", store.roster_payload(now), retain=True)
            cdp.publish("cdp/v1/store-1/offers", store.offers_payload(), retain=True)
            cdp.publish("cdp/v1/store-1/rules", catalogue.rules_payload(now), retain=True)
            config = ios_config(store, tmp_path / "state", broker.url)
            factory = advertiser_factory(config)
            assert factory is not None
            shown: list[Play] = []
            codes: dict[str, str] = {}
            """token → the code its offer card showed (the code the app scans)."""
            gateway = app.Gateway(
                config,
                open_source(config),
                signage=SignageConfig(screen="screen-3", **SMALL),  # type: ignore[arg-type]
                services=[factory],
            )
            async with gateway:
                signage = gateway.signage
                assert signage is not None
                signage.on_started.append(lambda play, _mono: shown.append(play))

                def on_presented(entry: OnScreen, _mono: float) -> None:
                    if entry.token is not None and entry.code is not None:
                        codes[entry.token] = entry.code

                signage.on_presented.append(on_presented)
                service = next(s for s in gateway.services if isinstance(s, AdvertiserService))
                run = asyncio.create_task(gateway.run())
                try:
                    await until(lambda: bool(service.advertiser and service.advertiser.registered), 15)
                    await until(lambda: gateway.core.roster is not None, 10)
                    await signage.player.wait_ready()
                    region = await iphone_sees_region(fake_bluez, service)
                    health = service.health()
                    assert health == {"advertising_registered": 1}

                    # refused proofs: no event, counted once each
                    foreign = {**region, "major": MAJOR + 1}
                    cdp.publish("cdp/v1/store-1/checkin", cdp_proof(token, foreign, time.time(), "n-foreign-01"))
                    cdp.publish("cdp/v1/store-1/checkin", cdp_proof(token, region, time.time() - 600, "n-expired-1"))

                    cdp.publish("cdp/v1/store-1/checkin", cdp_proof(token, region, time.time(), "n-enter-0001"))
                    await cdp.until(lambda _m: any(e["type"] == ev.PRESENCE_ENTERED for e in presence(cdp)))
                    (entered,) = presence(cdp)
                    assert entered["data"] == {"token": token, "zone": "entrance", "via": "app"}
                    await until(lambda: any(p.kind == "offer" and p.personal and p.token == token for p in shown), 10)

                    # the same proof again (a replay): nothing
                    cdp.publish("cdp/v1/store-1/checkin", cdp_proof(token, region, time.time(), "n-enter-0001"))
                    await until(lambda: gateway.core.app.health()["checkin_rejected_replayed"] >= 1, 5)
                    counts = gateway.core.app.health()
                    assert (counts["checkin_accepted"], counts["checkin_rejected_foreign_store"]) == (1, 1)
                    assert counts["checkin_rejected_expired"] == 1
                    assert len(presence(cdp)) == 1

                    # the shopper scans the card's code in the app: the check-in carries it
                    await until(lambda: token in codes, 10)
                    code = codes[token]
                    other = store.shoppers[2].token
                    cdp.publish(
                        "cdp/v1/store-1/checkin", cdp_proof(other, region, time.time(), "n-other-001", code=code)
                    )
                    await until(lambda: signage.health()["redeem_codes_not_theirs"] == 1, 5)
                    cdp.publish(
                        "cdp/v1/store-1/checkin",
                        cdp_proof(token, region, time.time(), "n-code-0001", "refresh", code.lower()),
                    )
                    await cdp.until(lambda _m: bool(redeemed(cdp)))
                    (event,) = redeemed(cdp)
                    assert event["data"]["code"] == code
                    assert event["data"]["token"] == token
                    assert event["data"]["offer"] == next(p.content for p in shown if p.token == token)
                    assert len(event["data"]["impression"]) == 16
                    assert (event["specversion"], event["subject"]) == ("1.0", "screen-3")
                    assert event["source"].endswith("gw-1")
                    # the same code in a new check-in (new nonce): nothing more
                    cdp.publish(
                        "cdp/v1/store-1/checkin", cdp_proof(token, region, time.time(), "n-code-0002", "refresh", code)
                    )
                    await until(lambda: signage.health()["redeem_codes_unknown"] == 1, 5)
                    assert signage.health()["offers_redeemed"] == 1
                    assert gateway.core.app.health()["checkin_codes"] == 3
                    assert len(redeemed(cdp)) == 1
                finally:
                    await cancel_and_wait(run)
        finally:
            cdp.close()


async def test_with_the_replay_backend_the_gateway_starts_and_says_advertising_is_unavailable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SimulatedStore(seed=7)
    config = msgspec.structs.replace(
        store.config,
        ble=msgspec.structs.replace(store.config.ble, backend="replay", trace="unused.jsonl"),
        advertise=AdvertiseConfig(uuid=STORE_UUID, major=MAJOR),
    )
    factory = advertiser_factory(config)
    assert factory is not None
    gateway = app.Gateway(config, ItemsSource(iter(()), start=time.time()), state_dir=tmp_path, services=[factory])
    async with gateway:
        (service,) = gateway.services
        assert isinstance(service, AdvertiserService)
        assert service.health() == {"advertising_registered": 0, "advertising_unavailable_replay_backend": 1}
        health = gateway.core.health_event(time.time(), gateway.pipeline.health_extra[-1]())
        assert health.data["advertising_registered"] == 0
    assert "advertising: unavailable (replay-backend)" in caplog.text


async def test_a_gateway_started_before_bluetoothd_advertises_once_it_is_up(
    fake_bluez_factory: FakeBlueZFactory, tmp_path: Path
) -> None:
    """At boot the gateway may start before bluetoothd: the service says why it cannot advertise, keeps
    the gateway running, tries again after its back-off and is on the air once bluetoothd is up."""
    fake = fake_bluez_factory(bluez=False)  # the system bus is up, bluetoothd not yet
    store = SimulatedStore(seed=7)
    config = msgspec.structs.replace(
        store.config, ble=msgspec.structs.replace(store.config.ble, backend="bleak"), advertise=ADVERTISE
    )

    def factory(ports: Ports) -> Service:
        return AdvertiserService(ports, ADVERTISE, retry_initial_s=0.05, retry_max_s=0.2, attempts=1)

    gateway = app.Gateway(config, ItemsSource(iter(()), start=time.time()), state_dir=tmp_path, services=[factory])
    async with gateway:
        (service,) = gateway.services
        assert isinstance(service, AdvertiserService)
        await until(lambda: service.unavailable == "no-bluez", within_s=10.0)
        assert service.health() == {"advertising_registered": 0, "advertising_unavailable_no_bluez": 1}
        fake._start_mock()  # bluetoothd comes up (as restart_bluetoothd in test_advertiser does)
        fake.add_adapter("hci0")
        await until(lambda: service.advertiser is not None and service.advertiser.registered, within_s=10.0)
        assert service.health() == {"advertising_registered": 1}
        region = await iphone_sees_region(fake, service)
        assert (region["major"], region["minor"]) == (MAJOR, 0)
