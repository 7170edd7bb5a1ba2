"""Camera sources: one facade, two backends (OpenCV capture | a folder of images).

``open_camera(spec)`` picks the backend in one place: a folder → :class:`FolderSource` (tests,
demos), anything else → :class:`OpenCVSource` (a device index or path, a video file, an RTSP URL).
Frames live in memory only, in one buffer per source that :meth:`close` zeroes; nothing is
written anywhere.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

import numpy as np

from edge.errors import VisionError, VisionFailureReason
from edge.vision.detect import Frame

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".webp"})


class FrameSource(Protocol):
    def read(self) -> Frame | None:
        """The next BGR frame (valid until the next read), or None when the source has ended."""
        ...

    def close(self) -> None: ...


class _Closing:
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        raise NotImplementedError


class OpenCVSource(_Closing):
    """A V4L2 device (``/dev/video0`` or ``0``), a video file or an RTSP URL, through OpenCV."""

    def __init__(self, spec: str) -> None:
        import cv2

        self._capture = cv2.VideoCapture(int(spec) if spec.isdigit() else spec)
        if not self._capture.isOpened():
            self._capture.release()
            raise VisionError(
                f"cannot open the camera {spec!r}: check vision.source, the device's permissions (video group) "
                "or the stream URL",
                reason=VisionFailureReason.NO_CAMERA,
            )
        self._frame: Frame | None = None

    def read(self) -> Frame | None:
        ok, frame = self._capture.read(self._frame)
        if not ok or frame is None:
            return None
        self._frame = np.asarray(frame, dtype=np.uint8)
        return self._frame

    def close(self) -> None:
        self._capture.release()
        if self._frame is not None:
            self._frame.fill(0)
            self._frame = None


class FolderSource(_Closing):
    """The images of a folder in name order, each decoded into memory when read; ``loop`` repeats them."""

    def __init__(self, folder: Path, *, loop: bool = True) -> None:
        self._paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._paths:
            raise VisionError(f"no images in {folder}", reason=VisionFailureReason.NO_CAMERA)
        self._loop = loop
        self._next = 0
        self._frame: Frame | None = None

    def read(self) -> Frame | None:
        if self._next >= len(self._paths):
            if not self._loop:
                return None
            self._next = 0
        path = self._paths[self._next]
        self._next += 1
        if self._frame is not None:
            self._frame.fill(0)
        self._frame = read_image(path)
        return self._frame

    def close(self) -> None:
        if self._frame is not None:
            self._frame.fill(0)
            self._frame = None


def read_image(path: Path) -> Frame:
    """One image file as a BGR frame (grey and alpha images converted)."""
    import cv2

    data = np.fromfile(path, dtype=np.uint8) if path.is_file() else np.zeros(0, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise VisionError(f"cannot read an image from {path}", reason=VisionFailureReason.UNREADABLE_IMAGE)
    return np.ascontiguousarray(image, dtype=np.uint8)


def open_camera(spec: str) -> OpenCVSource | FolderSource:
    """The backend for ``vision.source``."""
    path = Path(spec)
    if path.is_dir():
        return FolderSource(path)
    return OpenCVSource(spec)
