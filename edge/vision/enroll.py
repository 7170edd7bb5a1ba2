"""``edge vision enroll IMAGE``: the roster ``face`` entry for the one face in a photo.

The CDP side runs this at opt-in. The photo is read into memory, the entry printed; nothing is
written. A photo with no face, or with more than one, is refused: a template must be one person.
"""

from __future__ import annotations

from pathlib import Path

from edge.errors import VisionError, VisionFailureReason
from edge.vision.align import align
from edge.vision.camera import read_image
from edge.vision.detect import Detector, Frame
from edge.vision.embed import Embedder
from edge.vision.match import Template
from edge.vision.models import Models, load_models


def template_of(frame: Frame, models: Models, *, where: str = "the image") -> Template:
    """The template of the only face in ``frame``; VisionError (NO_FACE / MANY_FACES) otherwise."""
    detector = Detector(models.detector)
    faces = detector.detect(frame)
    if not faces:
        raise VisionError(
            f"no face found in {where}: use a well-lit frontal photo with the face at least 80 px wide",
            reason=VisionFailureReason.NO_FACE,
        )
    if len(faces) > 1:
        raise VisionError(
            f"{len(faces)} faces found in {where}: a template must show exactly one person; crop the photo",
            reason=VisionFailureReason.MANY_FACES,
        )
    embedder = Embedder(models.recognizer)
    crop = align(frame, faces[0].landmark_array())
    try:
        return Template(embedder.embed(crop))
    finally:
        crop.fill(0)


def enroll(path: Path, models: Models | None = None) -> dict[str, str]:
    """The roster ``face`` object for the one face in the image at ``path``."""
    frame = read_image(path)
    try:
        return template_of(frame, models or load_models(), where=str(path)).roster_entry()
    finally:
        frame.fill(0)
