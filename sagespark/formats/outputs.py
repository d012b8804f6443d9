"""Inference responses in RecordIO-protobuf: one Record per row, each output a named label.

SageMaker's algorithms answer ``application/x-recordio-protobuf`` requests with one Record per input
row, ``features`` empty, and each output under its own key in the ``label`` map as a Float32Tensor
(``closest_cluster``, ``distance_to_cluster``, ``projection``, ``score``, ...). A 1-D output gives a
one-value tensor per row; a 2-D output of shape ``(n, k)`` gives the row's ``k`` values with shape
``[k]``, so that a ``k = 1`` column comes back 2-D.

Examples
--------
>>> import numpy as np
>>> data = encode_outputs({"closest_cluster": np.array([1.0, 0.0]), "projection": np.ones((2, 3))})
>>> out = decode_outputs(data)
>>> out["closest_cluster"].tolist(), out["projection"].shape
([1.0, 0.0], (2, 3))
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import numpy as np

from sagespark.errors import DataFormatError
from sagespark.formats.assemble import Piece, assemble
from sagespark.formats.decoder import as_uint8
from sagespark.formats.layout import LABEL_TAG, tensor_entry, value_runs
from sagespark.formats.records import read_records

__all__ = ["encode_outputs", "decode_outputs"]

_F32 = np.dtype(np.float32)


def encode_outputs(outputs: Mapping[str, np.ndarray]) -> bytes:
    """Encode named per-row outputs, one Record per row, each output a Float32Tensor label.

    Parameters
    ----------
    outputs : Mapping[str, numpy.ndarray]
        Arrays of shape ``(n,)`` or ``(n, k)``, all with the same ``n``.

    Raises
    ------
    DataFormatError
        Arrays of other ranks, differing row counts, or non-numeric values.
    """
    if not outputs:
        raise DataFormatError("encode_outputs needs at least one output; got none.")
    arrays = {name: np.asarray(value) for name, value in outputs.items()}
    counts = {name: a.shape[0] if a.ndim else -1 for name, a in arrays.items()}
    n = next(iter(counts.values()))
    for name, a in arrays.items():
        if a.ndim not in (1, 2):
            raise DataFormatError(f"Output {name!r} has shape {a.shape}; expected (n,) or (n, k).")
        if counts[name] != n:
            raise DataFormatError(
                f"Output {name!r} has {counts[name]} rows; expected {n} like the others: {counts}."
            )
        if a.dtype.kind not in "biuf":
            raise DataFormatError(f"Output {name!r} has dtype {a.dtype}; expected numbers.")
    if n == 0:
        return b""
    pieces: list[Piece] = []
    for name, a in arrays.items():
        values = np.ascontiguousarray(a, dtype=np.float32).reshape(n, -1)
        runs = value_runs(values.reshape(-1), None, n, _F32)
        shape = np.full(n, values.shape[1], dtype=np.uint64) if a.ndim == 2 else None
        entry, _ = tensor_entry(LABEL_TAG, name, _F32, runs, shape=shape)
        pieces += entry
    return assemble(n, pieces)


def decode_outputs(data: bytes | bytearray | memoryview | np.ndarray) -> dict[str, np.ndarray]:
    """Decode a RecordIO-protobuf inference response into one array per output name.

    An output whose tensors carry a shape, or more than one value, becomes ``(n, k)``; otherwise
    ``(n,)``. Every record must carry the same output names.

    Raises
    ------
    DataFormatError
        Corrupt framing or protobuf, records with different output names, ragged or sparse outputs.
    """
    buf = as_uint8(data)
    columns: dict[str, list[np.ndarray]] = {}
    two_d: dict[str, bool] = {}
    names: list[str] | None = None
    for index, record in enumerate(read_records(io.BytesIO(buf.tobytes()))):
        keys = sorted(record.label)
        if names is None:
            names = keys
            columns = {k: [] for k in keys}
        elif keys != names:
            raise DataFormatError(f"Record {index} has outputs {keys}; record 0 has {names}.")
        for key in keys:
            value = record.label[key]
            kind = value.WhichOneof("value")
            if kind not in ("float32_tensor", "float64_tensor", "int32_tensor"):
                raise DataFormatError(f"Record {index}: output {key!r} holds {kind}; expected a tensor.")
            tensor = getattr(value, kind)
            if len(tensor.keys):
                raise DataFormatError(f"Record {index}: output {key!r} is sparse; expected dense values.")
            dtype = {"float32_tensor": np.float32, "float64_tensor": np.float64}.get(kind, np.int32)
            columns[key].append(np.asarray(tensor.values, dtype=dtype))
            two_d[key] = two_d.get(key, False) or len(tensor.shape) > 0 or len(tensor.values) != 1
    out: dict[str, np.ndarray] = {}
    for key, rows in columns.items():
        widths = {row.size for row in rows}
        if len(widths) > 1:
            raise DataFormatError(f"Output {key!r} has rows of different lengths {sorted(widths)}.")
        stacked = np.stack(rows)
        out[key] = stacked if two_d[key] else stacked[:, 0]
    return out
