"""Tiny YOLO-shaped ONNX models built in memory, so the ONNX path is tested without downloads.

Each graph returns a fixed prediction tensor (plus 0 x mean(input), so the output depends on
the input as in a real model and onnxruntime cannot fold the graph away).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17


def _model(
    nodes: list[onnx.NodeProto],
    initializers: list[onnx.TensorProto],
    input_shape: Sequence[int | str],
    output_shape: Sequence[int | str],
    metadata: Mapping[str, str] | None,
) -> onnx.ModelProto:
    graph = helper.make_graph(
        nodes,
        "tiny_yolo",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output_shape))],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # what onnxruntime releases of the last years all read
    for key, value in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model


def constant_yolo(
    path: Path,
    prediction: np.ndarray,
    input_shape: Sequence[int | str] = (1, 3, 64, 64),
    metadata: Mapping[str, str] | None = None,
    static_output: bool = True,
) -> Path:
    """Save a model at `path` whose output is always `prediction` (shape (1, A, B))."""
    last = "output0" if static_output else "fixed"
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "zero"], ["nothing"]),
        helper.make_node("Add", ["prediction", "nothing"], [last]),
    ]
    initializers = [
        numpy_helper.from_array(prediction.astype(np.float32), "prediction"),
        numpy_helper.from_array(np.zeros((), np.float32), "zero"),
    ]
    if not static_output:
        # Reshape to (batch, A, -1) with batch read from the input at run time, so neither
        # onnx nor onnxruntime can know the output's size before the first frame.
        nodes += [
            helper.make_node("Shape", ["images"], ["input_shape"], start=0, end=1),
            helper.make_node("Concat", ["input_shape", "rest"], ["target"], axis=0),
            helper.make_node("Reshape", ["fixed", "target"], ["output0"]),
        ]
        initializers.append(
            numpy_helper.from_array(np.array([prediction.shape[1], -1], np.int64), "rest")
        )
    out_shape: Sequence[int | str] = prediction.shape if static_output else ("b", "a", "n")
    onnx.save(_model(nodes, initializers, input_shape, out_shape, metadata), path)
    return path


def red_scored_yolo(path: Path, box: Sequence[float], metadata: Mapping[str, str]) -> Path:
    """A one-class v8-layout model whose single box scores mean(channel 0 of the input).

    With RGB input scaled to [0, 1], a pure red picture scores 1.0 and a pure blue one 0.0:
    this catches a BGR/RGB swap or a missing /255.
    """
    base = np.zeros((1, 5, 1), np.float32)
    base[0, :4, 0] = box
    mask = np.zeros((1, 5, 1), np.float32)
    mask[0, 4, 0] = 1.0
    nodes = [
        helper.make_node("Slice", ["images", "starts", "ends", "axes"], ["first_channel"]),
        helper.make_node("ReduceMean", ["first_channel"], ["mean"], keepdims=0),
        helper.make_node("Mul", ["mean", "mask"], ["score"]),
        helper.make_node("Add", ["base", "score"], ["output0"]),
    ]
    initializers = [
        numpy_helper.from_array(np.array([0], np.int64), "starts"),
        numpy_helper.from_array(np.array([1], np.int64), "ends"),
        numpy_helper.from_array(np.array([1], np.int64), "axes"),
        numpy_helper.from_array(base, "base"),
        numpy_helper.from_array(mask, "mask"),
    ]
    onnx.save(_model(nodes, initializers, (1, 3, 64, 64), (1, 5, 1), metadata), path)
    return path
