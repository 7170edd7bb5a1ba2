"""Camera pipeline latency: detect + align + embed for a 640×480 frame with one face, on one thread;
beside it, in the same run and on the same sessions, the bare onnxruntime ``run`` calls alone
(YuNet on the prepared 640×480 blob + SFace on the prepared 112×112 blob): the floor.

Goals: ≤ 40 ms per frame and ≤ 1.1× the bare ``run`` calls.

    python benchmarks/vision.py [--frames N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cv2
import numpy as np

from benchmarks.common import machine, pin_to_one_core, report
from edge.vision.align import align
from edge.vision.detect import Detector
from edge.vision.embed import Embedder
from edge.vision.models import load_models

GOAL_MS = 40.0
GOAL_RATIO = 1.1


def frame_with_one_face() -> np.ndarray:
    """scikit-image's astronaut, cropped to 4:3 and scaled to 640×480 (the face about 110 px wide)."""
    from skimage import data

    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[:384]
    return np.ascontiguousarray(cv2.resize(image, (640, 480), interpolation=cv2.INTER_LINEAR))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    pinned = pin_to_one_core()
    models = load_models(threads=1)
    detector, embedder = Detector(models.detector), Embedder(models.recognizer)
    frame = frame_with_one_face()
    faces = detector.detect(frame)
    assert len(faces) == 1, "the benchmark frame must show exactly one face"
    crop = align(frame, faces[0].landmark_array())
    det_in = models.detector.get_inputs()[0].name
    rec_in = models.recognizer.get_inputs()[0].name
    det_blob = frame.transpose(2, 0, 1)[np.newaxis].astype(np.float32)
    rec_blob = crop[:, :, ::-1].transpose(2, 0, 1)[np.newaxis].astype(np.float32).copy()

    def ours() -> None:
        found = detector.detect(frame)
        align(frame, found[0].landmark_array(), crop)
        embedder.run(crop)
        embedder.wipe()

    def bare() -> None:
        models.detector.run(None, {det_in: det_blob})
        models.recognizer.run(None, {rec_in: rec_blob})

    for fn in (ours, bare):  # warm up: first runs allocate arenas
        for _ in range(5):
            fn()
    ours_ms: list[float] = []
    bare_ms: list[float] = []
    for _ in range(args.frames):  # interleaved, so both see the same machine state
        for fn, out in ((ours, ours_ms), (bare, bare_ms)):
            started = time.perf_counter()
            fn()
            out.append((time.perf_counter() - started) * 1000)
    ours_med, bare_med = statistics.median(ours_ms), statistics.median(bare_ms)
    ratio = ours_med / bare_med
    print(f"vision pipeline, one thread ({pinned}), {args.frames} frames 640x480, one face; {machine()}")
    print(f"{'':32} {'median ms':>10} {'p90 ms':>8}")
    for name, values in (("detect + align + embed", ours_ms), ("bare onnxruntime run x2", bare_ms)):
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:32} {statistics.median(values):10.1f} {p90:8.1f}")
    print(f"ratio {ratio:.3f} (goal <= {GOAL_RATIO}); goal {GOAL_MS:g} ms")
    report(
        "vision",
        {
            "frames": args.frames,
            "pipeline_ms_median": round(ours_med, 2),
            "bare_run_ms_median": round(bare_med, 2),
            "ratio_to_bare_run": round(ratio, 3),
            "goal_ms": GOAL_MS,
            "goal_ratio": GOAL_RATIO,
        },
    )


if __name__ == "__main__":
    main()
