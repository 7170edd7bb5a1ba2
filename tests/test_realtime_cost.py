"""``benchmarks/realtime_cost.py``: its crowd is what it says, and a short run reports every figure."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.roster import parse_roster
from tests.bluez_feed import ROSTERED_SHARE, Crowd

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("rate", [200, 800, 3000])
def test_the_crowd_adverts_at_the_rate_with_a_tenth_rostered(rate: int) -> None:
    crowd = Crowd(1, time.time(), rate)
    assert crowd.rate == rate
    assert len(crowd.schedule) == rate
    offsets = [offset for offset, _ in crowd.schedule]
    assert offsets == sorted(offsets)
    assert offsets[0] >= 0.0
    assert offsets[-1] < 1.0
    rostered = sum(1 for _, i in crowd.schedule if crowd.advertisers[i].rostered)
    assert ROSTERED_SHARE <= rostered / rate < ROSTERED_SHARE + 0.05


def test_a_lower_rate_is_a_prefix_of_a_higher_one_and_on_its_roster() -> None:
    start = time.time()
    small, big = Crowd(1, start, 200), Crowd(1, start, 800)
    assert big.advertisers[: sum(a.rostered for a in small.advertisers)] == [a for a in small.advertisers if a.rostered]
    phones = [a for a in small.advertisers if not a.rostered]
    assert [a for a in big.advertisers if not a.rostered][: len(phones)] == phones
    roster = parse_roster(big.roster())
    assert {s.token for s in small.store.shoppers} <= {s.token for s in roster.shoppers}


@pytest.mark.slow
@pytest.mark.bluez
@pytest.mark.timeout(120)
def test_a_quick_run_reports_every_figure() -> None:
    argv = [sys.executable, "benchmarks/realtime_cost.py", "--quick", "--rates", "200", "--seconds", "2"]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=110, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["benchmark"] == "realtime_cost"
    (bleak,) = figures["bleak"]
    assert bleak["achieved_per_s"] > 150
    assert bleak["peer_heard"] >= 200  # the bare scanner heard the feed (1 s warm-up + 2 s window)
    # CPU is counted in clock ticks (10 ms): a 2 s window at 200/s may read 0
    assert bleak["gateway_us"] >= 0
    assert bleak["bare_us"] >= 0
    assert figures["bleak_outbox"].get("presence.entered", 0) >= 1  # the gateway resolved the roster
    assert figures["replay"][0]["gateway_us"] >= 0
    assert figures["idle_gateway_pct"] >= 0
