"""SFace embeddings: an aligned 112×112 face → 128 float32 values of unit length.

The session writes into one input and one output buffer that this object owns (onnxruntime I/O
binding), so an embedding never exists anywhere else: :meth:`Embedder.wipe` zeroes both, and
the verifier calls it as soon as the one comparison is made.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from edge.vision.align import ALIGNED_SIZE_PX

if TYPE_CHECKING:
    import onnxruntime

EMBEDDING_SIZE = 128


class Embedder:
    """SFace on one onnxruntime session; not thread-safe (one pair of buffers per embedder)."""

    def __init__(self, session: onnxruntime.InferenceSession) -> None:
        import onnxruntime as ort

        self._session = session
        self._input = np.zeros((1, 3, ALIGNED_SIZE_PX, ALIGNED_SIZE_PX), dtype=np.float32)
        self.output = np.zeros((1, EMBEDDING_SIZE), dtype=np.float32)
        """The last embedding (raw, not normalised) until :meth:`wipe`."""
        self._binding = session.io_binding()
        self._binding.bind_ortvalue_input(session.get_inputs()[0].name, ort.OrtValue.ortvalue_from_numpy(self._input))
        self._binding.bind_ortvalue_output(session.get_outputs()[0].name, ort.OrtValue.ortvalue_from_numpy(self.output))

    def run(self, aligned: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """Embed an aligned BGR face; returns the internal output buffer (valid until the next call or wipe)."""
        # SFace takes RGB (OpenCV's blobFromImage with swapRB), 0..255; it normalises inside.
        self._input[0] = aligned[:, :, ::-1].transpose(2, 0, 1)
        self._session.run_with_iobinding(self._binding)
        return self.output

    def embed(self, aligned: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        """A unit-length copy of the embedding (for enrolment, where the template is the point)."""
        raw = self.run(aligned)[0]
        unit: npt.NDArray[np.float32] = (raw / max(float(np.linalg.norm(raw)), 1e-12)).astype(np.float32)
        self.wipe()
        return unit

    def wipe(self) -> None:
        """Zero the input and output buffers."""
        self._input.fill(0.0)
        self.output.fill(0.0)
