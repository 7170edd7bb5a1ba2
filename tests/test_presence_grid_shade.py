"""The grid engine's body shadowing (edge/presence_grid_shade.py; docs/presence.md, "The grid hears the shopper's
body (session 45)"): the probability's chain, and a standing shopper whose body drops every reading for seconds.
A real sweep store, the sightings from a seeded radio; pure."""

from __future__ import annotations

import math
import random

import pytest

from edge import presence_grid_shade
from edge.presence import Sighting
from edge.presence_grid import GridEstimator
from edge.presence_grid_shade import SHADE_MAX_S, SHADE_S, SHADE_SHARE, Shade
from edge.sim.sweep.cells import CELLS
from edge.sim.sweep.judge import TICK_S

T0 = 1_795_428_000.0


def test_the_probability_starts_at_the_share_and_relaxes_back_to_it() -> None:
    body = Shade()
    assert body.prior(T0) == SHADE_SHARE
    prior = body.prior(T0)
    p = body.update(T0, prior, clear=1.0, shaded=9.0)  # (the advert nine times likelier with the body in the way)
    assert p == pytest.approx(prior * 9.0 / ((1.0 - prior) + prior * 9.0))
    assert SHADE_SHARE < body.prior(T0 + 1.0) < p  # (relaxing, not yet back)
    assert body.prior(T0 + 20 * SHADE_S) == pytest.approx(SHADE_SHARE, abs=1e-6)
    assert body.update(T0 + 1.0, 0.3, clear=0.0, shaded=0.0) == 0.3  # (nothing explained: the prior stands)
    assert body.update(T0 + 2.0, 0.3, clear=math.inf, shaded=1.0) == 0.3


def test_a_shadow_lasts_at_most_its_bound_then_none_for_a_while() -> None:
    """Evidence for the body every second for a minute: believed for SHADE_MAX_S, then not at all for SHADE_S (a
    shopper who walked out of the door reads like one standing inside behind their body -- for as long as the
    readings last), then believed again."""
    body, believed = Shade(), []
    for k in range(60):
        at = T0 + k
        prior = body.prior(at)
        believed.append(body.update(at, prior, clear=1.0, shaded=50.0) >= 0.5)
    first_off = believed.index(False)
    assert first_off == math.floor(SHADE_MAX_S) + 1
    assert not any(believed[first_off : first_off + math.floor(SHADE_S)])
    assert any(believed[first_off + math.ceil(SHADE_S) :])


def _stand(shade: bool, seed: int, monkeypatch: pytest.MonkeyPatch, shadowed: list[float] | None = None) -> int:
    """Three minutes of a shopper standing 1.5 m from scn-produce (its zone: 3 m around it) in today's store with a
    2 Hz card, readings from the store's radio (exponent 2.2, 5 dB shadowing, 20 % missed, heard within 15 m above
    -95 dBm) -- and every 20 s their body in the way for 6 s, every reading 10 dB down: the zone's exits."""
    monkeypatch.setattr(presence_grid_shade, "SHADE", shade)
    config = CELLS[0].layout.config(floor=True)
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    rng = random.Random(seed)
    at, tick, exits = T0, T0 + TICK_S, 0
    while at < T0 + 180.0:
        body = 10.0 if (at - T0) % 20.0 >= 14.0 else 0.0
        for s in config.scanners:
            d = math.sqrt((s.x_m - 19.0) ** 2 + (s.y_m - 5.5) ** 2 + (s.height_m - 1.2) ** 2)
            rssi = -59.0 - 22.0 * math.log10(d) + rng.gauss(0.0, 5.0) - body
            if d <= 15.0 and rng.random() >= 0.2 and rssi >= -95.0:
                engine.observe(Sighting("tok", "ibeacon", s.id, round(rssi), -59, at))
        at += 0.5 + rng.uniform(0.0, 0.01)
        while tick <= at:
            exits += sum(e.kind == "exited" for e in engine.tick(tick))
            if shadowed is not None:
                report = engine.radio()
                assert not any("tok" in key for key in report)
                shadowed.append(report["bodies_shadowed"])
            tick += TICK_S
    return exits


def test_a_standing_shopper_behind_their_own_body_stays_in_the_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Six seeds: weighed only as heard, the drops read as walks away from every scanner and the zone is left (and
    entered again) 26 times; weighed with the body in the way as well, 4 times."""
    with_body = [_stand(True, seed, monkeypatch) for seed in range(1, 7)]
    without = [_stand(False, seed, monkeypatch) for seed in range(1, 7)]
    assert sum(without) >= 15
    assert 3 * sum(with_body) <= sum(without)


def test_only_adverts_two_scanners_heard_falling_say_anything_of_the_body() -> None:
    """A common drop needs readings to share it: adverts one scanner heard leave the body's probability where it was
    (SHADE_HEARD) even when they fall 10 dB; adverts two heard at steady levels are not weighed so either (their
    first reading not SHADE_DROP_DB under its scanner's last); two heard falling move it. Withdrawal forgets it."""
    config = CELLS[0].layout.config(floor=True)
    engine = GridEstimator(config.zones, config.presence, config.scanners, config.floor)
    for k in range(6):
        engine.observe(Sighting("tok", "ibeacon", "scn-produce", -70 - 10 * (k % 2), -59, T0 + k))
        engine.tick(T0 + k + 0.25)
    track = engine._tracks["tok"]
    assert track.body.at is None
    for k in range(6, 12):
        engine.observe(Sighting("tok", "ibeacon", "scn-produce", -75, -59, T0 + k))
        engine.observe(Sighting("tok", "ibeacon", "scn-household", -90, -59, T0 + k))
        engine.tick(T0 + k + 0.25)
    assert track.body.at is None
    assert track.body.p == SHADE_SHARE
    for k in range(12, 16):
        engine.observe(Sighting("tok", "ibeacon", "scn-produce", -75 - 8 * (k % 2), -59, T0 + k))
        engine.observe(Sighting("tok", "ibeacon", "scn-household", -90 - 8 * (k % 2), -59, T0 + k))
        engine.tick(T0 + k + 0.25)
    assert track.body.at is not None
    assert track.body.p != SHADE_SHARE
    engine.forget("tok")
    assert "tok" not in engine._tracks


def test_the_radio_report_counts_the_shoppers_behind_their_body_never_naming_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``bodies_shadowed`` (on /metrics as edge_presence_radio{quantity="bodies_shadowed"}): 1 during most of the
    standing shopper's shadows (6 s of every 20), 0 between them; never a token in the report."""
    shadowed: list[float] = []
    _stand(True, 1, monkeypatch, shadowed)
    assert set(shadowed) == {0.0, 1.0}
    assert 0.15 <= sum(shadowed) / len(shadowed) <= 0.35  # (0.25: the shadows are 0.3 of the time)
