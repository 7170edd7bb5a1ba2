"""Screen operations on the player side: override request -> first presented frame of the override,
screenshot request -> JPEG bytes of the presented frame, with the player process headless at
1920x1080 (SDL's dummy driver). The baseline, measured in the same run, is an ordinary offer card:
show -> first presented frame. The MQTT legs (override and screenshot topics) need the gateway's
wiring and are not in these figures.

``python benchmarks/signage_ops.py [--rounds N]``; the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    figures = asyncio.run(run(args.rounds))
    for key, value in figures.items():
        print(f"{key}: {value}")
    report("signage_ops", figures)


if __name__ == "__main__":
    main()
