"""YuNet face detection on onnxruntime, with OpenCV's ``FaceDetectorYN`` post-processing.

A BGR frame (uint8, H×W×3) is zero-padded at the right and bottom to a multiple of 32 and fed
as float32 NCHW (no scaling). Each of the three strides (8, 16, 32) gives per-cell class and
objectness scores (score = sqrt(cls × obj)), a box (centre offset, log size) and five landmarks;
boxes above the score threshold go through non-maximum suppression.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from edge import constants as c

if TYPE_CHECKING:
    import onnxruntime

Frame = npt.NDArray[np.uint8]
"""A BGR image, H×W×3, as OpenCV gives it."""

STRIDES = (8, 16, 32)
PAD_MULTIPLE = 32


@dataclass(frozen=True, slots=True)
class Face:
    """One detected face in frame pixels: box (x, y, w, h), five landmarks, and the score (0..1).

    Landmarks, in order: right eye, left eye (of the person: image left then image right), nose
    tip, right and left mouth corners.
    """

    x: float
    y: float
    w: float
    h: float
    landmarks: tuple[tuple[float, float], ...]
    score: float

    @property
    def centre(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h / 2

    def landmark_array(self) -> npt.NDArray[np.float32]:
        return np.asarray(self.landmarks, dtype=np.float32)


class Detector:
    """YuNet on one onnxruntime session; ``detect`` is not thread-safe (one buffer per detector)."""

    def __init__(
        self,
        session: onnxruntime.InferenceSession,
        *,
        score_threshold: float = c.FACE_DETECT_SCORE_MIN,
        nms_threshold: float = c.FACE_DETECT_NMS_IOU,
    ) -> None:
        self._session = session
        self._input = session.get_inputs()[0].name
        self._outputs = [o.name for o in session.get_outputs()]
        self.score_threshold = score_threshold
        self.nms_threshold = nms_threshold
        self._blob: npt.NDArray[np.float32] | None = None

    def _prepare(self, frame: Frame) -> npt.NDArray[np.float32]:
        height, width = frame.shape[:2]
        pad_h = -(-height // PAD_MULTIPLE) * PAD_MULTIPLE
        pad_w = -(-width // PAD_MULTIPLE) * PAD_MULTIPLE
        blob = self._blob
        if blob is None or blob.shape != (1, 3, pad_h, pad_w):
            blob = self._blob = np.zeros((1, 3, pad_h, pad_w), dtype=np.float32)
        blob[0, :, :height, :width] = frame.transpose(2, 0, 1)
        return blob

    def wipe(self) -> None:
        """Zero the input buffer: no pixel of the last frame stays in memory."""
        if self._blob is not None:
            self._blob.fill(0.0)

    def detect(self, frame: Frame) -> list[Face]:
        """Faces in ``frame``, best first."""
        blob = self._prepare(frame)
        outputs = self._session.run(self._outputs, {self._input: blob})
        faces = self._decode(outputs, blob.shape[2], blob.shape[3])
        self.wipe()
        return faces

    def _decode(self, outputs: list[npt.NDArray[np.float32]], pad_h: int, pad_w: int) -> list[Face]:
        n = len(STRIDES)
        boxes: list[npt.NDArray[np.float32]] = []
        points: list[npt.NDArray[np.float32]] = []
        scores: list[npt.NDArray[np.float32]] = []
        for i, stride in enumerate(STRIDES):
            cols, rows = pad_w // stride, pad_h // stride
            cls = np.clip(outputs[i].reshape(-1), 0.0, 1.0)
            obj = np.clip(outputs[i + n].reshape(-1), 0.0, 1.0)
            score = np.sqrt(cls * obj)
            keep = np.nonzero(score >= self.score_threshold)[0]
            if keep.size == 0:
                continue
            bbox = outputs[i + 2 * n].reshape(-1, 4)[keep]
            kps = outputs[i + 3 * n].reshape(-1, 10)[keep]
            col = (keep % cols).astype(np.float32)
            row = (keep // cols).astype(np.float32)
            cx = (col + bbox[:, 0]) * stride
            cy = (row + bbox[:, 1]) * stride
            w = np.exp(bbox[:, 2]) * stride
            h = np.exp(bbox[:, 3]) * stride
            boxes.append(np.stack([cx - w / 2, cy - h / 2, w, h], axis=1))
            grid = np.tile(np.stack([col, row], axis=1), 5)
            points.append((kps + grid) * stride)
            scores.append(score[keep])
            del rows
        if not boxes:
            return []
        all_boxes = np.concatenate(boxes)
        all_points = np.concatenate(points)
        all_scores = np.concatenate(scores)
        keep_idx = _nms(all_boxes, all_scores, self.nms_threshold)
        return [
            Face(
                float(all_boxes[k, 0]),
                float(all_boxes[k, 1]),
                float(all_boxes[k, 2]),
                float(all_boxes[k, 3]),
                tuple((float(all_points[k, 2 * j]), float(all_points[k, 2 * j + 1])) for j in range(5)),
                float(all_scores[k]),
            )
            for k in keep_idx
        ]


def _nms(boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], iou_max: float) -> list[int]:
    """Greedy non-maximum suppression over (x, y, w, h) boxes, best score first."""
    order = list(np.argsort(-scores, kind="stable"))
    x1, y1 = boxes[:, 0], boxes[:, 1]
    x2, y2 = x1 + boxes[:, 2], y1 + boxes[:, 3]
    area = boxes[:, 2] * boxes[:, 3]
    kept: list[int] = []
    while order:
        best = int(order.pop(0))
        kept.append(best)
        if not order:
            break
        rest = np.asarray(order)
        iw = np.clip(np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]), 0, None)
        ih = np.clip(np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]), 0, None)
        inter = iw * ih
        iou = inter / (area[best] + area[rest] - inter + 1e-9)
        order = [int(k) for k, v in zip(rest, iou, strict=True) if v <= iou_max]
    return kept
