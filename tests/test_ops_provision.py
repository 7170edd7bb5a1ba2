"""`edge provision` into a --root tree, and `edge doctor` on it: a real mosquitto, a fake BlueZ on a
private D-Bus, and systemd-analyze on the installed units."""

from __future__ import annotations

import asyncio
import datetime
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge.config import Config, load
from edge.ops.checks import Result, check_adapter
from edge.ops.doctor import run_checks
from edge.ops.provision import ProvisionError, Request, provision
from tests.fake_bluez import FakeBlueZFactory
from tests.mosquitto import Mosquitto

HARDWARE = {"bluetooth adapter", "camera", "display", "clock"}
"""What a CI machine lacks (no BlueZ, no camera, no screen, maybe no NTP): doctor may fail only these."""


def _edge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge", *args], capture_output=True, text=True, timeout=60, check=False
    )


def _self_signed_ca() -> bytes:
    """A real CA certificate in PEM (a day's validity): what a store's broker CA file holds."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "store broker CA")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"-----BEGIN CERTIFICATE-----\n\xe2\x80\xa6\n",
        b"-----BEGIN PRIVATE KEY-----\nMC4CAQA=\n-----END PRIVATE KEY-----\n",
        b"\x30\x82\x01\x0a",
    ],
    ids=["empty", "truncated", "a key", "DER"],
)
def test_provision_refuses_a_ca_that_is_not_a_pem_certificate(tmp_path: Path, content: bytes) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(content)
    root = tmp_path / "root"
    with pytest.raises(ProvisionError, match="not a PEM certificate"):
        provision(Request("store-1", "gw-1", "mqtts://broker.example:8883", root=root, ca=ca))
    assert not (root / "etc/edge/ca.pem").exists()


def test_provision_writes_config_key_csr_and_units_and_is_idempotent(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (tmp_path / "ca.pem").write_bytes(_self_signed_ca())
    args = ["provision", "--store", "store-7", "--gateway", "gw-2", "--broker", "mqtts://broker.example:8883"]
    first = _edge(*args, "--ca", str(tmp_path / "ca.pem"), "--root", str(root))
    assert first.returncode == 0, first.stderr
    assert "next steps" in first.stdout
    assert "device.csr" in first.stdout

    config = load(root / "etc/edge/edge.toml")
    assert (config.gateway.store, config.gateway.gateway) == ("store-7", "gw-2")
    assert config.mqtt.url == "mqtts://broker.example:8883"
    assert config.mqtt.key_file == "/etc/edge/device.key"
    assert config.mqtt.ca_file == "/etc/edge/ca.pem"
    key = root / "etc/edge/device.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    csr = x509.load_pem_x509_csr((root / "etc/edge/device.csr").read_bytes())
    assert csr.is_signature_valid
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "edge-store-7-gw-2"
    unit = (root / "etc/systemd/system/edge-gateway.service").read_text()
    assert f"ExecStart={Path(sys.executable).parent / 'edge'} run --config /etc/edge/edge.toml" in unit

    key_before = key.read_bytes()
    again = _edge(*args, "--ca", str(tmp_path / "ca.pem"), "--root", str(root))
    assert again.returncode == 0, again.stderr
    assert "create" not in again.stdout
    assert "replace" not in again.stdout
    assert key.read_bytes() == key_before


def test_provision_refuses_to_overwrite_without_force_and_never_replaces_the_key(tmp_path: Path) -> None:
    root = tmp_path / "root"
    provision(Request("store-1", "gw-1", "mqtts://broker.example:8883", root=root))
    key_before = (root / "etc/edge/device.key").read_bytes()
    toml_before = (root / "etc/edge/edge.toml").read_bytes()
    with pytest.raises(ProvisionError, match="--force"):
        provision(Request("store-1", "gw-9", "mqtts://broker.example:8883", root=root))
    assert (root / "etc/edge/edge.toml").read_bytes() == toml_before

    report = provision(Request("store-1", "gw-9", "mqtts://broker.example:8883", root=root, force=True))
    assert ("replace", Path("etc/edge/edge.toml")) in report
    assert load(root / "etc/edge/edge.toml").gateway.gateway == "gw-9"
    assert (root / "etc/edge/device.key").read_bytes() == key_before
    csr = x509.load_pem_x509_csr((root / "etc/edge/device.csr").read_bytes())
    assert csr.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "edge-store-1-gw-9"


def test_provision_rejects_bad_ids_and_urls_naming_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError, match=r"gateway\.gateway"):
        provision(Request("store-1", "gw/1", "mqtts://b:8883", root=tmp_path))
    with pytest.raises(ProvisionError, match=r"mqtt\.url"):
        provision(Request("store-1", "gw-1", "http://b", root=tmp_path))
    assert not (tmp_path / "etc").exists()


def test_installed_units_verify(tmp_path: Path) -> None:
    assert shutil.which("systemd-analyze"), "systemd-analyze is missing: `make test` installs it"
    provision(Request("store-1", "gw-1", "mqtt://127.0.0.1:1883", root=tmp_path, display=True, camera=True))
    units = tmp_path / "etc/systemd/system"
    assert (units / "edge-gateway.service.d/camera.conf").is_file()
    for name in ("edge-gateway.service",):
        result = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(units / name)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert not result.stderr.strip(), result.stderr
    assert (units / "edge-gateway.service.d/display.conf").exists()


def _failed(results: list[Result]) -> set[str]:
    return {r.name for r in results if r.status == "fail"}


def test_a_provisioned_tree_passes_doctor_except_for_missing_hardware(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with Mosquitto(tmp_path / "broker", persistence=False) as broker:
        provision(Request("store-1", "gw-1", broker.url, root=root))
        results = asyncio.run(run_checks(root / "etc/edge/edge.toml", root))
        by_name = {r.name: r for r in results}
        assert _failed(results) <= HARDWARE, results
        for name in ("config", "permissions", "broker", "disk"):
            assert by_name[name].status in ("ok", "warn"), by_name[name]
        assert "publish acknowledged" in by_name["broker"].detail
        assert by_name["roster"].status == "warn"  # none received yet: not a failure on a fresh box
        for r in results:
            if r.status == "fail":
                assert r.fix, r  # every failure says what to do

        cli = _edge("doctor", "--root", str(root))
    assert cli.returncode == (1 if _failed(results) else 0), cli.stdout
    assert "broker" in cli.stdout
    assert "fix" in cli.stdout


def test_doctor_names_what_to_fix_for_an_unreachable_broker_and_a_missing_certificate(tmp_path: Path) -> None:
    with Mosquitto(tmp_path / "broker", persistence=False) as broker:
        port = broker.port
    provision(Request("store-1", "gw-1", f"mqtt://127.0.0.1:{port}", root=tmp_path / "a"))
    results = asyncio.run(run_checks(tmp_path / "a/etc/edge/edge.toml", tmp_path / "a"))
    broker_result = next(r for r in results if r.name == "broker")
    assert broker_result.status == "fail"
    assert "port" in broker_result.fix

    provision(Request("store-1", "gw-1", "mqtts://127.0.0.1:8883", root=tmp_path / "b"))
    results = asyncio.run(run_checks(tmp_path / "b/etc/edge/edge.toml", tmp_path / "b"))
    broker_result = next(r for r in results if r.name == "broker")
    assert broker_result.status == "fail"
    assert "device.crt" in broker_result.detail
    assert "device.csr" in broker_result.fix


def test_doctor_reports_a_bad_config_key_and_world_readable_keys(tmp_path: Path) -> None:
    provision(Request("store-1", "gw-1", "mqtts://127.0.0.1:8883", root=tmp_path))
    (tmp_path / "etc/edge/device.key").chmod(0o644)
    results = asyncio.run(run_checks(tmp_path / "etc/edge/edge.toml", tmp_path))
    perms = next(r for r in results if r.name == "permissions")
    assert perms.status == "fail"
    assert "chmod 600" in perms.fix

    bad = tmp_path / "bad.toml"
    bad.write_text('[ble]\nbackend = "replay"\n')
    results = asyncio.run(run_checks(bad, tmp_path))
    assert results[0].status == "fail"
    assert "ble.trace" in results[0].detail


@pytest.mark.bluez
def test_doctor_sees_the_adapter_and_says_how_to_power_it_on(fake_bluez_factory: FakeBlueZFactory) -> None:
    config = Config()
    fake = fake_bluez_factory()
    assert asyncio.run(check_adapter(config)).status == "ok"
    fake.set_powered("hci0", powered=False)
    result = asyncio.run(check_adapter(config))
    assert result.status == "fail"
    assert "bluetoothctl power on" in result.fix
