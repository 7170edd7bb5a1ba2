"""``edge provision``: a device's config, identity (key + CSR for mutual TLS) and systemd units.

Everything goes under ``root`` (``/`` on a box, a temporary directory in tests), at the paths the
units expect: ``/etc/edge/edge.toml``, ``/etc/edge/device.key`` (+ ``device.csr``, ``ca.pem``) and
``/etc/systemd/system/edge-*.service``. Idempotent: a second run with the same arguments changes
nothing; a file that would change is refused without ``--force``. The device key is never
replaced (it would orphan the certificate issued for it): delete it to rotate.
"""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

import edge
from edge.atomic import write_atomic
from edge.config import from_mapping
from edge.errors import ConfigError, EdgeError

ETC = Path("etc/edge")
UNITS = Path("etc/systemd/system")
CONFIG_PATH = ETC / "edge.toml"
KEY_PATH = ETC / "device.key"
CSR_PATH = ETC / "device.csr"
CERT_PATH = ETC / "device.crt"
CA_PATH = ETC / "ca.pem"
DEFAULT_EXECUTABLE = "/opt/edge/bin/edge"
"""The ``ExecStart`` of the shipped units; provision puts the path of the running ``edge`` there."""
UNIT_FILES = ("edge-gateway.service",)
DISPLAY_DROPIN = "edge-gateway.service.d/display.conf"
CAMERA_DROPIN = "edge-gateway.service.d/camera.conf"


class ProvisionError(EdgeError):
    """Provisioning would overwrite files (without ``--force``) or cannot write them."""


@dataclass(frozen=True, slots=True)
class Request:
    store: str
    gateway: str
    broker: str
    root: Path = Path("/")
    ca: Path | None = None
    force: bool = False
    display: bool = False
    camera: bool = False
    executable: str | None = None
    units_dir: Path | None = None


def default_units_dir() -> Path:
    return Path(edge.__file__).resolve().parent.parent / "systemd"


def default_executable() -> str:
    candidate = Path(sys.executable).parent / "edge"
    return str(candidate) if candidate.exists() else shutil.which("edge") or DEFAULT_EXECUTABLE


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_text(req: Request) -> str:
    tls = req.broker.startswith("mqtts://")
    mqtt = [f"url = {_toml(req.broker)}"]
    if req.ca is not None:
        mqtt.append(f'ca_file = "/{CA_PATH}"')
    if tls:
        mqtt += [f'cert_file = "/{CERT_PATH}"', f'key_file = "/{KEY_PATH}"']
    return (
        "# Written by `edge provision`; every key in docs/configuration.md. Add the store's\n"
        "# [[zones]], [[screens]] and [[shelves]] (hardware/README.md has an example layout).\n\n"
        f"[gateway]\nstore = {_toml(req.store)}\ngateway = {_toml(req.gateway)}\n"
        'state_dir = "/var/lib/edge"  # systemd StateDirectory=edge\n\n'
        '[ble]\nbackend = "bleak"\n\n'
        "[mqtt]\n" + "\n".join(mqtt) + "\n\n"
        '[metrics]\nlisten = "127.0.0.1:9464"\n'
    )


def new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def csr_for(key: ec.EllipticCurvePrivateKey, store: str, gateway: str) -> x509.CertificateSigningRequest:
    """CN is the MQTT client id (the broker's ACL can map it); the SAN is the events' source URN."""
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"edge-{store}-{gateway}"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, store),
        ]
    )
    san = x509.SubjectAlternativeName([x509.UniformResourceIdentifier(f"urn:edge:{store}:{gateway}")])
    return (
        x509.CertificateSigningRequestBuilder()
        .subject_name(subject)
        .add_extension(san, critical=False)
        .sign(key, hashes.SHA256())
    )


class _Plan:
    """Files to write, each compared with what is there."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.writes: list[tuple[Path, bytes, int]] = []
        self.report: list[tuple[str, Path]] = []

    def want(self, rel: Path, data: bytes, mode: int = 0o644) -> None:
        path = self.root / rel
        if not path.exists():
            self.report.append(("create", rel))
        elif path.read_bytes() == data:
            self.report.append(("unchanged", rel))
            return
        else:
            self.report.append(("replace", rel))
        self.writes.append((path, data, mode))

    def conflicts(self) -> list[Path]:
        return [rel for action, rel in self.report if action == "replace"]

    def apply(self) -> None:
        for path, data, mode in self.writes:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data, mode=mode)


def _key_and_csr(plan: _Plan, req: Request) -> None:
    key_path = req.root / KEY_PATH
    if key_path.exists():
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ProvisionError(f"{key_path} is not an EC private key: move it away to make a new one")
        plan.report.append(("keep", KEY_PATH))
    else:
        key = new_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        plan.want(KEY_PATH, pem, 0o600)
    csr_path = req.root / CSR_PATH
    if csr_path.exists():
        old = x509.load_pem_x509_csr(csr_path.read_bytes())
        wanted = csr_for(key, req.store, req.gateway)
        if old.subject == wanted.subject and old.public_key() == key.public_key():
            plan.report.append(("unchanged", CSR_PATH))  # a CSR's signature differs per run: compare content
            return
    plan.want(CSR_PATH, csr_for(key, req.store, req.gateway).public_bytes(serialization.Encoding.PEM))


def _ca_bundle(path: Path) -> bytes:
    """``--ca``'s bytes, once they are PEM certificates: a key, a CSR or a DER file copied to ``ca.pem`` would only show
    as a TLS failure at the first connection, far from the mistake."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ProvisionError(f"cannot read --ca {path}: {err.strerror}") from None
    try:
        x509.load_pem_x509_certificates(data)
    except ValueError:
        raise ProvisionError(f"--ca {path}: not a PEM certificate (-----BEGIN CERTIFICATE-----)") from None
    return data


def provision(req: Request) -> list[tuple[str, Path]]:
    """Write (or check) every file; what happened to each, relative to ``root``."""
    text = config_text(req)
    try:
        import tomllib

        from_mapping(tomllib.loads(text), source="--store/--gateway/--broker")
    except ConfigError as err:
        raise ProvisionError(str(err)) from None
    units_dir = req.units_dir or default_units_dir()
    if not (units_dir / UNIT_FILES[0]).is_file():
        raise ProvisionError(f"the unit files are not in {units_dir}: pass --units DIR (the repository's systemd/)")
    plan = _Plan(req.root)
    plan.want(CONFIG_PATH, text.encode())
    if req.ca is not None:
        plan.want(CA_PATH, _ca_bundle(req.ca))
    executable = req.executable or default_executable()
    names = list(UNIT_FILES) + ([DISPLAY_DROPIN] if req.display else []) + ([CAMERA_DROPIN] if req.camera else [])
    for name in names:
        unit = (units_dir / name).read_text(encoding="utf-8").replace(DEFAULT_EXECUTABLE, executable)
        plan.want(UNITS / name, unit.encode())
    _key_and_csr(plan, req)
    conflicts = plan.conflicts()
    if conflicts and not req.force:
        listed = ", ".join(str(req.root / rel) for rel in conflicts)
        raise ProvisionError(f"would overwrite {listed}: pass --force to replace them")
    try:
        plan.apply()
    except OSError as err:
        raise ProvisionError(f"cannot write {err.filename}: {err.strerror} (run as root, or use --root DIR)") from None
    return plan.report


def next_steps(req: Request) -> list[str]:
    etc = Path("/") / ETC
    steps = []
    if req.broker.startswith("mqtts://"):
        steps.append(
            f"Have {etc / 'device.csr'} signed by the store's CA and save the certificate as {etc / 'device.crt'}."
        )
    steps += [
        f"Add the store's [[zones]], [[screens]] and [[shelves]] to {etc / 'edge.toml'} (hardware/README.md).",
        "sudo systemctl daemon-reload && sudo systemctl enable --now edge-gateway.service",
        f"edge doctor --config {etc / 'edge.toml'}   (then: journalctl -u edge-gateway -f)",
    ]
    return steps
