"""Protobuf layout of a Record's map entries, as per-row pieces for :mod:`sagespark.formats.assemble`.

``Record.features`` (field 1) and ``Record.label`` (field 2) are maps of string to ``Value``; on the wire
each entry is a length-delimited message ``{1: key, 2: Value}``, and ``Value`` holds one tensor in its
``oneof`` (float32 = field 2, float64 = 3, int32 = 7). A tensor has packed ``values`` (1), ``keys`` (2)
and ``shape`` (3). Packed fields with no elements are omitted, exactly as protobuf serialises them, so
the pieces here reproduce the generated classes' bytes.

Examples
--------
>>> import numpy as np
>>> resolve_dtype(np.zeros(2, dtype=np.float64), "features")
dtype('float64')
>>> VALUE_TAGS[np.dtype(np.float32)]
18
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sagespark.errors import DataFormatError
from sagespark.formats.pieces import Const, Piece, Runs, Varint
from sagespark.formats.varint import encode_varint_matrix, varint_lengths

__all__ = [
    "FEATURES_TAG",
    "LABEL_TAG",
    "VALUE_TAGS",
    "TAG_DTYPES",
    "resolve_dtype",
    "value_runs",
    "tensor_entry",
]

FEATURES_TAG = 0x0A  # Record.features, field 1, length-delimited
LABEL_TAG = 0x12  # Record.label, field 2, length-delimited
VALUE_TAGS = {np.dtype(np.float32): 0x12, np.dtype(np.float64): 0x1A, np.dtype(np.int32): 0x3A}
TAG_DTYPES = {tag: dtype for dtype, tag in VALUE_TAGS.items()}
_INT32 = np.iinfo(np.int32)


def resolve_dtype(array: np.ndarray, what: str) -> np.dtype:
    """The tensor dtype SageMaker's writer uses for ``array``: float32, float64 or int32.

    Integer arrays of any width go to int32 (as the SageMaker SDK maps numpy ints), after a range check.

    Raises
    ------
    DataFormatError
        For other dtypes, or integers outside the int32 range.
    """
    dtype = array.dtype
    if dtype in (np.float32, np.float64):
        return np.dtype(dtype)
    if dtype.kind in "iu":
        if array.size and dtype.itemsize >= 4 and (array.min() < _INT32.min or array.max() > _INT32.max):
            bad = int(np.flatnonzero((array.ravel() < _INT32.min) | (array.ravel() > _INT32.max))[0])
            raise DataFormatError(
                f"{what} has integer dtype {dtype} with a value out of the int32 range at flat index {bad}; "
                "RecordIO-protobuf stores integers as Int32Tensor. Cast to float64 first."
            )
        return np.dtype(np.int32)
    raise DataFormatError(
        f"{what} has dtype {dtype}; expected float32, float64 or an integer dtype (stored as Int32Tensor)."
    )


def value_runs(flat: np.ndarray, indptr: np.ndarray | None, n: int, dtype: np.dtype) -> Runs:
    """The packed wire bytes of ``flat`` (all rows' values in row order) for a tensor of ``dtype``.

    ``indptr`` marks row boundaries (CSR style); None means ``n`` rows of equal length. ``dtype`` int32
    and uint64 (keys, shape) are varints; float32 and float64 are little-endian fixed-width values.
    """
    regular = indptr is None
    if indptr is None:
        width = flat.size // n if n else 0
        indptr = np.arange(n + 1, dtype=np.int64) * width
    if dtype == np.int32 or dtype == np.uint64:
        ints = flat.astype(np.int32, copy=False) if dtype == np.int32 else flat
        matrix, sizes = encode_varint_matrix(ints)
        return Runs(matrix, indptr, None if (sizes == matrix.shape[1]).all() else sizes)
    item = dtype.itemsize
    data = np.ascontiguousarray(flat, dtype=dtype.newbyteorder("<")).reshape(-1).view(np.uint8)
    runs = Runs(data.reshape(-1, item), indptr)
    if regular:  # equal rows: keep the per-row size a constant, so the lengths above it stay constant
        runs.row_bytes = np.broadcast_to(np.int64(width * item), (n,))
    return runs


def _per_row(fn: Callable[..., np.ndarray], *rows: np.ndarray) -> np.ndarray:
    """``fn`` of per-row arrays; evaluated once when every input is a constant broadcast."""
    if all(r.strides == (0,) for r in rows):
        return np.broadcast_to(fn(*(r[:1] for r in rows)), rows[0].shape)
    return fn(*rows)


def _packed(tag: int, runs: Runs) -> tuple[list[Piece], np.ndarray]:
    """A packed repeated field, omitted in rows where it has no elements."""
    sizes = runs.row_bytes
    nonzero = _per_row(lambda s: s > 0, sizes)
    present = None if nonzero.all() else nonzero
    pieces: list[Piece] = [Const(bytes([tag]), present), Varint(sizes, present), runs]
    total = _per_row(lambda s: np.where(s > 0, 1 + varint_lengths(s) + s, 0), sizes)
    return pieces, total


def tensor_entry(
    field_tag: int,
    key: str,
    dtype: np.dtype,
    values: Runs,
    keys: Runs | None = None,
    shape: np.ndarray | None = None,
) -> tuple[list[Piece], np.ndarray]:
    """Pieces of one map entry ``key -> Value{tensor}`` of a Record field, and its bytes per row.

    Parameters
    ----------
    field_tag : int
        :data:`FEATURES_TAG` or :data:`LABEL_TAG`.
    key : str
        The map key, e.g. ``"values"``.
    dtype : numpy.dtype
        float32, float64 or int32: selects the tensor type.
    values, keys : Runs
        Packed bytes of the tensor's values and (sparse only) keys.
    shape : numpy.ndarray of uint64, optional
        One shape element per row (sparse rows carry ``[n_columns]``).
    """
    key_bytes = key.encode("utf-8")
    if len(key_bytes) > 127:
        raise DataFormatError(f"Map key {key!r} is longer than 127 bytes.")
    tensor, tensor_len = _packed(0x0A, values)
    if keys is not None:
        key_pieces, key_len = _packed(0x12, keys)
        tensor += key_pieces
        tensor_len = _per_row(np.add, tensor_len, key_len)
    if shape is not None:
        shape_size = _per_row(varint_lengths, shape)
        tensor += [Const(b"\x1a"), Varint(shape_size), Varint(shape)]
        tensor_len = _per_row(lambda t, s: t + 1 + varint_lengths(s) + s, tensor_len, shape_size)
    value_len = _per_row(lambda t: 1 + varint_lengths(t) + t, tensor_len)
    entry_len = _per_row(lambda v: 2 + len(key_bytes) + 1 + varint_lengths(v) + v, value_len)
    pieces: list[Piece] = [
        Const(bytes([field_tag])),
        Varint(entry_len),
        Const(bytes([0x0A, len(key_bytes)]) + key_bytes + b"\x12"),
        Varint(value_len),
        Const(bytes([VALUE_TAGS[dtype]])),
        Varint(tensor_len),
        *tensor,
    ]
    return pieces, _per_row(lambda e: 1 + varint_lengths(e) + e, entry_len)
