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
from sagespark.formats.assemble import assemble
from sagespark.formats.decoder import as_uint8
from sagespark.formats.fallback import map_keys
from sagespark.formats.layout import LABEL_TAG, tensor_entry, value_runs
from sagespark.formats.parse import TENSOR_CODES, packed_at, varint_at
from sagespark.formats.pieces import Piece
from sagespark.formats.records import read_records
from sagespark.formats.scan import scan_frames
from sagespark.formats.template import rows_matching

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


def _walk_outputs(payload: bytes) -> list[tuple[str, int, int, int, int]] | None:
    """Outputs of one canonical response record: ``(name, dtype code, values start, size, width)``.

    ``width`` is the shape element, or -1 without a shape. None for anything else (then the generated
    classes read the stream).
    """
    out = []
    pos, end = 0, len(payload)
    try:
        while pos < end:
            if payload[pos] != 0x12:
                return None
            length, pos = varint_at(payload, pos + 1, end)
            entry_end = pos + length
            if payload[pos] != 0x0A:
                return None
            key_len, pos = varint_at(payload, pos + 1, entry_end)
            name = payload[pos : pos + key_len].decode("utf-8")
            pos += key_len
            if payload[pos] != 0x12:
                return None
            length, pos = varint_at(payload, pos + 1, entry_end)
            if pos + length != entry_end or payload[pos] not in (0x12, 0x1A):
                return None
            kind = TENSOR_CODES[payload[pos]]
            length, pos = varint_at(payload, pos + 1, entry_end)
            if pos + length != entry_end:
                return None
            start, size, pos = packed_at(payload, pos, entry_end, 0x0A)
            size = max(size, 0)  # an empty packed field is omitted
            width = -1
            shape_pos, shape_len, pos = packed_at(payload, pos, entry_end, 0x1A)
            if shape_len >= 0:
                width, after = varint_at(payload, shape_pos, shape_pos + shape_len)
                if after != pos:
                    return None
            if pos != entry_end or size % (4 << kind):
                return None
            out.append((name, kind, start, size, width))
            pos = entry_end
    except (ValueError, IndexError, UnicodeDecodeError):
        return None
    names = [o[0] for o in out]
    return out if out and len(set(names)) == len(names) else None


def _decode_outputs_fast(buf: np.ndarray) -> dict[str, np.ndarray] | None:
    """Vectorised decode when every record has the layout of the first (as encode_outputs writes)."""
    frames = scan_frames(buf)
    n = len(frames)
    if n == 0 or not (frames.lengths == frames.lengths[0]).all():
        return None
    length, first = int(frames.lengths[0]), int(frames.starts[0])
    outputs = _walk_outputs(buf[first : first + length].tobytes())
    if outputs is None:
        return None
    rows = np.arange(n)
    view, match = rows_matching(frames, rows, length, [(start, size) for _, _, start, size, _ in outputs])
    if not match.all():
        return None
    result = {}
    for name, kind, start, size, width in outputs:
        dtype = "<f4" if kind == 0 else "<f8"
        if size == 0:
            result[name] = np.zeros((n, 0), dtype=dtype)
            continue
        values = np.ascontiguousarray(view[:, start : start + size]).view(dtype).reshape(n, -1)
        result[name] = values if width >= 0 or values.shape[1] != 1 else values[:, 0]
    return result


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
    fast = _decode_outputs_fast(buf)
    if fast is not None:
        return {name: fast[name] for name in sorted(fast)}
    columns: dict[str, list[np.ndarray]] = {}
    two_d: dict[str, bool] = {}
    names: list[str] | None = None
    for index, record in enumerate(read_records(io.BytesIO(buf.tobytes()))):
        keys = map_keys(record.label)
        if not all(isinstance(key, str) for key in record.label):
            raise DataFormatError(f"Record {index} has an output name that is not valid UTF-8: {keys}.")
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
