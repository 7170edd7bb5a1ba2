"""``edge report lift`` on simulated data with a known lift: the interval holds the truth, the CLI
prints the table and writes the PNG chart."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from edge import cli
from edge.report.lift import lift, newcombe, read_impressions, read_purchases, report, wilson
from edge.timefmt import format_time
from tests.helpers import START

TRUE_EXPOSED, TRUE_HOLDOUT = 0.14, 0.09
"""Conversion rates the simulation draws from: the true lift is 5 points."""


def simulate(
    directory: Path, seed: int = 7, exposed_rate: float = TRUE_EXPOSED, shoppers: int = 6000, holdout_share: float = 0.1
) -> tuple[Path, Path]:
    rng = random.Random(seed)
    events, purchases = [], []
    for i in range(shoppers):
        token = f"s-{i}"
        held = rng.random() < holdout_share
        at = START + rng.uniform(0, 86_400)
        data = {
            "screen": "screen-1",
            "offer": "g-welcome" if held else "o-coffee",
            "kind": "generic" if held else "offer",
            "campaign": "c-coffee",
            "token": token,
            "start": format_time(at),
            "holdout": held,
            "withheld_offer": "o-coffee" if held else None,
        }
        events.append({"specversion": "1.0", "type": "edge.offer.impression", "data": data})
        if rng.random() < (TRUE_HOLDOUT if held else exposed_rate):
            later = at + rng.uniform(60, 5 * 86_400)
            purchases.append({"token": token, "time": format_time(later), "offer": "o-coffee"})
        if rng.random() < 0.05:  # bought before ever seeing the screen: not a conversion
            purchases.append({"token": token, "time": format_time(at - 3600), "campaign": "c-coffee"})
    events.append({"type": "edge.presence.entered", "data": {"token": "s-0"}})
    (directory / "events.jsonl").write_text("\n".join(json.dumps(e) for e in events) + "\n")
    (directory / "purchases.jsonl").write_text("\n".join(json.dumps(p) for p in purchases) + "\n")
    return directory / "events.jsonl", directory / "purchases.jsonl"


def test_wilson_and_newcombe_against_published_values() -> None:
    # Newcombe (1998), table II, example (a): 56/70 vs 48/80 -> 0.2000 [0.0524, 0.3339]
    d = newcombe(56, 70, 48, 80)
    assert d.estimate == pytest.approx(0.2)
    assert d.low == pytest.approx(0.0524, abs=5e-4)
    assert d.high == pytest.approx(0.3339, abs=5e-4)
    w = wilson(0, 10)
    assert w.low == 0.0
    assert w.high == pytest.approx(0.2775, abs=5e-4)


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_the_interval_holds_the_true_lift(tmp_path: Path, seed: int) -> None:
    events, purchases = simulate(tmp_path, seed)
    (result,) = lift(read_impressions(events), read_purchases(purchases))
    assert result.campaign == "c-coffee"
    assert result.exposed.shoppers + result.holdout.shoppers == 6000
    assert 450 < result.holdout.shoppers < 750
    d = result.lift
    assert d.low < TRUE_EXPOSED - TRUE_HOLDOUT < d.high
    assert d.low > 0, "5 points with 600 held out is detectable"


def test_no_lift_is_not_claimed(tmp_path: Path) -> None:
    events, purchases = simulate(tmp_path, 3, exposed_rate=TRUE_HOLDOUT)
    (result,) = lift(read_impressions(events), read_purchases(purchases))
    assert result.lift.low < 0 < result.lift.high


@pytest.mark.slow  # matplotlib's import and first figure: ~10 s on a loaded 2-core box
def test_the_command_prints_the_table_and_writes_the_chart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    events, purchases = simulate(tmp_path)
    png = tmp_path / "lift.png"
    code = cli.main(["report", "lift", "--events", str(events), "--purchases", str(purchases), "--png", str(png)])
    out = capsys.readouterr().out
    assert code == 0
    assert "c-coffee" in out
    assert "lift" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert report(events, purchases, None).splitlines()[0].startswith("attribution window 7 days")


def test_bad_input_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("{}\n")
    bad = tmp_path / "purchases.jsonl"
    bad.write_text('{"token": "s-1", "time": "yesterday"}\n')
    assert cli.main(["report", "lift", "--events", str(events), "--purchases", str(bad)]) == 2
    assert "purchases.jsonl" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'{"token": "s-1", "time": "2026-11-23T10:00:00Z", "sku": "caf\xe9"}\n', "not UTF-8"),
        (b"[" * 200_000 + b"\n", "nests too deep"),
    ],
    ids=["latin-1", "deep"],
)
def test_undecodable_input_is_named_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, words: str
) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("{}\n")
    bad = tmp_path / "purchases.jsonl"
    bad.write_bytes(content)
    assert cli.main(["report", "lift", "--events", str(events), "--purchases", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "purchases.jsonl" in err
    assert words in err
