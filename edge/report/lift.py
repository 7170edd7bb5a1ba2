"""``edge report lift``: did the screen sell more? Exposed shoppers against the holdout group.

Input: the gateway's events as CloudEvents JSON lines (``edge replay`` output, or the outbox's bodies)
and the CDP's purchases as JSON lines ``{"token", "time" (RFC 3339), "campaign" | "offer"}``.

For each campaign, a shopper is **exposed** when an ``edge.offer.impression`` showed them one of its
offers (``kind: "offer"``, ``holdout: false``) and **held out** when the decision engine withheld one
from them (``holdout: true``): the hash that chooses the control group knows nothing about the
shopper, so the two groups differ only by the screen. A shopper **converts** when a purchase of the
campaign (by campaign id, or by an offer the impressions tie to it) follows their first exposure (or
first withholding) within the attribution window. Lift is the difference of the two conversion rates,
with a 95 % Newcombe hybrid-score interval (Wilson intervals of each rate combined; Newcombe 1998,
method 10: good coverage at the small counts a store's holdout gives, unlike the Wald interval).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from edge.errors import InputFileError
from edge.signage.impression import ATTRIBUTION_WINDOW_S
from edge.timefmt import parse_start

Z_95 = 1.959963984540054
"""The normal quantile of a two-sided 95 % interval."""
IMPRESSION = "edge.offer.impression"


@dataclass(frozen=True, slots=True)
class Interval:
    estimate: float
    low: float
    high: float


def wilson(successes: int, n: int, z: float = Z_95) -> Interval:
    """The Wilson score interval of a proportion (0 of 0: the whole range)."""
    if n == 0:
        return Interval(0.0, 0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def newcombe(x1: int, n1: int, x2: int, n2: int, z: float = Z_95) -> Interval:
    """The difference p1 - p2 with Newcombe's hybrid score interval (method 10)."""
    a, b = wilson(x1, n1, z), wilson(x2, n2, z)
    d = a.estimate - b.estimate
    low = d - math.sqrt((a.estimate - a.low) ** 2 + (b.high - b.estimate) ** 2)
    high = d + math.sqrt((a.high - a.estimate) ** 2 + (b.estimate - b.low) ** 2)
    return Interval(d, low, high)


@dataclass(slots=True)
class Group:
    shoppers: int = 0
    converted: int = 0

    @property
    def rate(self) -> Interval:
        return wilson(self.converted, self.shoppers)


@dataclass(slots=True)
class CampaignLift:
    campaign: str
    exposed: Group = field(default_factory=Group)
    holdout: Group = field(default_factory=Group)

    @property
    def lift(self) -> Interval:
        return newcombe(self.exposed.converted, self.exposed.shoppers, self.holdout.converted, self.holdout.shoppers)


@dataclass(frozen=True, slots=True)
class Purchase:
    token: str
    time: float
    campaign: str | None
    offer: str | None


def _lines(path: Path, what: str) -> Iterable[tuple[int, dict[str, object]]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise InputFileError(f"cannot read the {what}: {err.strerror}", path=str(path)) from None
    except UnicodeDecodeError as err:
        raise InputFileError(f"the {what} file is not UTF-8 (byte {err.start})", path=str(path)) from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputFileError(f"line {number}: not JSON ({err.msg})", path=str(path)) from None
        except RecursionError:
            raise InputFileError(f"line {number}: nests too deep", path=str(path)) from None
        if not isinstance(value, dict):
            raise InputFileError(f"line {number}: not a JSON object", path=str(path))
        yield number, value


def read_purchases(path: Path) -> list[Purchase]:
    purchases = []
    for number, row in _lines(path, "purchases"):
        token, when = row.get("token"), row.get("time")
        if not isinstance(token, str) or not isinstance(when, str):
            raise InputFileError(f"line {number}: needs a token and a time", path=str(path))
        try:
            at = parse_start(when)
        except ValueError:
            raise InputFileError(f"line {number}: time {when!r} is not RFC 3339", path=str(path)) from None
        campaign, offer = row.get("campaign"), row.get("offer")
        purchases.append(
            Purchase(
                token, at, campaign if isinstance(campaign, str) else None, offer if isinstance(offer, str) else None
            )
        )
    return purchases


def read_impressions(path: Path) -> list[dict[str, object]]:
    """The data of every ``edge.offer.impression`` in a CloudEvents JSON-lines file."""
    found: list[dict[str, object]] = []
    for _, event in _lines(path, "events"):
        data = event.get("data")
        if event.get("type") == IMPRESSION and isinstance(data, dict):
            found.append(data)
    return found


def lift(
    impressions: Iterable[dict[str, object]], purchases: Iterable[Purchase], window_s: float = ATTRIBUTION_WINDOW_S
) -> list[CampaignLift]:
    """Per campaign (sorted), exposed and holdout shoppers and how many of each converted."""
    first: dict[tuple[str, str], tuple[float, bool]] = {}  # (campaign, token) -> (first time, held out)
    offer_campaign: dict[str, str] = {}
    for data in impressions:
        token, campaign = data.get("token"), data.get("campaign")
        if not isinstance(token, str) or not isinstance(campaign, str):
            continue
        held = data.get("holdout") is True
        if not held and data.get("kind") != "offer":
            continue
        offer = data.get("withheld_offer") if held else data.get("offer")
        if isinstance(offer, str):
            offer_campaign[offer] = campaign
        start = data.get("start")
        at = parse_start(start) if isinstance(start, str) else 0.0
        key = (campaign, token)
        if key not in first or at < first[key][0]:
            first[key] = (at, held if key not in first else first[key][1])
    bought: dict[tuple[str, str], list[float]] = {}
    for purchase in purchases:
        campaign = purchase.campaign or offer_campaign.get(purchase.offer or "")
        if campaign is not None:
            bought.setdefault((campaign, purchase.token), []).append(purchase.time)
    campaigns: dict[str, CampaignLift] = {}
    for (campaign, token), (at, held) in first.items():
        result = campaigns.setdefault(campaign, CampaignLift(campaign))
        group = result.holdout if held else result.exposed
        group.shoppers += 1
        if any(0 <= t - at <= window_s for t in bought.get((campaign, token), ())):
            group.converted += 1
    return [campaigns[name] for name in sorted(campaigns)]


def total(results: list[CampaignLift]) -> CampaignLift:
    """All campaigns together (a shopper counts once per campaign)."""
    overall = CampaignLift("all")
    for result in results:
        overall.exposed.shoppers += result.exposed.shoppers
        overall.exposed.converted += result.exposed.converted
        overall.holdout.shoppers += result.holdout.shoppers
        overall.holdout.converted += result.holdout.converted
    return overall


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def table(results: list[CampaignLift], window_s: float) -> str:
    lines = [
        f"attribution window {window_s / 86_400:g} days; 95 % intervals (Wilson; lift: Newcombe hybrid score)",
        f"{'campaign':<14} {'exposed':>16} {'rate':>8} {'holdout':>16} {'rate':>8}   lift [95 % CI]",
    ]
    for result in [*results, total(results)] if results else []:
        e, h, d = result.exposed, result.holdout, result.lift
        lines.append(
            f"{result.campaign:<14} {e.converted:>7}/{e.shoppers:<8} {_pct(e.rate.estimate):>8} "
            f"{h.converted:>7}/{h.shoppers:<8} {_pct(h.rate.estimate):>8}   "
            f"{d.estimate * 100:+.1f} pt [{d.low * 100:+.1f}, {d.high * 100:+.1f}]"
        )
    if not results:
        lines.append("no impressions with a token and a campaign in the events")
    return "\n".join(lines)


def chart(results: list[CampaignLift], path: Path) -> None:
    """A PNG: conversion of exposed and holdout shoppers per campaign with their intervals, and the lift."""
    import matplotlib  # optional (the bench extra): only this command needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [*results, total(results)]
    fig, (rates, lifts) = plt.subplots(1, 2, figsize=(10, 0.6 * len(rows) + 2.2), dpi=100, sharey=True)
    for offset, (name, colour) in enumerate((("exposed", "#006699"), ("holdout", "#9a9aa6"))):
        ys = [i + (0.18 if offset == 0 else -0.18) for i in range(len(rows))]
        groups = [getattr(r, name) for r in rows]
        xs = [g.rate.estimate * 100 for g in groups]
        errors = [
            [(g.rate.estimate - g.rate.low) * 100 for g in groups],
            [(g.rate.high - g.rate.estimate) * 100 for g in groups],
        ]
        rates.barh(ys, xs, height=0.34, color=colour, label=name, xerr=errors, capsize=3)
    rates.set_yticks(range(len(rows)), [r.campaign for r in rows])
    rates.set_xlabel("conversion (%)")
    rates.legend(loc="lower right")
    rates.set_title("conversion within the attribution window")
    for i, result in enumerate(rows):
        d = result.lift
        colour = "#008060" if d.low > 0 else "#c8102e" if d.high < 0 else "#5c5c68"
        lifts.errorbar([d.estimate * 100], [i], xerr=[[(d.estimate - d.low) * 100], [(d.high - d.estimate) * 100]],
                       fmt="o", color=colour, capsize=4)  # fmt: skip
    lifts.axvline(0, color="#1c1c24", linewidth=1)
    lifts.set_xlabel("lift, exposed - holdout (percentage points)")
    lifts.set_title("lift with 95 % interval")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def report(events: Path, purchases: Path, png: Path | None, window_s: float = ATTRIBUTION_WINDOW_S) -> str:
    """What ``edge report lift`` prints (and the chart it writes when ``png`` is given)."""
    results = lift(read_impressions(events), read_purchases(purchases), window_s)
    if png is not None:
        chart(results, png)
    return table(results, window_s)
