"""A tiny deterministic ONNX model built with onnx.helper: its score follows the frame's
redness, so every verdict path runs for real through onnxruntime."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper

# score = sigmoid(GAIN * (mean R - (mean G + mean B) / 2) + BIAS), pixels scaled to 0..1
GAIN, BIAS = 10.0, -3.0


def redness_score(rgb: tuple[int, int, int]) -> float:
    r, g, b = (c / 255 for c in rgb)
    return float(1 / (1 + np.exp(-(GAIN * (r - (g + b) / 2) + BIAS))))


def build_colour_model(folder: Path, name: str = "colour_test") -> Path:
    """Write model.onnx and manifest.yaml into `folder/name`; return the manifest path."""
    target = folder / name
    target.mkdir(parents=True, exist_ok=True)
    weights = numpy_helper.from_array(
        np.array([[GAIN], [-GAIN / 2], [-GAIN / 2]], dtype=np.float32), "weights"
    )
    bias = numpy_helper.from_array(np.array([BIAS], dtype=np.float32), "bias")
    axes = numpy_helper.from_array(np.array([1, 2], dtype=np.int64), "axes")
    graph = helper.make_graph(
        [
            helper.make_node("ReduceMean", ["pixels", "axes"], ["means"], keepdims=0),
            helper.make_node("MatMul", ["means", "weights"], ["logit0"]),
            helper.make_node("Add", ["logit0", "bias"], ["logit"]),
            helper.make_node("Sigmoid", ["logit"], ["scores"]),
        ],
        "colour",
        [helper.make_tensor_value_info("pixels", TensorProto.FLOAT, ["n", 64, 64, 3])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", 1])],
        [weights, bias, axes],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    model_file = target / "model.onnx"
    model_file.write_bytes(model.SerializeToString())
    manifest = {
        "name": name,
        "version": "1",
        "source": {"file": "model.onnx"},
        "sha256": hashlib.sha256(model_file.read_bytes()).hexdigest(),
        "input": {
            "name": "pixels",
            "height": 64,
            "width": 64,
            "layout": "NHWC",
            "colour_order": "RGB",
            "scale": 1 / 255,
        },
        "output": {"name": "scores", "labels": ["red"]},
        "batch_size": 4,
        "threads": 1,
        "provenance": "built by tests/models.py with onnx.helper",
        "licence": "project's own",
    }
    path = target / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest))
    return path


# The policy the colour model's tests screen against, and the colours they draw.
TEST_POLICY = {
    "id": "test-policy",
    "version": 3,
    "review_threshold": 0.4,
    "items": [
        {
            "id": "3.1.10.3(3)",
            "clause": "3.1.10.3",
            "text_zh": "封建迷信和或淫秽、色情、下流的信息或教唆犯罪的信息",
            "gloss_en": "test item fed by redness",
            "detectors": [
                {"label": "colour_test:red", "review_at": 0.6, "block_at": 0.92, "min_frames": 2}
            ],
        }
    ],
}
DARK = "0x202020"
RED = "0xff0000"  # scores ~1.0: block
PINK = "0xb05050"  # scores ~0.69: review
