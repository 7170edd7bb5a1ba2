"""1:1 matching: one frame's faces against exactly one shopper's template.

A :class:`Template` is the roster's ``face`` entry, normalised once. :class:`Verifier` runs
detect → (region of interest) → align → embed → cosine for each face in a frame and keeps nothing
but a yes/no and the best score: the frame, crop and embedding buffers are zeroed before it returns.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edge import constants as c
from edge.errors import VisionError, VisionFailureReason
from edge.vision.align import ALIGNED_SIZE_PX, align
from edge.vision.detect import Detector, Face, Frame
from edge.vision.embed import EMBEDDING_SIZE, Embedder
from edge.vision.models import RECOGNIZER_MODEL_ID

Roi = tuple[float, float, float, float]
"""A region of interest as fractions of the frame: x, y, width, height (0..1)."""

FULL_FRAME: Roi = (0.0, 0.0, 1.0, 1.0)


@dataclass(frozen=True, slots=True)
class Template:
    """One shopper's enrolled face: a unit-length SFace embedding."""

    vector: npt.NDArray[np.float32]

    @classmethod
    def from_bytes(cls, raw: bytes, model: str | None = RECOGNIZER_MODEL_ID) -> Template:
        """From the roster's decoded ``face.embedding`` (128 float32, little-endian)."""
        if model != RECOGNIZER_MODEL_ID:
            raise VisionError(
                f"the template is for model {model!r}, this gateway compares {RECOGNIZER_MODEL_ID!r}: re-enrol",
                reason=VisionFailureReason.WORKER,
            )
        if len(raw) != EMBEDDING_SIZE * 4:
            raise VisionError(f"a template is {EMBEDDING_SIZE} float32 values", reason=VisionFailureReason.WORKER)
        vector = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        norm = float(np.linalg.norm(vector))
        if not np.isfinite(norm) or norm == 0.0:
            raise VisionError("the template is all zeros or not finite: re-enrol", reason=VisionFailureReason.WORKER)
        return cls(vector / norm)

    def to_bytes(self) -> bytes:
        return self.vector.astype("<f4").tobytes()

    def roster_entry(self) -> dict[str, str]:
        """The roster's ``face`` object (docs/mqtt.md)."""
        return {"model": RECOGNIZER_MODEL_ID, "embedding": base64.b64encode(self.to_bytes()).decode("ascii")}


def cosine(template: Template, raw: npt.NDArray[np.float32]) -> float:
    """Cosine similarity between a template and a raw (not normalised) embedding."""
    norm = float(np.linalg.norm(raw))
    if norm == 0.0:
        return -1.0
    return float(np.dot(template.vector, raw.reshape(-1)) / norm)


def in_roi(face: Face, roi: Roi, width: int, height: int) -> bool:
    """The face's centre lies inside the region of interest."""
    cx, cy = face.centre
    x, y, w, h = roi
    return x * width <= cx <= (x + w) * width and y * height <= cy <= (y + h) * height


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a frame gave: whether the template matched, how many faces were compared, the best score."""

    matched: bool
    faces: int
    best: float


class Verifier:
    """Compares the faces of a frame, one by one, with one template."""

    def __init__(
        self,
        detector: Detector,
        embedder: Embedder,
        *,
        threshold: float = c.FACE_MATCH_COSINE_MIN,
        min_face_px: float = c.FACE_MIN_SIZE_PX,
    ) -> None:
        self.detector = detector
        self.embedder = embedder
        self.threshold = threshold
        self.min_face_px = min_face_px
        self.crop = np.zeros((ALIGNED_SIZE_PX, ALIGNED_SIZE_PX, 3), dtype=np.uint8)

    def check(self, frame: Frame, template: Template, roi: Roi = FULL_FRAME) -> Outcome:
        """Compare every face in ``roi`` with ``template``; stops at the first match.

        The crop and the embedding buffers are wiped before this returns; the caller owns (and
        wipes) ``frame``.
        """
        height, width = frame.shape[:2]
        best = -1.0
        compared = 0
        try:
            for face in self.detector.detect(frame):
                if min(face.w, face.h) < self.min_face_px or not in_roi(face, roi, width, height):
                    continue
                align(frame, face.landmark_array(), self.crop)
                score = cosine(template, self.embedder.run(self.crop))
                self.embedder.wipe()
                self.crop.fill(0)
                compared += 1
                best = max(best, score)
                if score >= self.threshold:
                    return Outcome(True, compared, best)
            return Outcome(False, compared, best)
        finally:
            self.embedder.wipe()
            self.crop.fill(0)
            self.detector.wipe()
