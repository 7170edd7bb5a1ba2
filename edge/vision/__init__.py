"""The consent-gated camera: 1:1 face verification of a checked-in shopper, and shelf regions.

Optional (the ``vision`` extra) and off by default. Nothing here runs 1:N identification: the
camera opens only for one shopper who asked, compares against that shopper's template only, and
keeps no frame, crop or embedding. See :mod:`edge.vision.gate` for when it may look.
"""

import os

# onnxruntime (1.32 on Linux) keeps a telemetry device id and event store under
# ~/.cache/Microsoft/DeveloperTools unless this is set before it is first imported; the vision
# tests' filesystem watch found it. Nothing of the camera's may be written anywhere.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
