"""Roster validation, EID computation and rotation, and resolution (fail closed)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from edge.beacons.advert import APPLE_COMPANY_ID, EDDYSTONE_UUID, Advertisement
from edge.eid import eid_at, eid_for_counter, window_index
from edge.errors import RosterError
from edge.identity import Resolver
from edge.roster import Roster, parse_roster
from tests.helpers import START, T0, TK, app_advert, card_advert, roster_bytes, roster_dict, uid_advert


def aes(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def test_aes_is_fips_197() -> None:
    # FIPS-197 appendix C.1: the AES-128 known answer the EID computation rests on.
    key = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
    plain = bytes.fromhex("00112233445566778899aabbccddeeff")
    assert aes(key, plain).hex() == "69c4e0d86a7b0430d8cdb78070b4c55a"


def test_eid_follows_the_specification_layout() -> None:
    # Eddystone eid-computation.md: the temporary key is AES(ik, 0x00*11 | 0xFF | 0x00 0x00 | TS[0..1]) and the
    # EID the first 8 bytes of AES(tk, 0x00*11 | K | TS with the K lowest bits cleared), both big-endian.
    ik = bytes.fromhex("e2b2c74db04d6d7fc2c7e0f9a0c18c2e")
    counter = 0x12345678
    tk = aes(ik, bytes(11) + b"\xff" + bytes(2) + (counter >> 16).to_bytes(2, "big"))
    cleared = counter & ~((1 << 10) - 1)
    expected = aes(tk, bytes(11) + bytes([10]) + cleared.to_bytes(4, "big"))[:8]
    assert eid_for_counter(tk, 10, counter) == expected
    assert eid_for_counter(tk, 10, cleared) == expected
    assert eid_for_counter(tk, 10, cleared + 1023) == expected
    assert eid_for_counter(tk, 10, cleared + 1024) != expected


def test_eid_rejects_bad_parameters() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        eid_for_counter(b"short", 10, 0)
    with pytest.raises(ValueError, match="k must be"):
        eid_for_counter(TK, 16, 0)


def test_roster_parses_the_design_example() -> None:
    roster = parse_roster(roster_bytes())
    assert roster.version == 1
    assert [s.token for s in roster.shoppers] == ["s-card", "s-app", "s-uid"]
    assert roster.shoppers[0].segments == ("families",)
    assert not roster.expired(START)
    assert roster.expired(START + 86_400)


def broken(mutate: Any) -> bytes:
    data = roster_dict()
    mutate(data)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("payload", "what"),
    [
        (b"{", "truncated"),
        (b"[]", "Expected `object`"),
        (broken(lambda d: d.pop("expires_at")), "$: Object missing required field `expires_at`"),
        (broken(lambda d: d.update(expires_at=d["issued_at"])), "$.expires_at: must be after issued_at"),
        (broken(lambda d: d["shoppers"][1]["ids"][0].update(tk="00")), "$.shoppers[1].ids[0].tk: must be 16 bytes"),
        (broken(lambda d: d["shoppers"][1]["ids"][0].update(k=16)), "$.shoppers[1].ids[0].k: Expected `int` <= 15"),
        (broken(lambda d: d["shoppers"][0]["ids"][0].update(uuid="nope")), "$.shoppers[0].ids[0].uuid: is not a UUID"),
        (
            broken(lambda d: d["shoppers"][0]["ids"][0].update(major=70000)),
            "$.shoppers[0].ids[0].major: Expected `int` <= 65535",
        ),
        (broken(lambda d: d["shoppers"][0]["ids"][0].update(type="mac")), "type"),
        (broken(lambda d: d["shoppers"][1].update(token="s-card")), "$.shoppers[1].token: duplicate token"),
        (broken(lambda d: d["shoppers"][0].update(face={"model": "sface-2021dec", "embedding": "AAAA"})), "camera"),
    ],
)
def test_a_bad_roster_is_rejected_whole_with_where(payload: bytes, what: str) -> None:
    with pytest.raises(RosterError) as err:
        parse_roster(payload)
    assert what in str(err.value)


def test_each_identifier_type_resolves() -> None:
    resolver = Resolver(parse_roster(roster_bytes()))
    card = resolver.resolve(card_advert(START), START)
    app = resolver.resolve(app_advert(START), START)
    uid = resolver.resolve(uid_advert(START), START)
    assert card is not None
    assert (card.token, card.via, card.measured_power_1m_dbm) == ("s-card", "ibeacon", -59)
    assert app is not None
    assert (app.token, app.via, app.measured_power_1m_dbm) == ("s-app", "eddystone-eid", -59)
    assert uid is not None
    assert (uid.token, uid.via) == ("s-uid", "eddystone-uid")


def test_unknown_and_malformed_adverts_resolve_to_nobody() -> None:
    resolver = Resolver(parse_roster(roster_bytes()))
    assert resolver.resolve(card_advert(START, minor=3), START) is None
    assert resolver.resolve(app_advert(START, tk=bytes(16)), START) is None
    junk = Advertisement(
        START,
        "gw-1",
        "x",
        -50,
        manufacturer_data={APPLE_COMPANY_ID: b"\x02\x15\x00"},
        service_data={EDDYSTONE_UUID: b"\x30"},
    )
    assert resolver.resolve(junk, START) is None


def test_eid_resolves_across_a_rotation_edge() -> None:
    resolver = Resolver(parse_roster(roster_bytes()))
    window = window_index(10, T0, START)
    edge = T0 + ((window + 1) << 10)
    assert eid_at(TK, 10, T0, edge - 1) != eid_at(TK, 10, T0, edge)  # the broadcast EID rotates at the edge
    for at in (edge - 1, edge, edge + 1, edge + 1024, edge + 5 * 1024):
        resolved = resolver.resolve(app_advert(at), at)
        assert resolved is not None, f"EID at {at - edge:+} s from the edge did not resolve"
    # A beacon whose clock lags by one window still resolves; one lagging by two windows does not.
    now = edge + 10
    assert resolver.resolve(app_advert(now - 1024), now) is not None
    assert resolver.resolve(app_advert(now - 2048), now) is None


def test_an_expired_roster_resolves_nobody() -> None:
    resolver = Resolver(parse_roster(roster_bytes(expires=START + 10)))
    assert resolver.resolve(card_advert(START + 9), START + 9) is not None
    for advert in (card_advert, app_advert, uid_advert):
        assert resolver.resolve(advert(START + 10), START + 10) is None
    assert Resolver().resolve(card_advert(START), START) is None


def test_a_shopper_without_the_presence_scope_is_not_resolved() -> None:
    data = roster_dict()
    data["shoppers"][0]["scopes"] = ["personalization"]
    resolver = Resolver(parse_roster(json.dumps(data).encode()))
    assert resolver.resolve(card_advert(START), START) is None


def test_the_roster_looks_tokens_up_by_index_and_a_copy_without_one_forgets_it() -> None:
    roster = parse_roster(roster_bytes())
    assert set(roster.tokens) == {"s-card", "s-app", "s-uid"}
    assert "s-app" in roster.tokens
    assert roster.get("s-app") is roster.shoppers[1]
    assert roster.get("nobody") is None
    fewer = roster.without("s-app")
    assert "s-app" not in fewer.tokens
    assert fewer.get("s-app") is None
    assert "s-app" in roster.tokens
    assert fewer == Roster(roster.version, roster.issued_at, roster.expires_at, fewer.shoppers)  # index not compared
    twice = Roster(1, 0.0, 1.0, (roster.shoppers[0], dataclasses.replace(roster.shoppers[0], segments=())))
    assert twice.get("s-card") is twice.shoppers[0]  # a roster built in code: the first listed wins, as a scan did


def test_withdrawal_stops_resolution_at_once() -> None:
    resolver = Resolver(parse_roster(roster_bytes()))
    assert resolver.withdraw("s-app")
    assert resolver.resolve(app_advert(START), START) is None
    assert resolver.resolve(card_advert(START), START) is not None
    assert not resolver.withdraw("s-app")


def test_the_roster_holds_no_identity_key() -> None:
    # The gateway holds per-window temporary keys only: the roster schema has no field for an identity key.
    data = roster_dict()
    data["shoppers"][1]["ids"][0]["ik"] = TK.hex()
    with pytest.raises(RosterError, match="unknown field `ik`"):
        parse_roster(json.dumps(data).encode())
