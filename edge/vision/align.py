"""Five-point alignment: warp a face onto SFace's 112×112 template (OpenCV's ``alignCrop``).

A similarity transform (rotation, uniform scale, translation) is fitted by least squares
(Umeyama 1991) from the detector's five landmarks to the reference points ArcFace and SFace were
trained with, and the frame is warped into a caller-owned 112×112 buffer, which the caller wipes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ALIGNED_SIZE_PX = 112
"""SFace's input side."""

REFERENCE_POINTS = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
"""Eyes, nose tip and mouth corners on the 112×112 crop (OpenCV's FaceRecognizerSF values)."""


def similarity_transform(src: npt.NDArray[np.floating], dst: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """The 2×3 similarity transform mapping ``src`` points onto ``dst`` in the least-squares sense."""
    src64 = np.asarray(src, dtype=np.float64)
    dst64 = np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src64.mean(axis=0), dst64.mean(axis=0)
    src_c, dst_c = src64 - src_mean, dst64 - dst_mean
    cov = dst_c.T @ src_c / len(src64)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(cov) < 0:
        d[1] = -1.0
    rotation = u @ np.diag(d) @ vt
    var_src = (src_c**2).sum() / len(src64)
    scale = float((s * d).sum() / var_src) if var_src > 0 else 1.0
    matrix = np.empty((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def align(
    frame: npt.NDArray[np.uint8], landmarks: npt.NDArray[np.float32], out: npt.NDArray[np.uint8] | None = None
) -> npt.NDArray[np.uint8]:
    """The face warped to 112×112 (BGR), into ``out`` when given."""
    import cv2

    matrix = similarity_transform(landmarks, REFERENCE_POINTS)
    if out is None:
        out = np.zeros((ALIGNED_SIZE_PX, ALIGNED_SIZE_PX, 3), dtype=np.uint8)
    cv2.warpAffine(frame, matrix, (ALIGNED_SIZE_PX, ALIGNED_SIZE_PX), dst=out, flags=cv2.INTER_LINEAR)
    return out
