"""RuuviTag motion tags → pickup / putback: the published data format 5 vector mapped to a shelf,
debouncing, bumps, duplicates from several scanners, and unknown tags handed on untouched."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.beacons.advert import RUUVI_COMPANY_ID, Advertisement
from edge.beacons.build import ruuvi_v5_payload
from edge.config import MotionTagConfig, from_mapping
from edge.errors import ConfigError
from edge.inputs import ShelfReading
from edge.shelf.motion import MotionTags

# docs.ruuvi.com data format 5, "Test vectors", case "valid data": movement counter 66,
# acceleration (4, -4, 1036) mg, sequence 205, MAC CB:B8:33:4C:88:4F.
VALID_VECTOR = bytes.fromhex("0512FC5394C37C0004FFFC040CAC364200CDCBB8334C884F")
TAG_MAC = "CB:B8:33:4C:88:4F"
REST = (4, -4, 1036)
LIFTED = (420, -310, 880)


def tags(**overrides: float) -> MotionTags:
    return MotionTags([MotionTagConfig(id="tag-1", mac=TAG_MAC, shelf="shelf-a3", sku="4006381333931", **overrides)])


def advert(at: float, counter: int, seq: int, accel: tuple[int, int, int] = REST, mac: str = TAG_MAC) -> Advertisement:
    payload = ruuvi_v5_payload(
        temperature_c=21.0, acceleration_mg=accel, movement_counter=counter, sequence=seq, mac=mac
    )
    return Advertisement(at, "gw-1", mac, -70, manufacturer_data={RUUVI_COMPANY_ID: payload})


def play(motion: MotionTags, adverts: list[Advertisement]) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    for adv in adverts:
        found = motion.observe(adv)
        assert found is not None
        out += [(r.at, r.action) for r in found]
    return out


def test_the_published_vector_maps_to_its_shelf_and_sku() -> None:
    motion = tags()
    adv = Advertisement(0.0, "gw-1", TAG_MAC, -60, manufacturer_data={RUUVI_COMPANY_ID: VALID_VECTOR})
    assert motion.is_tag(adv)
    assert motion.observe(adv) == []  # the first advert only learns the resting orientation
    lifted = advert(1.0, 70, 206, LIFTED)
    assert motion.observe(lifted) == [ShelfReading(1.0, "shelf-a3", "pickup", "4006381333931")]


def test_pickup_then_putback_after_settling() -> None:
    seq = iter(range(1000))
    adverts = [advert(0.0, 10, next(seq))]
    adverts += [advert(1.0 + i, 11 + i, next(seq), LIFTED) for i in range(4)]  # handled for 4 s
    adverts += [advert(5.0 + i, 14, next(seq)) for i in range(5)]  # back on the shelf, still
    assert play(tags(), adverts) == [(1.0, "pickup"), (8.0, "putback")]


def test_a_bump_is_not_a_pickup_and_duplicates_count_once() -> None:
    adverts = [advert(0.0, 10, 1), advert(1.0, 12, 2, (30, 10, 1020)), advert(2.0, 12, 3)]  # bump: counter only
    dup = advert(3.0, 13, 4, LIFTED)
    adverts += [dup, Advertisement(3.0, "gw-2", TAG_MAC, -80, manufacturer_data=dict(dup.manufacturer_data))]
    assert play(tags(), adverts) == [(3.0, "pickup")]


def test_debounce_and_counter_wrap() -> None:
    adverts = [advert(0.0, 253, 1), advert(1.0, 0, 2, LIFTED)]  # 253 → 0 is a wrap, i.e. movement
    adverts += [advert(1.5 + 0.5 * i, 0, 3 + i) for i in range(8)]  # rest from 1.5, settled at 4.5
    adverts += [advert(5.0, 1, 20, LIFTED)]  # picked up again 0.5 s after the putback: debounced
    adverts += [advert(7.0, 2, 21, LIFTED)]  # still moving, 2.5 s after: a new pickup
    assert play(tags(debounce_s=2.0), adverts) == [(1.0, "pickup"), (4.5, "putback"), (7.0, "pickup")]


def test_a_tag_restocked_in_another_orientation_learns_it() -> None:
    side = (1000, 0, 10)
    adverts = [advert(0.0, 5, 1), advert(1.0, 5, 2, side), advert(5.0, 5, 3, side)]  # no movement counted
    adverts += [advert(6.0, 6, 4, side)]  # moved a little, still lying on its side: not lifted
    assert play(tags(), adverts) == []


def test_other_ruuvi_adverts_are_handed_on() -> None:
    motion = tags()
    stranger = advert(0.0, 1, 1, mac="C0:00:00:00:00:01")
    assert not motion.is_tag(stranger)
    assert motion.observe(stranger) is None
    other_format = Advertisement(0.0, "gw-1", "x", -60, manufacturer_data={RUUVI_COMPANY_ID: b"\x03" + bytes(13)})
    assert motion.observe(other_format) is None
    assert motion.observe(Advertisement(0.0, "gw-1", "x", -60)) is None


@given(
    steps=st.lists(
        st.tuples(
            st.floats(0.0, 5.0),
            st.integers(0, 254),
            st.integers(0, 65_534),
            st.tuples(st.integers(-2000, 2000), st.integers(-2000, 2000), st.integers(-2000, 2000)),
        ),
        max_size=40,
    )
)
def test_actions_alternate_whatever_the_tag_sends(steps: list[tuple[float, int, int, tuple[int, int, int]]]) -> None:
    motion, at, actions = tags(), 0.0, []
    for dt, counter, seq, accel in steps:
        at += dt
        actions += [action for _, action in play(motion, [advert(at, counter, seq, accel)])]
    assert actions == ["pickup", "putback"] * (len(actions) // 2) + ["pickup"] * (len(actions) % 2)


@pytest.mark.parametrize(
    ("tag", "problem"),
    [
        ({"mac": "not-a-mac"}, r"motion_tags\[0\]\.mac: .not-a-mac. is not a MAC"),
        ({"shelf": "shelf-zz"}, "no shelf 'shelf-zz'"),
        ({"sku": "999"}, "not among the skus of shelf"),
        ({"rest_mg": 300.0}, "must be below lift_mg"),
        ({"settle_s": 0.0}, r"motion_tags\[0\]\.settle_s: must be > 0"),
    ],
)
def test_motion_tag_config_errors(tag: dict[str, object], problem: str) -> None:
    entry = {"id": "tag-1", "mac": TAG_MAC, "shelf": "shelf-a3", "sku": "4006381333931", **tag}
    data = {
        "zones": [{"id": "baby", "scanners": ["gw-1"]}],
        "shelves": [{"id": "shelf-a3", "zone": "baby", "skus": ["4006381333931"]}],
        "motion_tags": [entry],
    }
    with pytest.raises(ConfigError, match=problem):
        from_mapping(data, source="edge.toml")
