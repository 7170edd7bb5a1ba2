"""One rate's steady window as consecutive pairs: in each, the gateway's and the bare scanner's CPU
over the same seconds of the same signals, so each pair's ratio is taken under one set of
conditions (the machine's load, its other jobs, the CPU's clock) and the ratio reported is the
median of the pairs', with their spread beside it.

Why pairs measured at once rather than alternating windows (gateway, then peer, then gateway...):
both processes receive every signal all the time (bleak's match rules cannot be paused without
a restart), and on a shared machine two windows a few seconds apart see different neighbours; two
processes measured over the same seconds see the same ones. What a pair cannot remove is the load
itself: a loaded machine changes how many signals each process reads per wake-up, and both its
figures with it. Hence the load average beside each pair, and several pairs per rate."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.realtime.processes import Window


def with_mean(windows: list[Window], name: str, of: tuple[str, ...]) -> list[Window]:
    """Each window with one more entry, ``name``: the mean of the processes ``of`` (the bare
    scanners started before and after the gateway: the denominator the ratio is taken against)."""
    out = []
    for w in windows:

        def mean(values: dict[str, float]) -> dict[str, float]:
            return {**values, name: sum(values[n] for n in of) / len(of)}

        out.append(Window(mean(w.cpu_s), mean(w.ticks_s), mean(w.sys_s), w.adverts, w.seconds, w.load))
    return out


def pair_ratio(window: Window, gateway: str, bare: str) -> float | None:
    """The gateway's CPU over the bare scanner's in one window (None: the bare one used none)."""
    bare_s = window.cpu_s[bare]
    return window.cpu_s[gateway] / bare_s if bare_s > 0 else None


def summary(windows: list[Window], gateway: str, bare: str) -> dict[str, Any]:
    """The rate's figures from its pairs: CPU % and µs per advert of each process over the whole
    window, the per-pair ratios, their median (the figure judged) and spread, the whole window's
    ratio, the load average at each pair's end, and the same µs from /proc's clock ticks (the grain
    check)."""
    seconds = sum(w.seconds for w in windows)
    adverts = sum(w.adverts for w in windows)
    cpu = {n: sum(w.cpu_s[n] for w in windows) for n in (gateway, bare)}
    ticks = {n: sum(w.ticks_s[n] for w in windows) for n in (gateway, bare)}
    ratios = [r for r in (pair_ratio(w, gateway, bare) for w in windows) if r is not None]
    loads = [w.load for w in windows]

    def us(value: float) -> float:
        return round(1e6 * value / adverts, 1) if adverts else 0.0

    sys_share = {n: sum(w.sys_s[n] for w in windows) / ticks[n] if ticks[n] else 0.0 for n in (gateway, bare)}
    return {
        "achieved_per_s": round(adverts / seconds, 1) if seconds else 0.0,
        "pairs": len(windows),
        "pair_seconds": round(seconds / len(windows), 2) if windows else 0.0,
        "gateway_pct": round(100.0 * cpu[gateway] / seconds, 2) if seconds else 0.0,
        "gateway_us": us(cpu[gateway]),
        "gateway_us_ticks": us(ticks[gateway]),
        "gateway_sys_share": round(sys_share[gateway], 2),
        "bare_pct": round(100.0 * cpu[bare] / seconds, 2) if seconds else 0.0,
        "bare_us": us(cpu[bare]),
        "bare_us_ticks": us(ticks[bare]),
        "bare_sys_share": round(sys_share[bare], 2),
        "ratio": round(statistics.median(ratios), 3) if ratios else 0.0,
        "ratio_min": round(min(ratios), 3) if ratios else 0.0,
        "ratio_max": round(max(ratios), 3) if ratios else 0.0,
        "ratio_whole": round(cpu[gateway] / cpu[bare], 3) if cpu[bare] else 0.0,
        "ratio_pairs": [round(r, 3) for r in ratios],
        "load": round(statistics.median(loads), 2) if loads else 0.0,
        "load_pairs": [round(x, 2) for x in loads],
    }
