"""The unit files: `systemd-analyze verify` on each, and the gateway's exposure score ≤ 2.0."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from edge.ops.provision import CAMERA_DROPIN, DEFAULT_EXECUTABLE, DISPLAY_DROPIN, UNIT_FILES

UNITS = Path(__file__).resolve().parent.parent / "systemd"
ANALYZE = shutil.which("systemd-analyze")
EDGE = str(Path(sys.executable).parent / "edge")
EXPOSURE_MAX = 2.0


@pytest.fixture(autouse=True)
def _systemd_analyze() -> None:
    assert ANALYZE is not None, "systemd-analyze is missing: `make test` installs it (.ci/system-packages)"


def _unit_copy(tmp_path: Path, name: str, *dropins: str) -> Path:
    """The unit as installed (ExecStart = this venv's edge, which exists here), drop-ins appended."""
    text = (UNITS / name).read_text().replace(DEFAULT_EXECUTABLE, EDGE)
    for dropin in dropins:
        text += "\n" + (UNITS / dropin).read_text()
    out = tmp_path / name
    out.write_text(text)
    return out


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, "verify", "--man=no", "--generators=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=unit.parent,
    )


def _exposure(unit: Path) -> float:
    assert ANALYZE is not None
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        cwd=unit.parent,
    )
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


@pytest.mark.parametrize("name", UNIT_FILES)
def test_every_unit_verifies(tmp_path: Path, name: str) -> None:
    result = _verify(_unit_copy(tmp_path, name))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


@pytest.mark.parametrize("dropin", [DISPLAY_DROPIN, CAMERA_DROPIN])
def test_the_drop_ins_verify_with_the_gateway_unit(tmp_path: Path, dropin: str) -> None:
    result = _verify(_unit_copy(tmp_path, "edge-gateway.service", dropin))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_gateway_unit_exposure_is_at_most_2(tmp_path: Path) -> None:
    assert _exposure(_unit_copy(tmp_path, "edge-gateway.service")) <= EXPOSURE_MAX


def test_camera_and_display_variants_stay_hardened(tmp_path: Path) -> None:
    # Opening the camera or the GPU costs some exposure, but neither variant is "exposed".
    (tmp_path / "camera").mkdir()
    assert _exposure(_unit_copy(tmp_path / "camera", "edge-gateway.service", CAMERA_DROPIN)) <= EXPOSURE_MAX
    (tmp_path / "display").mkdir()
    assert _exposure(_unit_copy(tmp_path / "display", "edge-gateway.service", DISPLAY_DROPIN)) <= EXPOSURE_MAX


def test_gateway_unit_has_the_promised_settings() -> None:
    text = (UNITS / "edge-gateway.service").read_text()
    for line in (
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "StartLimitBurst=",
        "DynamicUser=yes",
        "StateDirectory=edge",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
        "SystemCallFilter=@system-service",
        "CapabilityBoundingSet=\n",
        "MemoryMax=",
        "SupplementaryGroups=bluetooth",
    ):
        assert line in text, line
    vision = (UNITS / CAMERA_DROPIN).read_text()
    assert "DeviceAllow=/dev/video0 rw" in vision
    assert "DevicePolicy=closed" in vision
