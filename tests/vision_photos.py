"""Real face photos that installed packages ship, and the frames the vision tests build from them.

- scikit-image: ``astronaut`` (Eileen Collins, NASA, public domain); ``coffee`` (no face).
- insightface 2.1 (installed with --no-deps, for its test images only): ``Tom_Hanks_54745.png``
  (one face) and ``t1.jpg`` (six faces: each cropped into an identity of its own).

Everything is built in memory; nothing is written.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

Frame = npt.NDArray[np.uint8]


def package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    assert spec is not None, f"{name} is not installed (make test installs it)"
    assert spec.submodule_search_locations
    return Path(next(iter(spec.submodule_search_locations)))


def skimage_photo(name: str) -> Path:
    return package_dir("skimage") / "data" / f"{name}.png"


def insightface_photo(name: str) -> Path:
    return package_dir("insightface") / "data" / "images" / name


def read(path: Path) -> Frame:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    return np.ascontiguousarray(image)


def crop(image: Frame, box: tuple[float, float, float, float], margin: float) -> Frame:
    """The box grown by ``margin`` times its size on each side, clipped to the image."""
    x, y, w, h = box
    x0, y0 = int(max(0, x - margin * w)), int(max(0, y - margin * h))
    x1, y1 = int(min(image.shape[1], x + (1 + margin) * w)), int(min(image.shape[0], y + (1 + margin) * h))
    return np.ascontiguousarray(image[y0:y1, x0:x1])


def place(face_image: Frame, *, face_px: int, at: tuple[int, int], size: tuple[int, int] = (640, 480)) -> Frame:
    """A grey 640×480 frame with ``face_image`` scaled to ``face_px`` wide and its centre at ``at``."""
    width, height = size
    frame = np.full((height, width, 3), 96, dtype=np.uint8)
    scale = face_px / face_image.shape[1]
    scaled = cv2.resize(
        face_image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    )
    sh, sw = scaled.shape[:2]
    x0, y0 = at[0] - sw // 2, at[1] - sh // 2
    fx0, fy0 = max(0, x0), max(0, y0)
    fx1, fy1 = min(width, x0 + sw), min(height, y0 + sh)
    frame[fy0:fy1, fx0:fx1] = scaled[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
    return frame


def variants(face_image: Frame) -> dict[str, Frame]:
    """The same photo as a camera might see it: shifted, mirrored, darker, brighter, smaller, rotated, noisy, JPEG."""
    side = 260
    out = {
        "centre": place(face_image, face_px=side, at=(320, 240)),
        "shift-left-up": place(face_image, face_px=side, at=(170, 150)),
        "shift-right-down": place(face_image, face_px=side, at=(480, 330)),
        "flip": place(cv2.flip(face_image, 1), face_px=side, at=(320, 240)),
        "dark": place(cv2.convertScaleAbs(face_image, alpha=0.55, beta=0), face_px=side, at=(320, 240)),
        "bright": place(cv2.convertScaleAbs(face_image, alpha=1.2, beta=20), face_px=side, at=(320, 240)),
        "small": place(face_image, face_px=150, at=(300, 220)),
    }
    centre = out["centre"]
    rotation = cv2.getRotationMatrix2D((320, 240), 8, 1.0)
    out["rotate-8"] = cv2.warpAffine(centre, rotation, (640, 480), borderValue=(96, 96, 96))
    noise = np.random.default_rng(7).normal(0, 8, centre.shape)
    out["noise"] = np.clip(centre.astype(np.float64) + noise, 0, 255).astype(np.uint8)
    ok, jpeg = cv2.imencode(".jpg", centre, [cv2.IMWRITE_JPEG_QUALITY, 35])
    assert ok
    out["jpeg-35"] = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    return out
