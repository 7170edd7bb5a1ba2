"""The benchmark's printed table and its JSON line (benchmarks/common.py:report)."""

from __future__ import annotations

from typing import Any

from benchmarks.common import report

GOAL_RATIO = 1.3
"""Issue 16: the gateway's CPU within 1.3x the bare bleak loop's at 800 and 3,000 adverts/s."""
GOAL_MIN_RATE = 800
"""The goal's rates: 800 and 3,000 adverts/s (200/s is reported, not judged)."""
GOAL_REPLAY_US = 20.0
"""Issue 16: a replay at real time within 20 µs of CPU per advert."""
GOAL_IDLE_PCT = 0.5
"""Issue 16: nobody in the store, under 0.5 % of a core."""


def _cell(value: Any) -> str:
    return f"{'-' if value is None else format(value, '.4g'):>9}"


Rows = list[dict[str, Any]]


def print_table(bleak: Rows, replay: Rows, idle: dict[str, Any] | None, profiles: dict[str, list[str]]) -> None:
    header = ["rate/s", "achieved", "gw CPU %", "gw µs/adv", "gw turns", "bleak %", "bleak µs", "bl turns", "ratio"]
    header += ["min", "max", "whole", "load", "replay %", "replay µs", "rp turns", "rp load"]
    print("\n" + " ".join(f"{h:>9}" for h in header))
    rates = sorted({r["rate"] for r in bleak} | {r["rate"] for r in replay})
    for rate in rates:
        b = next((r for r in bleak if r["rate"] == rate), {})
        r = next((r for r in replay if r["rate"] == rate), {})
        cells = [rate, b.get("achieved_per_s"), b.get("gateway_pct"), b.get("gateway_us"), b.get("gateway_turns")]
        cells += [b.get("bare_pct"), b.get("bare_us"), b.get("bare_turns"), b.get("ratio"), b.get("ratio_min")]
        cells += [b.get("ratio_max"), b.get("ratio_whole"), b.get("load")]
        cells += [r.get("gateway_pct"), r.get("gateway_us"), r.get("gateway_turns"), r.get("load")]
        print(" ".join(_cell(c) for c in cells))
    print("ratio: the median of the pairs' ratios (gateway over the mean of the bare scanners started before and")
    print("after it, over the same seconds); bleak %, µs: that mean; min, max:")
    print("their spread; whole: the whole window's; turns: event-loop turns (epoll_wait calls) per advert,")
    print("counted with strace after each window, the gateway and the bare scanners (bl: their mean) traced over")
    print("the same seconds (tracing lowers the count: compare the two columns, not with an untraced count);")
    print("load: the 1-minute load average, the median of the pairs' ends")
    for b in bleak:
        pairs = " ".join(f"{r:.2f}@{load:.1f}" for r, load in zip(b["ratio_pairs"], b["load_pairs"], strict=False))
        print(
            f"  {b['rate']}/s, {b['pairs']} pairs of {b['pair_seconds']} s (ratio@load): {pairs}; µs from /proc's "
            f"clock ticks: gw {b['gateway_us_ticks']}, bare {b['bare_us_ticks']}"
        )
        if "bare_after_us" in b:
            print(
                f"    bare scanners: started before {b['bare_before_us']} µs, after {b['bare_after_us']} µs "
                f"(after/before {b['after_over_before']}); ratio against the one before {b['ratio_before']}, "
                f"after {b['ratio_after']}"
            )
        if "against" in b:
            a = b["against"]
            pairs = " ".join(f"{r:.2f}" for r in a["ratio_pairs"])
            print(
                f"    --against: {a['gateway_us']} µs/advert, ratio {a['ratio']} ({a['ratio_min']}-{a['ratio_max']}, "
                f"whole {a['ratio_whole']}): {pairs}"
            )
    if idle is not None:
        print(
            f"idle: gateway {idle['gateway_pct']:.2f} % of a core (goal <= {GOAL_IDLE_PCT}), "
            f"bare BleakScanner {idle['bare_pct']:.2f} %, load {idle['load']}"
        )
    for title, lines in profiles.items():
        print(f"\npy-spy, {title}: " + "\n".join(lines))


def report_figures(bleak: Rows, replay: Rows, idle: dict[str, Any] | None, seconds: float) -> None:
    figures: dict[str, Any] = {"bleak": bleak, "replay": replay, "seconds": seconds}
    figures.update({"goal_ratio": GOAL_RATIO, "goal_replay_us": GOAL_REPLAY_US, "goal_idle_pct": GOAL_IDLE_PCT})
    if idle is not None:
        figures.update(
            {
                "idle_gateway_pct": round(idle["gateway_pct"], 3),
                "idle_bare_pct": round(idle["bare_pct"], 3),
                "bleak_outbox": idle["outbox"],
            }
        )
    if bleak:
        middle = bleak[len(bleak) // 2]
        busy = [r for r in bleak if r["rate"] >= GOAL_MIN_RATE] or bleak
        figures["ratio_to_bare_bleak"] = max(r["ratio"] for r in bleak)  # each row's: the median of its pairs
        figures["ratio_goal_rates"] = max(r["ratio"] for r in busy)
        figures["ratio_goal_rates_spread"] = [min(r["ratio_min"] for r in busy), max(r["ratio_max"] for r in busy)]
        figures["gateway_us_per_advert"] = middle["gateway_us"]
        figures["bare_us_per_advert"] = middle["bare_us"]
    if replay:
        figures["replay_us_per_advert"] = max(r["gateway_us"] for r in replay)
    report("realtime_cost", figures)
