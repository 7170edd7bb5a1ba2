"""The check-in flow end to end: core + outbox + pipeline + VisionService + the real camera process.

Frames come from image folders (FolderSource) built from real photos; the camera process loads
the real models. A filesystem watch proves no frame, crop or embedding is written anywhere.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge import events as ev
from edge.app import build_core, build_ports
from edge.clock import ManualClock
from edge.config import Config, load
from edge.events import Event
from edge.inputs import Downlink
from edge.outbox import Outbox
from edge.pipeline import Pipeline
from edge.roster import parse_roster
from edge.vision.enroll import enroll
from edge.vision.service import VisionService, checkin_topic
from tests.helpers import CARD_UUID, START, card_advert, roster_dict
from tests.vision_photos import insightface_photo, read, skimage_photo, variants

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent


def _config(tmp_path: Path, source: Path, *, window_s: float = 10.0, shelf_source: Path | None = None) -> Config:
    text = f"""
[gateway]
store = "store-1"
gateway = "gw-1"
[[zones]]
id = "baby"
scanners = ["gw-1"]
[[screens]]
id = "screen-1"
zone = "baby"
[[shelves]]
id = "shelf-a3"
zone = "baby"
[vision]
enabled = true
source = "{source}"
screen = "screen-1"
window_s = {window_s}
fps = 20
"""
    if shelf_source is not None:
        text += f"""shelf_source = "{shelf_source}"
[[vision.regions]]
id = "a3-left"
shelf = "shelf-a3"
sku = "4006381333931"
rect = [0.0, 0.5, 0.5, 0.5]
"""
    path = tmp_path / "edge.toml"
    path.write_text(text)
    return load(path)


def _frames(folder: Path, photo: Path) -> Path:
    folder.mkdir()
    for index, frame in enumerate(variants(read(photo)).values()):
        cv2.imwrite(str(folder / f"{index:03d}.png"), frame)
    return folder


def _roster_payload() -> bytes:
    shoppers = [
        {
            "token": "s-cam",
            "scopes": ["presence", "shelf", "camera"],
            "ids": [{"type": "ibeacon", "uuid": str(CARD_UUID), "major": 1, "minor": 2}],
            "face": enroll(skimage_photo("astronaut")),
        },
        {
            "token": "s-plain",
            "scopes": ["presence"],
            "ids": [{"type": "ibeacon", "uuid": str(CARD_UUID), "major": 1, "minor": 3}],
        },
    ]
    return json.dumps(roster_dict(shoppers=shoppers)).encode()


async def _until(vision: VisionService, condition: Callable[[], bool], timeout_s: float = 40.0) -> None:
    """Wait until ``condition`` holds, re-checking on each message from the camera process."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            vision.changed.clear()
            await vision.changed.wait()


def _snapshot(root: Path, skip: tuple[str, ...] = ()) -> dict[str, tuple[int, int]]:
    found: dict[str, tuple[int, int]] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in skip]
        for name in files:
            path = Path(folder) / name
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            found[str(path)] = (stat.st_size, stat.st_mtime_ns)
    return found


def _fresh_dirs(tmp_path: Path) -> tuple[Path, Path, Path]:
    home, tmp, cwd = (tmp_path / name for name in ("home", "tmp", "cwd"))
    for folder in (home, tmp, cwd):
        folder.mkdir()
    return home, tmp, cwd


BLOB_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".npy", ".npz", ".bin", ".raw", ".onnx", ".db", ".sqlite")


def _blobs(root: Path) -> dict[str, tuple[int, int]]:
    """Image, array, model and database files under ``root`` (other engineers edit sources meanwhile)."""
    return {path: stat for path, stat in _snapshot(root, REPO_SKIP).items() if path.endswith(BLOB_SUFFIXES)}


def _watch(frames: Path) -> dict[str, dict[str, tuple[int, int]]]:
    shm = Path("/dev/shm")
    return {
        "frames": _snapshot(frames),
        "repo": _blobs(REPO),
        "shm": _snapshot(shm) if shm.is_dir() else {},
    }


def _assert_nothing_written(tmp_path: Path, frames: Path, watched: dict[str, dict[str, tuple[int, int]]]) -> None:
    """Nothing appeared in the camera process's home, temp dir or working directory; the frames and the
    repository are untouched; no shared memory was left behind; the state dir holds only the outbox."""
    for name in ("home", "tmp", "cwd"):
        assert list((tmp_path / name).rglob("*")) == [], name
    assert _snapshot(frames) == watched["frames"]
    assert _blobs(REPO) == watched["repo"]
    shm = Path("/dev/shm")
    assert (_snapshot(shm) if shm.is_dir() else {}) == watched["shm"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "edge.toml", "frames", "home", "state", "tmp"]
    assert all(p.name.startswith("outbox") for p in (tmp_path / "state").iterdir())


REPO_SKIP = (".git", ".venv", ".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache", "__pycache__")


async def _run(
    config: Config, state: Path, steps: Callable[[VisionService, Callable[[str], None]], object]
) -> list[Event]:
    core = build_core(config)
    core.set_roster(parse_roster(_roster_payload()), START)
    for i in range(4):
        core.on_advert(card_advert(START + i * 0.5))
        core.on_advert(card_advert(START + i * 0.5, minor=3))
    assert core.engine.zone_of("s-cam") == "baby"
    clock = ManualClock(START + 3)
    published: list[Event] = []
    async with Outbox(state, core.factory.source) as outbox:
        pipeline = Pipeline(core, outbox, [published.append])
        async with VisionService(build_ports(config, core, pipeline, clock, state)) as vision:

            def checkin(token: str) -> None:
                payload = json.dumps({"token": token, "screen": "screen-1"}).encode()
                assert core.on_downlink(Downlink(clock.now(), checkin_topic("store-1"), payload)) == []

            result = steps(vision, checkin)
            if asyncio.iscoroutine(result):
                await result
    return published


async def test_a_checked_in_shopper_is_verified_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    frames = _frames(tmp_path / "frames", skimage_photo("astronaut"))
    config = _config(tmp_path, frames)
    state = tmp_path / "state"
    home, tmp, cwd = _fresh_dirs(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.chdir(cwd)  # the camera process (spawned) inherits these
    watched = _watch(frames)

    async def steps(vision: VisionService, checkin: Callable[[str], None]) -> None:
        checkin("s-plain")  # present, but no camera scope
        checkin("s-nobody")
        await asyncio.sleep(0.5)
        assert vision.counters["refused_no-camera-scope"] == 1
        assert vision.counters["refused_unknown-shopper"] == 1
        assert vision.counters["camera_opened"] == 0  # not even opened
        checkin("s-cam")
        await _until(vision, lambda: vision.counters["camera_closed"] == 1)
        assert vision.counters["verified"] == 1
        assert vision.counters["camera_opened"] == 1
        assert vision.gate.active is None

    published = await _run(config, state, steps)
    verified = [e for e in published if e.type == ev.IDENTITY_VERIFIED]
    assert len(verified) == 1
    assert verified[0].data == {"token": "s-cam", "screen": "screen-1"}
    assert verified[0].subject == "screen-1"
    _assert_nothing_written(tmp_path, frames, watched)
    # ... and nothing about a face reached a log.
    template = json.loads(_roster_payload())["shoppers"][0]["face"]["embedding"]
    captured = capfd.readouterr()
    for text in (captured.out, captured.err, caplog.text):
        assert template[:16] not in text
        assert "s-cam" not in text


async def test_a_stranger_in_front_of_the_camera_is_never_verified(tmp_path: Path) -> None:
    frames = _frames(tmp_path / "frames", insightface_photo("Tom_Hanks_54745.png"))
    config = _config(tmp_path, frames, window_s=2.0)

    async def steps(vision: VisionService, checkin: Callable[[str], None]) -> None:
        checkin("s-cam")
        await _until(vision, lambda: vision.counters["camera_closed"] == 1)
        assert vision.counters["ended_timeout"] == 1
        assert vision.counters["verified"] == 0

    published = await _run(config, tmp_path / "state", steps)
    assert [e for e in published if e.type == ev.IDENTITY_VERIFIED] == []


async def test_motion_in_a_shelf_region_is_a_shelf_interaction(tmp_path: Path) -> None:
    frames = _frames(tmp_path / "frames", skimage_photo("astronaut"))
    shelf = tmp_path / "shelf"
    shelf.mkdir()
    still = np.full((480, 640, 3), 120, dtype=np.uint8)
    reach = still.copy()
    cv2.rectangle(reach, (60, 300), (260, 460), (30, 35, 40), thickness=-1)  # a dark sleeve in the left region
    for index in range(6):
        cv2.imwrite(str(shelf / f"{index:03d}.png"), reach if index == 3 else still)
    config = _config(tmp_path, frames, shelf_source=shelf)

    async def steps(vision: VisionService, checkin: Callable[[str], None]) -> None:
        await _until(vision, lambda: vision.counters["shelf_motion"] >= 1)

    published = await _run(config, tmp_path / "state", steps)
    touches = [e for e in published if e.type == ev.SHELF_INTERACTION]
    assert touches
    assert touches[0].data["shelf"] == "shelf-a3"
    assert touches[0].data["sku"] == "4006381333931"
    assert touches[0].data["action"] == "touch"
