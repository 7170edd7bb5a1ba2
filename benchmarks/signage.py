"""Signage: frame time with crossfades at 1920x1080 headless, decision time for 1,000 offers, and
presence event → first presented frame of the offer, each beside a baseline from the same run.

- frame time: the player's compositor (crossfade from one fully drawn card to the next, a new
  item every second, so half the frames blend) and ``display.flip``, SDL's dummy driver; baseline:
  a bare ``blit`` + ``flip`` loop of one opaque 1920x1080 surface. Goal p99 <= 16.7 ms (60 Hz).
- decision: ``choose_offer`` over 1,000 offers (mixed targeting, exclusions, caps); baseline: a bare
  Python loop touching one attribute of each offer. Goal < 10 ms.
- latency: the real pipeline at 5x (the simulated store's roster, offers and rules; opted-in card
  holders arriving one by one at the entrance screen), the player process headless at 1920x1080:
  from the committed ``edge.presence.entered`` (the sink) to the first presented frame of that
  shopper's offer (the first frame of its crossfade). Baseline: the player alone, show → first
  presented frame. Goal p95 <= 300 ms.

    python benchmarks/signage.py [--frames N] [--seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ["PYGAME_HIDE_SUPPORT_PROMPT"] = "1"

import pygame

from benchmarks.common import report
from edge import app
from edge import constants as c
from edge import events as ev
from edge.beacons.advert import APPLE_COMPANY_ID, Advertisement
from edge.beacons.build import ibeacon_payload
from edge.beacons.replay import ItemsSource
from edge.config import SignageConfig
from edge.events import Event
from edge.inputs import Item
from edge.roster import Shopper
from edge.signage import protocol as p
from edge.signage.caps import CapLedger
from edge.signage.cards import Card, accent_for
from edge.signage.compose import Compositor
from edge.signage.decide import Play
from edge.signage.offers import parse_offers, parse_rules
from edge.signage.rank import Place, choose_offer
from edge.signage.render import BUNDLED_CONTENT, CardRenderer, ContentCache
from edge.signage.supervisor import PlayerProcess
from edge.sim.radio import LOYALTY_UUID
from edge.sim.store import SimulatedStore

GOAL_FRAME_P99_MS = 16.7
GOAL_DECISION_MS = 10.0
GOAL_LATENCY_P95_MS = 300.0
SIZE = (1920, 1080)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def cards() -> list[Card]:
    offer = {
        "kind": "offer", "text": "Dry, fresh and fruity. While stocks last.", "label": "Your offer",
        "price": "€5.59", "was_price": "was €7.99", "code": "BUBBLES30", "qr": "https://shop.example/r/BUBBLES30",
        "scan_hint": "Scan to save",
    }  # fmt: skip
    return [
        Card(play=1, headline="Prosecco: 30 % off", image="prosecco.png", accent=accent_for("alcohol"), **offer),  # type: ignore[arg-type]
        Card(play=2, kind="generic", headline="Fresh from the region", image="apples.png", accent=accent_for("g")),
        Card(play=3, headline="Soft nappies: 20 % off", image="diapers.png", accent=accent_for("baby"), **offer),  # type: ignore[arg-type]
        Card(play=4, kind="generic", headline="Tonight's recipe", image="recipes.png", accent=accent_for("r")),
    ]


def frame_times(frames: int) -> tuple[list[float], list[float]]:
    pygame.display.init()
    pygame.font.init()
    screen = pygame.display.set_mode(SIZE)
    renderer = CardRenderer(SIZE, ContentCache([BUNDLED_CONTENT]))
    surfaces = [renderer.render(card) for card in cards()]
    bare: list[float] = []
    for _ in range(frames):
        started = time.perf_counter()
        screen.blit(surfaces[0], (0, 0))
        pygame.display.flip()
        bare.append((time.perf_counter() - started) * 1000)
    compositor = Compositor(surfaces[0], 0, crossfade_s=0.5)
    fps = 30
    ours: list[float] = []
    for frame in range(frames):
        now = frame / fps
        if frame % fps == 0:
            compositor.enter(surfaces[(frame // fps) % len(surfaces)], frame)
        started = time.perf_counter()
        compositor.draw(screen, now)
        pygame.display.flip()
        ours.append((time.perf_counter() - started) * 1000)
    pygame.quit()
    return bare, ours


def decision_times(runs: int) -> tuple[list[float], list[float]]:
    offers = []
    for i in range(1000):
        target = {"segments": [["families", "vegan", "wine-lovers"][i % 3]]} if i % 2 else {}
        category = ["alcohol", "baby", "food"][i % 3]
        offers.append(
            {"id": f"o-{i}", "campaign": f"c-{i % 7}", "headline": {"en": "x"}, "category": category,
             "skus": [f"sku-{i % 50}"], "priority": i % 100, "target": target}
        )  # fmt: skip
    catalogue = parse_offers(json.dumps({"version": 1, "issued_at": "2026-11-23T09:00:00Z", "offers": offers}).encode())
    rules = parse_rules(
        json.dumps(
            {
                "version": 1,
                "issued_at": "2026-11-23T09:00:00Z",
                "exclusions": [{"category": "alcohol", "zone_tags": ["baby"]}],
            }
        ).encode()
    )
    viewer = Shopper("s-1", frozenset({"presence", "personalization"}), (), ("families",), ("sku-3", "sku-9"))
    place = Place("screen-1", "baby", frozenset({"baby"}))
    ledger = CapLedger()
    now = 1_795_428_000.0
    for k in range(200):
        ledger.record("screen-1", "s-1", f"o-{k}", now - k)
    bare: list[float] = []
    ours: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        total = 0
        for offer in catalogue.offers:
            total += offer.priority
        bare.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        choose_offer(catalogue, rules, viewer, place, now, ledger, {"sku-7": now - 10})
        ours.append((time.perf_counter() - started) * 1000)
    return bare, ours


def arrivals(store: SimulatedStore, count: int, gap_s: float) -> Iterator[Item]:
    """The roster, offers and rules at t = 0, then ``count`` opted-in card holders arriving one by
    one at the entrance (3 s of adverts at -55 dBm, then gone), ``gap_s`` apart: a free screen each time."""
    from edge.roster import parse_roster

    first = list(itertools.islice(store.items(), 3))
    roster = parse_roster(first[0].payload)  # type: ignore[union-attr]
    personal = {s.token for s in roster.shoppers if s.has("personalization")}
    cards = [s for s in store.shoppers if s.kind == "ibeacon" and s.token in personal]
    yield from first
    for k in range(count):
        shopper = cards[k % len(cards)]
        payload = {APPLE_COMPANY_ID: ibeacon_payload(LOYALTY_UUID, 1, shopper.index + 1, -59)}
        t0 = store.start + 2.0 + k * gap_s
        for n in range(12):
            yield Advertisement(t0 + n * 0.25, "scn-entrance", "C0:00:00:00:00:01", -55, manufacturer_data=payload)


async def latencies(count: int) -> tuple[list[float], list[float]]:
    store = SimulatedStore(seed=7)
    # A free screen each time, as the goal assumes ("generic content yields at once"): the last shopper's
    # card may be re-decided for them when its SIGNAGE_PLAY_S ends while they are still present (their exit
    # fires about 10 s after they arrived), and a personal card holds the screen SIGNAGE_MIN_DISPLAY_S from its
    # start; 2 s more for the exit. At 10 s apart (before session 15) the next shopper met that hold in 2 of 17
    # arrivals and waited 0.6-0.9 s for it: the rule against flicker, not the latency this measures.
    gap_s = c.SIGNAGE_PLAY_S + c.SIGNAGE_MIN_DISPLAY_S + 2.0
    source = ItemsSource(arrivals(store, count, gap_s), start=store.start, speed=5.0)
    entered: dict[str, float] = {}
    samples: list[float] = []

    def sink(event: Event) -> None:
        if event.type == ev.PRESENCE_ENTERED and event.token:
            entered[event.token] = time.monotonic()

    def on_started(play: Play, mono: float) -> None:
        at = entered.pop(play.token, None) if play.token else None
        if at is not None and play.kind == "offer":
            samples.append((mono - at) * 1000)

    config = SignageConfig(screen="screen-3", backend="headless")
    with tempfile.TemporaryDirectory() as state:
        gateway = app.Gateway(store.config, source, sinks=[sink], state_dir=Path(state), signage=config)
        async with gateway:
            signage = gateway.signage
            assert signage is not None
            signage.on_started.append(on_started)
            await signage.player.wait_ready()
            await gateway.run()
            await asyncio.sleep(1.0)
    # Baseline: the player alone, show → first presented frame, at 1920x1080 headless.
    shown: dict[int, float] = {}
    player_only: list[float] = []

    def on_report(report: p.Report) -> None:
        if isinstance(report, p.Started) and report.play in shown:
            player_only.append((report.mono - shown.pop(report.play)) * 1000)

    async with PlayerProcess(p.PlayerSettings(backend="headless"), on_report) as player:
        await player.wait_ready()
        for k, card in enumerate(cards() * 5):
            shown[k + 1] = time.monotonic()
            player.show(Card(**{**{f: getattr(card, f) for f in card.__struct_fields__}, "play": k + 1}))
            await asyncio.sleep(0.8)
    return player_only, samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--decisions", type=int, default=300)
    parser.add_argument("--arrivals", type=int, default=20, help="shoppers arriving at a free screen")
    args = parser.parse_args()
    bare_frame, frame = frame_times(args.frames)
    bare_decision, decision = decision_times(args.decisions)
    bare_latency, latency = asyncio.run(latencies(args.arrivals))
    rows = [
        ("frame 1920x1080, bare blit+flip", bare_frame),
        ("frame 1920x1080, with crossfades", frame),
        ("decision, bare loop over 1,000", bare_decision),
        ("decision, 1,000 offers", decision),
        ("player alone: show -> frame", bare_latency),
        ("presence -> offer frame", latency),
    ]
    print(f"{'ms':36}{'n':>6}{'p50':>9}{'p95':>9}{'p99':>9}")
    for name, values in rows:
        print(f"{name:36}{len(values):6}{pct(values, 50):9.2f}{pct(values, 95):9.2f}{pct(values, 99):9.2f}")
    print(
        f"goals: frame p99 <= {GOAL_FRAME_P99_MS} ms, decision < {GOAL_DECISION_MS} ms, "
        f"presence -> frame p95 <= {GOAL_LATENCY_P95_MS} ms"
    )
    report(
        "signage",
        {
            "frame_ms_p50": round(pct(frame, 50), 2),
            "frame_ms_p99": round(pct(frame, 99), 2),
            "bare_flip_ms_p50": round(pct(bare_frame, 50), 2),
            "bare_flip_ms_p99": round(pct(bare_frame, 99), 2),
            "decision_ms_p50": round(statistics.median(decision), 3),
            "decision_ms_p99": round(pct(decision, 99), 3),
            "bare_loop_ms_p50": round(statistics.median(bare_decision), 3),
            "latency_ms_p50": round(pct(latency, 50), 1) if latency else None,
            "latency_ms_p95": round(pct(latency, 95), 1) if latency else None,
            "latency_samples": len(latency),
            "player_only_ms_p95": round(pct(bare_latency, 95), 1) if bare_latency else None,
            "goal_frame_p99_ms": GOAL_FRAME_P99_MS,
            "goal_decision_ms": GOAL_DECISION_MS,
            "goal_latency_p95_ms": GOAL_LATENCY_P95_MS,
        },
    )


if __name__ == "__main__":
    main()
