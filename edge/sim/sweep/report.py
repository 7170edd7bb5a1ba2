"""The presence sweep's outputs: a table per cell (every engine side by side) and a heat map."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from edge.sim.sweep.judge import FIGURES, value_of

HEAT_MAP_DPI = 90
"""Resolution of the heat map: its 5.5 pt cell labels stay legible."""
HEAT_MAP_COLOURS = 48
"""Palette size of the saved PNG (the colour map is smooth, the text black: 48 lose nothing visible)."""


def fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(rows: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    for row in rows:
        g = row["goals"]
        enter_goal = "any" if math.isinf(g["enter_p95_s"]) else f"<= {g['enter_p95_s']:g} s"
        lines.append(
            f"[{row['index']:2d}] {row['axis']}: {row['cell']}  (goals: enter {enter_goal}, "
            f"exit <= {g['exit_p95_s']:g} s,"
            f" right >= {g['right_zone_pct']:g} %, spurious <= {g['spurious_per_shopper_hour']:g}/h)"
        )
        lines.append(
            f"     {'engine':10} {'enter95':>8} {'exit95':>8} {'right%':>7} {'spur/h':>7} {'visits':>7} "
            f"{'missed':>6}  result"
        )
        for name, f in row["engines"].items():
            if f["error"]:
                lines.append(f"     {name:10} ERROR {f['error']}")
                continue
            missed = row["missed"][name]
            result = (
                "pass"
                if not missed
                else "FAIL "
                + ", ".join(
                    m.replace("_per_shopper_hour", "").replace("_pct", "").replace("_p95_s", "") for m in missed
                )
            )
            lines.append(
                f"     {name:10} {fmt(f['enter_p95_s']):>8} {fmt(f['exit_p95_s']):>8} {f['right_zone_pct']:>7.2f}"
                f" {f['spurious_per_shopper_hour']:>7.2f} {f['visits']:>7} {f['missed']:>6}  {result}"
            )
    return "\n".join(lines)


def heat_map(rows: list[dict[str, Any]], path: Path) -> None:
    """Cells x (engine, figure), coloured by the ratio to the cell's goal (green met, red missed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(rows[0]["engines"])
    columns = [(n, k) for n in names for k in FIGURES]
    data: list[list[float]] = []
    labels: list[list[str]] = []
    for row in rows:
        line, text = [], []
        for name, key in columns:
            f = row["engines"][name]
            if f["error"]:
                line.append(math.nan)
                text.append("err")
                continue
            goal, value = row["goals"][key], value_of(f, key)
            if key == "right_zone_pct":
                ratio = (100.0 - value) / (100.0 - goal)
            else:
                ratio = 1.0 if math.isinf(goal) and math.isfinite(value) else value / goal if goal > 0 else math.inf
            line.append(max(-2.0, min(2.0, math.log2(max(ratio, 1e-3)))) if math.isfinite(ratio) else 2.0)
            text.append(
                "inf" if not math.isfinite(value) else f"{value:.1f}" if key != "right_zone_pct" else f"{value:.0f}"
            )
        data.append(line)
        labels.append(text)
    fig, ax = plt.subplots(figsize=(2 + 0.75 * len(columns), 1.5 + 0.28 * len(rows)))
    image = ax.imshow(data, cmap="RdYlGn_r", vmin=-2.0, vmax=2.0, aspect="auto")
    short = {
        "enter_p95_s": "enter95",
        "exit_p95_s": "exit95",
        "right_zone_pct": "right%",
        "spurious_per_shopper_hour": "spur/h",
    }
    ax.set_xticks(range(len(columns)), [f"{n}\n{short[k]}" for n, k in columns], fontsize=7)
    ax.set_yticks(range(len(rows)), [f"{r['index']}: {r['cell'][:48]}" for r in rows], fontsize=7)
    ax.xaxis.tick_top()
    for y, text in enumerate(labels):
        for x, label in enumerate(text):
            ax.text(x, y, label, ha="center", va="center", fontsize=5.5)
    for x in range(len(FIGURES), len(columns), len(FIGURES)):
        ax.axvline(x - 0.5, color="black", linewidth=1.2)
    fig.colorbar(image, ax=ax, fraction=0.02, pad=0.01, label="log2(value / goal); right zone: misses / allowed")
    fig.tight_layout()
    fig.savefig(path, dpi=HEAT_MAP_DPI)
    plt.close(fig)
    from PIL import Image  # matplotlib's own dependency

    with Image.open(path) as saved:  # a palette of a few dozen colours: a fifth of the bytes, same picture
        saved.convert("RGB").quantize(colors=HEAT_MAP_COLOURS).save(path, optimize=True)
