"""The camera process: models loaded once, the camera opened only for a session the gate allowed.

It talks to the gateway over one pipe (tuples, below) and keeps nothing: a frame lives in the
source's buffer until the next read, crops and embeddings in the verifier's buffers until the
comparison is made; all are zeroed. It logs nothing about faces and writes no file. If the
gateway goes away (the pipe closes) it closes the camera and exits; the window is bounded here
too, whatever the gateway does.

Gateway → worker: ``("verify", session_id, template_bytes, model, window_s, roi)``,
``("cancel", session_id)``, ``("stop",)``.
Worker → gateway: ``("ready",)``, ``("failed", message)``, ``("opened", session_id)``,
``("verified", session_id)``, ``("ended", session_id, reason, message)``,
``("closed", session_id)``, ``("motion", region, shelf, sku, action, fraction)``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from edge import constants as c
from edge.errors import VisionError
from edge.vision.camera import open_camera
from edge.vision.match import FULL_FRAME, Roi, Template, Verifier
from edge.vision.regions import Region, RegionWatcher


@dataclass(frozen=True, slots=True)
class WorkerSpec:
    """What the camera process needs from the config (picklable)."""

    source: str
    fps: float = c.VISION_FPS
    threshold: float = c.FACE_MATCH_COSINE_MIN
    min_face_px: float = c.FACE_MIN_SIZE_PX
    shelf_source: str | None = None
    regions: tuple[Region, ...] = ()


class _StopRequestedError(Exception):
    """The gateway asked the worker to exit."""


class _Shelf:
    """The shelf camera and its region watcher (open for the worker's life: no faces are processed)."""

    def __init__(self, spec: WorkerSpec) -> None:
        assert spec.shelf_source is not None
        self._camera = open_camera(spec.shelf_source)
        self._watcher = RegionWatcher(spec.regions)
        self.interval_s = 1.0 / spec.fps
        self._due = 0.0

    def step(self, conn: Connection) -> None:
        now = time.monotonic()
        if now < self._due:
            return
        self._due = now + self.interval_s
        frame = self._camera.read()
        if frame is None:
            return
        for motion in self._watcher.observe(frame, now):
            conn.send(("motion", motion.region, motion.shelf, motion.sku, motion.action, round(motion.fraction, 3)))

    def close(self) -> None:
        self._watcher.reset()
        self._camera.close()


def _session(
    conn: Connection, verifier: Verifier, spec: WorkerSpec, message: tuple[Any, ...], shelf: _Shelf | None
) -> None:
    _, session_id, raw, model, window_s, roi = message
    roi_t: Roi = tuple(roi) if roi else FULL_FRAME
    deadline = time.monotonic() + min(float(window_s), c.VISION_WINDOW_MAX_S)
    try:
        template = Template.from_bytes(raw, model)
        camera = open_camera(spec.source)
    except VisionError as err:
        conn.send(("ended", session_id, "failed", str(err)))
        return
    interval_s = 1.0 / spec.fps
    conn.send(("opened", session_id))
    try:
        with camera:
            while (now := time.monotonic()) < deadline:
                frame = camera.read()
                if frame is None:
                    conn.send(("ended", session_id, "failed", "the camera gave no frame"))
                    return
                outcome = verifier.check(frame, template, roi_t)
                frame.fill(0)
                if outcome.matched:
                    conn.send(("verified", session_id))
                    return
                if shelf is not None:
                    shelf.step(conn)
                wait = max(0.0, min(now + interval_s, deadline) - time.monotonic())
                if conn.poll(wait):
                    command = conn.recv()
                    if command[0] == "stop":
                        conn.send(("ended", session_id, "cancelled", "the gateway is stopping"))
                        raise _StopRequestedError
                    if command[0] == "cancel" and command[1] == session_id:
                        conn.send(("ended", session_id, "cancelled", ""))
                        return
            conn.send(("ended", session_id, "timeout", ""))
    finally:
        template.vector.fill(0.0)
        conn.send(("closed", session_id))


def worker_main(conn: Connection, spec: WorkerSpec) -> None:
    """The camera process's entry point (multiprocessing, spawn)."""
    from edge.vision.detect import Detector
    from edge.vision.embed import Embedder
    from edge.vision.models import load_models

    try:
        models = load_models(threads=1)
        shelf = _Shelf(spec) if spec.regions and spec.shelf_source else None
    except VisionError as err:
        conn.send(("failed", str(err)))
        return
    verifier = Verifier(
        Detector(models.detector), Embedder(models.recognizer), threshold=spec.threshold, min_face_px=spec.min_face_px
    )
    conn.send(("ready",))
    try:
        while True:
            if conn.poll(shelf.interval_s if shelf is not None else None):
                command = conn.recv()
                if command[0] == "stop":
                    return
                if command[0] == "verify":
                    _session(conn, verifier, spec, command, shelf)
            if shelf is not None:
                shelf.step(conn)
    except (_StopRequestedError, EOFError, BrokenPipeError, KeyboardInterrupt):
        return
    finally:
        if shelf is not None:
            shelf.close()
        conn.close()
