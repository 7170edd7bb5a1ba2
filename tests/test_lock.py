"""The lock files of requirements/ agree with pyproject.toml (`make lock` rewrites them).

Each install of the Makefile reads one lock: ``runtime.txt`` (make demo: the base dependencies),
``bench.txt`` (make bench: + the bench extra), ``test.txt`` (make test: + the dev extra) and
``test-photos.txt`` (installed with --no-deps). Every requirement of pyproject that an install
needs must be pinned in its lock inside pyproject's range, and every pin must carry a hash so
that ``pip install --require-hashes`` accepts the file. Reads files only: no network.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCKS = ROOT / "requirements"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

# Lock file -> the extras of pyproject it installs on top of the base dependencies.
EXTRAS_OF_LOCK = {"runtime.txt": (), "bench.txt": ("bench",), "test.txt": ("dev",)}


@dataclass(frozen=True)
class Pin:
    name: NormalizedName
    version: str
    marker: str
    hashes: tuple[str, ...]
    where: str


def read_lock(path: Path) -> list[Pin]:
    """The pins of a pip requirements file as uv writes it (continuation lines, comments, hashes)."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    pins = []
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        spec, *options = line.split(" --")
        hashes = tuple(o.removeprefix("hash=") for o in options if o.startswith("hash="))
        requirement = Requirement(spec)
        where = f"requirements/{path.name} ({requirement.name})"
        versions = [s.version for s in requirement.specifier if s.operator == "=="]
        assert len(versions) == 1, f"{where} is not pinned with ==: {spec}"
        marker = str(requirement.marker) if requirement.marker else ""
        pins.append(Pin(canonicalize_name(requirement.name), versions[0], marker, hashes, where))
    return pins


def needed(extras: tuple[str, ...]) -> list[Requirement]:
    """pyproject's base requirements plus those of ``extras``, self-references expanded."""
    own = canonicalize_name(PROJECT["name"])
    out = [Requirement(r) for r in PROJECT["dependencies"]]
    todo, seen = list(extras), set()
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in PROJECT["optional-dependencies"][extra]:
            requirement = Requirement(text)
            if canonicalize_name(requirement.name) == own:
                todo.extend(requirement.extras)
            else:
                out.append(requirement)
    return out


@pytest.mark.parametrize("lock", sorted(EXTRAS_OF_LOCK))
def test_every_requirement_of_pyproject_is_pinned_inside_its_range(lock: str) -> None:
    pins = read_lock(LOCKS / lock)
    for requirement in needed(EXTRAS_OF_LOCK[lock]):
        name = canonicalize_name(requirement.name)
        matching = [p for p in pins if p.name == name]
        assert matching, f"{requirement} (pyproject.toml) is missing from requirements/{lock}: run make lock"
        for pin in matching:
            assert requirement.specifier.contains(pin.version, prereleases=True), (
                f"{pin.where} pins {pin.version}, outside pyproject's {requirement}: run make lock"
            )


@pytest.mark.parametrize("lock", sorted(p.name for p in LOCKS.glob("*.txt")))
def test_every_pin_has_a_hash(lock: str) -> None:
    pins = read_lock(LOCKS / lock)
    assert pins, f"requirements/{lock} pins nothing"
    for pin in pins:
        assert pin.hashes, f"{pin.where} has no --hash: pip install --require-hashes would refuse it"
        assert all(h.startswith("sha256:") for h in pin.hashes), f"{pin.where}: a hash that is not sha256"


def test_one_version_of_a_package_in_every_lock() -> None:
    # Markers may differ (a package the test tools need everywhere is Linux-only at runtime).
    test: dict[str, set[str]] = {}
    for pin in read_lock(LOCKS / "test.txt"):
        test.setdefault(pin.name, set()).add(pin.version)
    for lock in ("runtime.txt", "bench.txt"):
        for pin in read_lock(LOCKS / lock):
            assert pin.version in test.get(pin.name, set()), (
                f"{pin.where} pins {pin.version}, test.txt {sorted(test.get(pin.name, set()))}: run make lock"
            )


def test_the_test_photos_come_without_opencv_python() -> None:
    # insightface (test photos) is installed with --no-deps: its opencv-python would replace the
    # headless OpenCV build that the vision extra pins.
    names = {p.name for p in read_lock(LOCKS / "test.txt")}
    assert "opencv-python" not in names
    assert "opencv-python-headless" in names
    assert [p.name for p in read_lock(LOCKS / "test-photos.txt")] == ["insightface"]
