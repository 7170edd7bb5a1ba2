"""The sweep's cells: today's store as the base, then one axis changed at a time, then a few hard ones.

Axes: the layout (zones tiling an aisle with scanners 3/4/6/8 m apart, an L-shaped store, a zone
with two scanners, scanners 0.5-2.5 m above the phones), the radio (path-loss exponent 1.8-3.2,
shadowing 3-8 dB, 10-40 % of adverts lost, deep fades, body shadowing, one scanner's calibration
4 dB off), the advertisers (the app at 4-10 Hz, cards at 0.5-2 Hz, phones pausing for seconds)
and the shoppers (0.6-1.5 m/s, stops of 5-120 s anywhere in a zone or at its edge, browsing back
and forth across a boundary).
"""

from __future__ import annotations

from edge.sim.sweep.advertisers import APP, CARD, Mix
from edge.sim.sweep.cell import Cell
from edge.sim.sweep.layouts import PHONE_HEIGHT_M, aisle_tiles, l_shape, spots
from edge.sim.sweep.radio import Radio
from edge.sim.sweep.shoppers import Walk

BASE_RADIO = Radio()
BASE_MIX = Mix()
BASE_WALK = Walk()


def _cells() -> tuple[Cell, ...]:
    store = spots()
    aisle4 = aisle_tiles(4.0)
    r, m, w = BASE_RADIO, BASE_MIX, BASE_WALK
    cells = [Cell("today's store", "base", store)]
    # --- layout
    cells += [Cell(f"aisle tiles, scanners {s:g} m apart", "layout", aisle_tiles(s)) for s in (3.0, 4.0, 6.0, 8.0)]
    cells.append(Cell("aisle tiles 4 m, one 8 m zone with two scanners", "layout", aisle_tiles(4.0, double=2)))
    cells.append(Cell("L-shaped store", "layout", l_shape()))
    cells += [
        Cell(f"scanners {h:g} m above the phones", "layout", store.with_heights(PHONE_HEIGHT_M + h))
        for h in (0.5, 1.5, 2.5)
    ]
    cells.append(Cell("aisle tiles 4 m, scanners 2.5 m above", "layout", aisle4.with_heights(PHONE_HEIGHT_M + 2.5)))
    # --- radio
    cells += [Cell(f"path-loss exponent {n:g}", "radio", store, r.but(exponent=n)) for n in (1.8, 2.6, 3.2)]
    cells += [Cell(f"shadowing sigma {s:g} dB", "radio", store, r.but(sigma_db=s)) for s in (3.0, 6.5, 8.0)]
    cells += [Cell(f"{p:.0%} adverts lost", "radio", store, r.but(miss=p)) for p in (0.1, 0.3, 0.4)]
    cells.append(Cell("deep fades 5x as often", "radio", store, r.but(fade_p=0.1)))
    cells.append(Cell("deep fades, 15-30 dB, 8 %", "radio", store, r.but(fade_p=0.08, fade_db=(15.0, 30.0))))
    cells.append(Cell("body shadowing every 30 s, 4-10 dB", "radio", store,
                      r.but(body_rate_hz=1 / 30, body_s=(2.0, 6.0), body_db=(4.0, 10.0))))  # fmt: skip
    cells += [
        Cell(f"scanner calibration {e:+g} dB ({s})", "radio", store, r.but(scanner_error_db=((s, e),)))
        for s, e in (("scn-produce", 4.0), ("scn-household", -4.0), ("scn-baby", 4.0))
    ]
    cells.append(Cell("aisle tiles 4 m, calibration +4 dB", "radio", aisle4, r.but(scanner_error_db=(("scn-2", 4.0),))))
    cells.append(Cell("aisle tiles 4 m, shadowing 8 dB", "radio", aisle4, r.but(sigma_db=8.0)))
    # --- advertisers
    cells += [Cell(f"app at {hz:g} Hz, no cards", "advertisers", store, mix=m.but(app=APP.at_hz(hz), card_every=0))
              for hz in (4.0, 6.0, 10.0)]  # fmt: skip
    cells += [Cell(f"cards at {hz:g} Hz only", "advertisers", store, mix=m.but(card=CARD.at_hz(hz), card_every=1))
              for hz in (2.0, 1.0, 0.5)]  # fmt: skip
    pausing = APP.paused(1 / 60, (2.0, 10.0))
    cells.append(Cell("phones pausing 2-10 s every minute", "advertisers", store, mix=m.but(app=pausing)))
    cells.append(Cell("aisle tiles 4 m, cards at 1 Hz only", "advertisers", aisle4,
                      mix=m.but(card=CARD.at_hz(1.0), card_every=1)))  # fmt: skip
    # --- shoppers
    cells += [
        Cell(f"walking {v:g} m/s", "shoppers", store, walk=w.but(speed_m_s=(v - 0.1, v + 0.1))) for v in (0.6, 1.5)
    ]
    cells.append(Cell("short stops, 5-20 s", "shoppers", store, walk=w.but(stop_s=(5.0, 20.0))))
    cells.append(
        Cell("long stops, 60-120 s, one each", "shoppers", store, walk=w.but(stop_s=(60.0, 120.0), stops=(1, 1)))
    )
    cells.append(Cell("stops anywhere in the zone", "shoppers", store, walk=w.but(placement="anywhere")))
    cells.append(Cell("stops at the zone's edge", "shoppers", store, walk=w.but(placement="edge")))
    cells.append(Cell("browsing across the boundary", "shoppers", store, walk=w.but(browse_p=0.5)))
    cells.append(Cell("aisle tiles 4 m, stops anywhere", "shoppers", aisle4, walk=w.but(placement="anywhere")))
    cells.append(Cell("aisle tiles 4 m, short stops 5-20 s", "shoppers", aisle4, walk=w.but(stop_s=(5.0, 20.0))))
    cells.append(Cell("aisle tiles 4 m, browsing", "shoppers", aisle4, walk=w.but(browse_p=0.5)))
    # --- hard: several axes at once
    noisy = r.but(sigma_db=6.5, miss=0.3)
    cells.append(Cell("hard: the independent store (aisle 4 m, noisy, slow cards, stops anywhere)", "hard", aisle4,
                      noisy, m.but(card=CARD.at_hz(1.0), card_every=2), w.but(placement="anywhere")))  # fmt: skip
    cells.append(
        Cell("hard: aisle 3 m, sigma 8 dB, 40 % lost", "hard", aisle_tiles(3.0), r.but(sigma_db=8.0, miss=0.4))
    )
    cells.append(Cell("hard: aisle 6 m, edge stops, browsing", "hard", aisle_tiles(6.0),
                      walk=w.but(placement="edge", browse_p=0.3)))  # fmt: skip
    cells.append(Cell("hard: L-shape, exponent 3.2, calibration -4 dB", "hard", l_shape(),
                      r.but(exponent=3.2, scanner_error_db=(("scn-corner", -4.0),))))  # fmt: skip
    cells.append(Cell("hard: today's store, fades + body, browsing", "hard", store,
                      r.but(fade_p=0.08, body_rate_hz=1 / 30, body_db=(4.0, 10.0)),
                      walk=w.but(browse_p=0.5)))  # fmt: skip
    cells.append(Cell("hard: today's store, cards 0.5 Hz, short edge stops", "hard", store,
                      mix=m.but(card=CARD.at_hz(0.5), card_every=1),
                      walk=w.but(placement="edge", stop_s=(5.0, 20.0))))  # fmt: skip
    cells.append(Cell("hard: aisle 4 m, pausing phones, fast walkers", "hard", aisle4,
                      mix=m.but(app=pausing), walk=w.but(speed_m_s=(1.4, 1.6))))  # fmt: skip
    cells.append(Cell("hard: aisle 8 m, exponent 1.8, scanners 2.5 m above", "hard",
                      aisle_tiles(8.0).with_heights(PHONE_HEIGHT_M + 2.5), r.but(exponent=1.8)))  # fmt: skip
    cells.append(Cell("hard: L-shape, sigma 6.5 dB, slow walkers, stops anywhere", "hard", l_shape(),
                      r.but(sigma_db=6.5), walk=w.but(speed_m_s=(0.5, 0.7), placement="anywhere")))  # fmt: skip
    return tuple(cells)


CELLS: tuple[Cell, ...] = _cells()
"""Every cell of the sweep, the base first."""
