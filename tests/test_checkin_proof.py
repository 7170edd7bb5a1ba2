"""The app check-in's signed proof: verified with the CDP's public key, once, in time, for this store only."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.checkin.proof import (
    NONCE_MEMORY_MAX,
    CheckinError,
    ProofVerifier,
    Rejection,
    decode_object,
    form_of,
    signed_text,
    uuid_key,
)
from edge.config import from_mapping
from edge.errors import ConfigError
from tests.helpers import START

STORE_UUID = uuid.UUID("8e1f3c52-6a4d-4b7e-9f10-2c5d7a3b9e41")
MAJOR = 7
CDP_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
"""A fixed key, so the worked example in hardware/ios.md is reproducible (never use it for real)."""
ISSUED = "2026-11-23T10:00:00Z"
EXPIRES = "2026-11-23T10:05:00Z"
NOW = START + 1.0
"""START is 2026-11-23T10:00:00Z: one second after the proof was issued."""


def public_key(private: Ed25519PrivateKey = CDP_KEY) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def body(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "token": "s-ada",
        "event": "enter",
        "region": {"uuid": str(STORE_UUID).upper(), "major": MAJOR, "minor": 1},
        "issued_at": ISSUED,
        "expires_at": EXPIRES,
        "nonce": "q5Yc1mJb0x7Hn2Ra",
    }
    out.update(changes)
    return out


def sign(obj: dict[str, Any], private: Ed25519PrivateKey = CDP_KEY) -> dict[str, Any]:
    return {**obj, "sig": base64.b64encode(private.sign(signed_text(obj))).decode()}


def verifier(**kwargs: Any) -> ProofVerifier:
    return ProofVerifier(public_key(), STORE_UUID, MAJOR, **kwargs)


def refused(v: ProofVerifier, obj: dict[str, Any], now: float = NOW) -> Rejection:
    with pytest.raises(CheckinError) as caught:
        v.verify(obj, now)
    return caught.value.reason


# --- the worked example of hardware/ios.md --------------------------------------------------------

EXAMPLE_SIGNED = (
    '{"event":"enter","expires_at":"2026-11-23T10:05:00Z","issued_at":"2026-11-23T10:00:00Z",'
    '"nonce":"q5Yc1mJb0x7Hn2Ra","region":{"major":7,"minor":1,"uuid":"8E1F3C52-6A4D-4B7E-9F10-2C5D7A3B9E41"},'
    '"token":"s-ada","zone":"baby"}'
)


def test_the_worked_example_in_the_ios_guide_verifies() -> None:
    example = sign(body(zone="baby"))
    assert signed_text(example).decode() == EXAMPLE_SIGNED
    guide = (Path(__file__).resolve().parent.parent / "hardware" / "ios.md").read_text()
    key_b64 = base64.b64encode(public_key()).decode()
    private_b64 = base64.b64encode(bytes(range(32))).decode()
    for text in (EXAMPLE_SIGNED, example["sig"], key_b64, private_b64):
        assert text in guide, text
    checkin = verifier().verify(json.loads(json.dumps(example)), NOW)
    assert (checkin.token, checkin.event, checkin.minor, checkin.zone) == ("s-ada", "enter", 1, "baby")


# --- accepted -------------------------------------------------------------------------------------


def test_a_valid_proof_is_accepted_once() -> None:
    v = verifier()
    proof = sign(body())
    checkin = v.verify(proof, NOW)
    assert (checkin.token, checkin.event, checkin.minor, checkin.zone) == ("s-ada", "enter", 1, None)
    assert checkin.expires_at - checkin.issued_at == 300
    assert refused(v, proof, NOW + 2) is Rejection.REPLAYED
    assert v.counters == {"accepted": 1, "replayed": 1}


@pytest.mark.parametrize("form", [str(STORE_UUID), str(STORE_UUID).upper(), STORE_UUID.hex, STORE_UUID.hex.upper()])
def test_the_region_uuid_matches_in_any_case_with_or_without_dashes(form: str) -> None:
    verifier().verify(sign(body(region={"uuid": form, "major": MAJOR, "minor": 3})), NOW)
    assert uuid_key(form) == STORE_UUID.hex


def test_unknown_fields_are_signed_and_accepted() -> None:
    verifier().verify(sign(body(app_version="4.2.0", note="Grüße")), NOW)


def test_a_redemption_code_is_optional_signed_and_read_in_upper_case() -> None:
    v = verifier()
    assert v.verify(sign(body(nonce="nonce-code-1")), NOW).code is None, "an older check-in: no code"
    assert v.verify(sign(body(nonce="nonce-code-2", code="oat25-7kq2xm")), NOW).code == "OAT25-7KQ2XM"
    forged = {**sign(body(nonce="nonce-code-3", code="OAT25-7KQ2XM")), "code": "OAT25-AAAAAA"}
    assert refused(v, forged) is Rejection.BAD_SIGNATURE, "the code is covered by the CDP's signature"
    for bad in ("", "ab", "OAT25 7KQ2XM", "x" * 49, 12345):
        with pytest.raises(CheckinError, match=r"`\$\.code` is invalid") as caught:
            v.verify(sign(body(nonce=f"nonce-bad-{bad!s:.8}", code=bad)), NOW)
        assert caught.value.reason is Rejection.MALFORMED


def test_nonces_are_forgotten_with_their_proofs() -> None:
    v = verifier(max_lifetime_s=900)
    for i in range(5):
        v.verify(sign(body(nonce=f"nonce-{i:04d}")), NOW)
    assert v.nonces_held == 5
    later = START + 301.0  # all expired: the next proof (issued later) purges them
    v.verify(sign(body(nonce="nonce-late", issued_at="2026-11-23T10:05:00Z", expires_at="2026-11-23T10:10:00Z")), later)
    assert v.nonces_held == 1


def test_a_full_nonce_memory_refuses_rather_than_forgets() -> None:
    v = verifier(nonce_memory_max=2)
    v.verify(sign(body(nonce="nonce-0001")), NOW)
    v.verify(sign(body(nonce="nonce-0002")), NOW)
    assert refused(v, sign(body(nonce="nonce-0003"))) is Rejection.NONCE_MEMORY_FULL
    assert NONCE_MEMORY_MAX >= 65_536


# --- refused --------------------------------------------------------------------------------------


def test_refusals_by_reason() -> None:
    v = verifier()
    other = Ed25519PrivateKey.from_private_bytes(b"\x01" * 32)
    cases = {
        Rejection.UNSIGNED: body(),
        Rejection.BAD_SIGNATURE: sign(body(), other),
        Rejection.EXPIRED: sign(body()),
        Rejection.NOT_YET_VALID: sign(body(issued_at="2026-11-23T10:01:00Z", expires_at="2026-11-23T10:06:00Z")),
        Rejection.FOREIGN_STORE: sign(body(region={"uuid": str(STORE_UUID), "major": MAJOR + 1, "minor": 1})),
    }
    times = {Rejection.EXPIRED: START + 300.0}
    for reason, proof in cases.items():
        assert refused(v, proof, times.get(reason, NOW)) is reason
    assert refused(v, sign(body(region={"uuid": str(uuid.uuid4()), "major": MAJOR, "minor": 1}))) is (
        Rejection.FOREIGN_STORE
    )
    malformed = [
        sign(body(event="wander")),
        sign(body(token="")),
        sign(body(region={"uuid": str(STORE_UUID), "major": 70_000, "minor": 1})),
        sign(body(issued_at="yesterday")),
        sign(body(issued_at="2026-11-23T10:00:00")),  # no offset
        sign(body(expires_at="2026-11-23T11:00:00Z")),  # an hour: longer than proofs live
        sign({k: v for k, v in body().items() if k != "region"}),  # the region binds the proof to a store
        {**body(), "sig": "not base64!"},
    ]
    for proof in malformed:
        assert refused(v, proof) is Rejection.MALFORMED
    assert v.counters == {r.value: 1 for r in cases} | {"foreign-store": 2, "malformed": len(malformed)}


def test_without_a_key_or_a_region_every_proof_is_refused() -> None:
    for v in (ProofVerifier(None, STORE_UUID, MAJOR), ProofVerifier(public_key(), None, None)):
        assert refused(v, sign(body())) is Rejection.UNCONFIGURED


def test_raw_payloads_and_the_two_forms() -> None:
    assert form_of(decode_object(b'{"token": "s-ada", "screen": "screen-1"}')) == "camera"
    assert form_of(decode_object(json.dumps(sign(body())).encode())) == "presence"
    assert form_of(decode_object(b'{"token": "s-ada", "screen": "screen-1", "sig": "x"}')) == "presence"
    v = verifier()
    for payload in (b"[1]", b"{", b'{"a": NaN}', b'{"token": "a", "token": "b"}', b"{}" + b" " * 4096):
        with pytest.raises(CheckinError) as caught:
            v.verify_payload(payload, NOW)
        assert caught.value.reason is Rejection.MALFORMED
    assert v.counters["malformed"] == 5


def test_errors_and_logs_never_carry_payload_values(caplog: pytest.LogCaptureFixture) -> None:
    v = verifier()
    secret = "s-very-secret-token"
    for proof in (sign(body(token=secret, event="wander")), sign(body(token=secret), Ed25519PrivateKey.generate())):
        with pytest.raises(CheckinError) as caught:
            v.verify(proof, NOW)
        assert secret not in str(caught.value)
    assert secret not in caplog.text


def test_config_sections() -> None:
    key = base64.b64encode(public_key()).decode()
    config = from_mapping(
        {
            "zones": [{"id": "baby", "scanners": ["gw-1"]}],
            "advertise": {"uuid": str(STORE_UUID), "major": MAJOR, "minor": 1, "zone": "baby"},
            "checkin": {"cdp_public_key": key},
        }
    )
    assert config.checkin.public_key_bytes == public_key()
    assert config.checkin.presence_timeout_s == 1800
    assert config.advertise is not None
    assert config.advertise.proximity_uuid == STORE_UUID
    assert config.advertise.interval_ms == 100
    bad = {
        "advertise.uuid": {"advertise": {"uuid": "nope", "major": 1}},
        "advertise.major": {"advertise": {"uuid": str(STORE_UUID), "major": 65_536}},
        "advertise.interval_ms": {"advertise": {"uuid": str(STORE_UUID), "major": 1, "interval_ms": 10}},
        "advertise.measured_power_dbm": {"advertise": {"uuid": str(STORE_UUID), "major": 1, "measured_power_dbm": 5}},
        "advertise.zone": {"advertise": {"uuid": str(STORE_UUID), "major": 1, "zone": "nowhere"}},
        "checkin.cdp_public_key": {"checkin": {"cdp_public_key": base64.b64encode(b"short").decode()}},
        "checkin.presence_timeout_s": {"checkin": {"presence_timeout_s": 0}},
    }
    for key_name, data in bad.items():
        with pytest.raises(ConfigError, match=key_name.replace(".", r"\.")):
            from_mapping(data)


# --- properties -----------------------------------------------------------------------------------

_values = st.one_of(
    st.text(max_size=20), st.integers(-(2**31), 2**31), st.booleans(), st.none(), st.lists(st.integers(), max_size=3)
)


def _tamper(obj: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(obj))
    target = out
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return out


FIELDS = [("token",), ("event",), ("issued_at",), ("expires_at",), ("nonce",), ("zone",), ("code",), ("region", "uuid")]
FIELDS += [("region", "major"), ("region", "minor"), ("extra",)]


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(FIELDS), value=_values)
def test_any_change_to_any_field_breaks_the_signature(field: tuple[str, ...], value: Any) -> None:
    proof = sign(body(zone="baby", code="OAT25-7KQ2XM"))
    tampered = _tamper(proof, field, value)
    if signed_text(tampered) == signed_text(proof):
        return  # the same value written back: not a change
    assert refused(verifier(), tampered) is Rejection.BAD_SIGNATURE


@settings(max_examples=100, deadline=None)
@given(nonce=st.text(min_size=8, max_size=40), later_s=st.floats(0.0, 298.0))
def test_a_replay_is_refused_whenever_it_comes(nonce: str, later_s: float) -> None:
    v = verifier()
    proof = sign(body(nonce=nonce))
    v.verify(proof, NOW)
    assert refused(v, json.loads(json.dumps(proof)), NOW + later_s) is Rejection.REPLAYED


@settings(max_examples=100, deadline=None)
@given(major=st.integers(0, 0xFFFF).filter(lambda m: m != MAJOR), minor=st.integers(0, 0xFFFF))
def test_another_stores_proof_is_refused(major: int, minor: int) -> None:
    proof = sign(body(region={"uuid": str(STORE_UUID), "major": major, "minor": minor}))
    assert refused(verifier(), proof) is Rejection.FOREIGN_STORE
