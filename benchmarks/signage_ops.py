"""Screen operations. Player side: override request -> first presented frame of the override,
screenshot request -> JPEG bytes of the presented frame, with the player process headless at
1920x1080 (SDL's dummy driver); the baseline, measured in the same run, is an ordinary offer card:
show -> first presented frame. Over MQTT: a gateway with its screen (headless, 1920x1080) and a
real mosquitto; the CDP side publishes the retained override (-> its first presented frame) and
a screenshot request (-> the JPEG's arrival at the subscriber), the baseline a bare MQTT round
trip (publish -> the same client receiving it) on the same broker.

``python benchmarks/signage_ops.py [--rounds N]``; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the checkout's packages

from benchmarks.common import report
from edge.signage import protocol as p
from edge.signage.cards import Card
from edge.signage.override import override_card, parse_override

ROUND_TIMEOUT_S = 10.0


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def run(rounds: int) -> dict[str, object]:
    settings = p.PlayerSettings(backend="headless", width=1920, height=1080)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edge.signage.player", p.encoder.encode(settings).decode(),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        limit=p.REPORT_LINE_LIMIT_BYTES,
    )  # fmt: skip
    assert process.stdin is not None
    assert process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    async def send(command: p.Command) -> float:
        stdin.write(p.encoder.encode(command) + b"\n")
        await stdin.drain()
        return time.monotonic()

    async def until(kind: type[p.Report], play: int | None = None) -> p.Report:
        async with asyncio.timeout(ROUND_TIMEOUT_S):
            while True:
                report_ = p.report_decoder.decode(await stdout.readline())
                if isinstance(report_, kind) and (play is None or getattr(report_, "play", None) == play):
                    return report_

    await until(p.Ready)
    override = parse_override(b'{"id": "bench", "priority": 90, "title": "Exit B is closed", "body": "Main entrance"}')
    assert override is not None
    offer_ms, override_ms, shot_ms, sizes = [], [], [], []
    play = 0
    for i in range(rounds):
        play += 1
        card = Card(play=play, kind="offer", headline=f"Offer {i}", price="1,49 €", code="OAT25", qr="OAT25")
        sent = await send(p.Show(card))
        started = await until(p.Started, play)
        offer_ms.append((started.mono - sent) * 1000)  # type: ignore[union-attr]
        await asyncio.sleep(0.6)
        play += 1
        sent = await send(p.Show(override_card(override, play, "en")))
        started = await until(p.Started, play)
        override_ms.append((started.mono - sent) * 1000)  # type: ignore[union-attr]
        await asyncio.sleep(0.6)
        sent = await send(p.Screenshot(f"r-{i}"))
        shot = await until(p.Shot)
        shot_ms.append((time.monotonic() - sent) * 1000)
        sizes.append(len(shot.jpeg))  # type: ignore[union-attr]
    await send(p.Quit())
    async with asyncio.timeout(ROUND_TIMEOUT_S):
        await process.wait()
    return {
        "rounds": rounds,
        "offer_show_to_frame_p95_ms": round(p95(offer_ms), 1),
        "override_to_frame_p50_ms": round(statistics.median(override_ms), 1),
        "override_to_frame_p95_ms": round(p95(override_ms), 1),
        "override_vs_offer_ratio": round(p95(override_ms) / max(p95(offer_ms), 1e-9), 2),
        "screenshot_to_jpeg_p50_ms": round(statistics.median(shot_ms), 1),
        "screenshot_to_jpeg_p95_ms": round(p95(shot_ms), 1),
        "screenshot_jpeg_kb_median": round(statistics.median(sizes) / 1024, 1),
        "goals": {"override_on_screen_p95_ms": 1000, "screenshot_round_trip_p95_ms": 2000},
    }


async def over_mqtt(rounds: int) -> dict[str, float]:
    """The gateway's legs included: the CDP publishes, the gateway's screen answers."""
    import msgspec

    from edge import app
    from edge.beacons.replay import ItemsSource
    from edge.config import SignageConfig
    from edge.signage.measure import OnScreen
    from edge.sim.store import SimulatedStore
    from tests.mosquitto import Collector, Mosquitto

    store = SimulatedStore(seed=7)
    with tempfile.TemporaryDirectory(prefix="bench-signage-ops-") as tmp, Mosquitto(Path(tmp) / "b") as broker:
        config = msgspec.structs.replace(store.config, mqtt=msgspec.structs.replace(store.config.mqtt, url=broker.url))
        source = ItemsSource(iter(()), start=time.time(), speed=1.0)
        screen = SignageConfig(screen="screen-3", backend="headless", width=1920, height=1080)
        gateway = app.Gateway(config, source, state_dir=Path(tmp) / "state", signage=screen)
        override_ms, shot_ms, bare_ms = [], [], []
        async with gateway:
            signage, sync = gateway.signage, gateway.sync
            assert signage is not None
            assert sync is not None
            topics = gateway.core.topics
            seen: dict[str, float] = {}
            shown: collections.defaultdict[str, asyncio.Event] = collections.defaultdict(asyncio.Event)

            def presented(entry: OnScreen, mono: float) -> None:
                seen.setdefault(entry.content, mono)
                shown[entry.content].set()

            signage.on_presented.append(presented)
            echo = f"bench/{topics.gateway}/echo"
            cdp = Collector(broker, (f"{topics.up}/screenshot/+", echo))
            try:
                await signage.player.wait_ready()
                async with asyncio.timeout(ROUND_TIMEOUT_S):
                    await sync.connected.wait()
                await asyncio.sleep(0.5)
                for i in range(rounds):
                    before = len(cdp.messages)
                    sent = time.monotonic()
                    await asyncio.to_thread(cdp.publish, echo, b"x")
                    await cdp.until(lambda ms, n=before: len(ms) > n, ROUND_TIMEOUT_S)
                    bare_ms.append((cdp.arrived[-1] - sent) * 1000)
                    body = {"id": f"o-{i}", "priority": 90, "title": "Exit B is closed", "ttl_s": 600}
                    sent = time.monotonic()
                    await asyncio.to_thread(cdp.publish, topics.override, json.dumps(body).encode(), retain=True)
                    async with asyncio.timeout(ROUND_TIMEOUT_S):
                        await shown[f"o-{i}"].wait()
                    override_ms.append((seen[f"o-{i}"] - sent) * 1000)
                    await asyncio.sleep(0.6)
                    before = len(cdp.messages)
                    request = json.dumps({"request_id": f"r-{i}"}).encode()
                    sent = time.monotonic()
                    await asyncio.to_thread(cdp.publish, topics.screenshot, request)
                    await cdp.until(lambda ms, n=before: len(ms) > n, ROUND_TIMEOUT_S)
                    shot_ms.append((cdp.arrived[-1] - sent) * 1000)
                    await asyncio.sleep(0.2)
                await asyncio.to_thread(cdp.publish, topics.override, b"", retain=True)
            finally:
                cdp.close()
    return {
        "mqtt_bare_round_trip_p95_ms": round(p95(bare_ms), 1),
        "mqtt_override_on_screen_p50_ms": round(statistics.median(override_ms), 1),
        "mqtt_override_on_screen_p95_ms": round(p95(override_ms), 1),
        "mqtt_screenshot_round_trip_p50_ms": round(statistics.median(shot_ms), 1),
        "mqtt_screenshot_round_trip_p95_ms": round(p95(shot_ms), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    figures = asyncio.run(run(args.rounds))
    figures.update(asyncio.run(over_mqtt(args.rounds)))
    for key, value in figures.items():
        print(f"{key}: {value}")
    report("signage_ops", figures)


if __name__ == "__main__":
    main()
