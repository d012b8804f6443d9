"""Spark ML vectors in Arrow ⇄ numpy / CSR, a whole batch at a time (DESIGN.md section 1).

A Spark ML ``Vector`` column reaches Arrow (``mapInArrow``, Python data sources) as Spark's VectorUDT
struct ``struct<type: int8, size: int32, indices: list<int32>, values: list<double>>``: ``type`` 1 is a
dense row (``values`` only), ``type`` 0 a sparse row (``size``, ``indices``, ``values``). Decoding reads
the list offsets and the child value buffers of the whole batch at once: dense rows are one reshape of
the values buffer, sparse rows become CSR with ``indptr`` taken from the list offsets. No Python runs
per row. Chunks of a :class:`pyarrow.ChunkedArray` are written straight into one preallocated output,
so the data is copied exactly once (zero times when the dtype already matches and there is one chunk).

Examples
--------
>>> import numpy as np
>>> from sagespark.data.vectors import matrix_to_vectors, vectors_to_matrix
>>> arrow = matrix_to_vectors(np.array([[1.0, 2.0], [3.0, 4.0]]))
>>> vectors_to_matrix(arrow, column="features")
array([[1., 2.],
       [3., 4.]], dtype=float32)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

from sagespark.algorithms.base import Matrix
from sagespark.errors import DataFormatError

__all__ = [
    "VECTOR_ARROW_TYPE",
    "is_vector_type",
    "vectors_to_matrix",
    "matrix_to_vectors",
    "numeric_to_array",
    "first_null_row",
]

# Exactly the Arrow type Spark 4.3 hands to mapInArrow for a VectorUDT column (checked by experiment);
# mapInArrow output with nullable children is accepted too, but mirroring Spark keeps schemas equal.
VECTOR_ARROW_TYPE = pa.struct(
    [
        pa.field("type", pa.int8(), nullable=False),
        pa.field("size", pa.int32()),
        pa.field("indices", pa.list_(pa.field("element", pa.int32(), nullable=False))),
        pa.field("values", pa.list_(pa.field("element", pa.float64(), nullable=False))),
    ]
)
_VECTOR_FIELDS = ("type", "size", "indices", "values")
_INT32_MAX = np.iinfo(np.int32).max


def is_vector_type(arrow_type: pa.DataType) -> bool:
    """Whether ``arrow_type`` is Spark's VectorUDT struct layout.

    Examples
    --------
    >>> is_vector_type(VECTOR_ARROW_TYPE)
    True
    """
    return pa.types.is_struct(arrow_type) and all(
        arrow_type.get_field_index(name) >= 0 for name in _VECTOR_FIELDS
    )


@dataclass
class _Chunk:
    """One Arrow chunk's buffers viewed as numpy; nothing is copied yet."""

    start: int  # global row index of the chunk's first row (for error messages)
    offsets: np.ndarray  # int64, n + 1, relative to ``flat`` (starts at 0)
    flat: np.ndarray  # every row's values, back to back
    sparse: np.ndarray | None = None  # bool per row; None when every row is dense
    sizes: np.ndarray | None = None  # int64 declared size of each sparse row (rows of ``sparse``)
    indices: np.ndarray | None = None  # the sparse rows' indices, back to back

    @property
    def num_rows(self) -> int:
        return len(self.offsets) - 1

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)


def _first_true(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _null_row(array: pa.Array) -> int:
    return _first_true(array.is_null().to_numpy(zero_copy_only=False))


def _list_buffers(lst: pa.Array, *, column: str, start: int) -> tuple[np.ndarray, np.ndarray]:
    """Offsets (int64, from 0) and the flat child values of a list / large_list / fixed_size_list array."""
    if pa.types.is_fixed_size_list(lst.type):
        width = lst.type.list_size
        child = lst.flatten()
        offsets = np.arange(len(lst) + 1, dtype=np.int64) * width
    else:
        offsets = lst.offsets.to_numpy().astype(np.int64, copy=False)
        child = lst.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
        offsets = offsets - offsets[0]
    if child.null_count:
        position = _null_row(child)
        row = int(np.searchsorted(offsets, position, side="right")) - 1
        raise DataFormatError(
            f"Column {column!r}: row {start + row} holds a null element; expected numbers only."
        )
    if not (pa.types.is_integer(child.type) or pa.types.is_floating(child.type)):
        raise DataFormatError(
            f"Column {column!r}: expected an array of numbers (float, double or int); got {lst.type}."
        )
    return offsets, child.to_numpy(zero_copy_only=True)


def _decode_vector_chunk(chunk: pa.StructArray, *, column: str, start: int) -> _Chunk:
    types = chunk.field("type").to_numpy(zero_copy_only=False)
    offsets, flat = _list_buffers(chunk.field("values"), column=column, start=start)
    sparse = types == 0
    bad = ~sparse & (types != 1)
    if bad.any():
        row = _first_true(bad)
        raise DataFormatError(
            f"Column {column!r}: row {start + row} has vector type {int(types[row])}; "
            "expected 0 (sparse) or 1 (dense)."
        )
    if not sparse.any():
        return _Chunk(start, offsets, flat)
    size_array = chunk.field("size")
    sizes = size_array.to_numpy(zero_copy_only=False)
    size_missing = size_array.is_null().to_numpy(zero_copy_only=False) & sparse
    if size_missing.any():
        row = _first_true(size_missing)
        raise DataFormatError(f"Column {column!r}: sparse vector in row {start + row} has no size.")
    index_offsets, indices = _list_buffers(chunk.field("indices"), column=column, start=start)
    index_lengths = np.diff(index_offsets)
    mismatch = sparse & (index_lengths != np.diff(offsets))
    if mismatch.any():
        row = _first_true(mismatch)
        raise DataFormatError(
            f"Column {column!r}: sparse vector in row {start + row} has {int(index_lengths[row])} "
            f"indices but {int(np.diff(offsets)[row])} values."
        )
    return _Chunk(start, offsets, flat, sparse, sizes[sparse].astype(np.int64), indices)


def _decode_chunk(chunk: pa.Array, *, column: str, start: int) -> _Chunk:
    if chunk.null_count:
        raise DataFormatError(
            f"Column {column!r}: row {start + _null_row(chunk)} is null; expected a vector in every row."
        )
    if isinstance(chunk, pa.ExtensionArray):
        chunk = chunk.storage
    if is_vector_type(chunk.type):
        return _decode_vector_chunk(chunk, column=column, start=start)
    t = chunk.type
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        offsets, flat = _list_buffers(chunk, column=column, start=start)
        return _Chunk(start, offsets, flat)
    raise DataFormatError(
        f"Column {column!r}: expected a Spark ML Vector or an array<float|double|int> column; got {t}."
    )


def _check_width(chunks: list[_Chunk], *, column: str) -> int:
    """The common vector size; every dense length and sparse size must equal it."""
    expected: tuple[int, int] | None = None  # (size, row where it was seen)
    for c in chunks:
        if c.num_rows == 0:
            continue
        widths = c.lengths
        if c.sparse is not None:
            widths = widths.copy()
            widths[c.sparse] = c.sizes
        if expected is None:
            expected = (int(widths[0]), c.start)
        off = widths != expected[0]
        if off.any():
            row = _first_true(off)
            kind = "sparse" if c.sparse is not None and c.sparse[row] else "dense"
            raise DataFormatError(
                f"Column {column!r}: vectors must all have the same size, but row {expected[1]} has size "
                f"{expected[0]} and row {c.start + row} ({kind}) has size {int(widths[row])}."
            )
    return 0 if expected is None else expected[0]


def _chunk_columns(c: _Chunk, width: int, *, column: str) -> np.ndarray:
    """Column index of every stored value of a chunk: given for sparse rows, 0..n-1 for dense rows."""
    lengths = c.lengths
    positions = np.arange(len(c.flat), dtype=np.int64) - np.repeat(c.offsets[:-1], lengths)
    if c.sparse is None or c.indices is None:
        return positions
    indices: np.ndarray = c.indices
    off = (indices < 0) | (indices >= width)
    if np.any(off):
        first = _first_true(np.asarray(off))
        position = int(np.flatnonzero(np.repeat(c.sparse, lengths))[first])
        row = int(np.searchsorted(c.offsets, position, side="right")) - 1
        raise DataFormatError(
            f"Column {column!r}: sparse vector in row {c.start + row} has index "
            f"{int(indices[first])} outside [0, {width})."
        )
    if c.sparse.all():
        return indices
    positions[np.repeat(c.sparse, lengths)] = indices
    return positions


def _to_csr(chunks: list[_Chunk], n: int, width: int, dtype: Any, *, column: str) -> sp.csr_matrix:
    nnz = sum(len(c.flat) for c in chunks)
    index_dtype = np.int32 if max(nnz, width) <= _INT32_MAX else np.int64
    data = np.empty(nnz, dtype=dtype)
    indices = np.empty(nnz, dtype=index_dtype)
    indptr = np.empty(n + 1, dtype=index_dtype)
    indptr[0] = 0
    row = pos = 0
    for c in chunks:
        k, m = c.num_rows, len(c.flat)
        data[pos : pos + m] = c.flat
        indices[pos : pos + m] = _chunk_columns(c, width, column=column)
        indptr[row + 1 : row + k + 1] = c.offsets[1:] + pos
        row, pos = row + k, pos + m
    return sp.csr_matrix((data, indices, indptr), shape=(n, width))


def _to_dense(chunks: list[_Chunk], n: int, width: int, dtype: Any, *, column: str) -> np.ndarray:
    if len(chunks) == 1 and chunks[0].sparse is None and chunks[0].flat.dtype == dtype:
        # Zero copy: a read-only view of the Arrow buffer.
        return chunks[0].flat.reshape(n, width)
    out = np.empty((n, width), dtype=dtype)
    row = 0
    for c in chunks:
        k = c.num_rows
        if c.sparse is None:
            out[row : row + k] = c.flat.reshape(k, width)
        else:
            out[row : row + k] = 0
            rows = np.repeat(np.arange(row, row + k), c.lengths)
            out[rows, _chunk_columns(c, width, column=column)] = c.flat
        row += k
    return out


def vectors_to_matrix(
    values: pa.Array | pa.ChunkedArray,
    /,
    *,
    column: str = "features",
    dtype: Any = np.float32,
    dense: bool | None = None,
    row_offset: int = 0,
) -> Matrix:
    """Decode a Spark ML Vector column (or a numeric array column) into a dense array or CSR matrix.

    Parameters
    ----------
    values : pyarrow.Array or pyarrow.ChunkedArray
        VectorUDT structs (``struct<type, size, indices, values>``) or ``list<float|double|int>``
        (also ``large_list`` and ``fixed_size_list``).
    column : str
        Column name, used in error messages.
    dtype : numpy dtype
        Value type of the result (float32 by default, what the algorithms train on).
    dense : bool or None
        ``None``: a dense array when every row is dense, CSR when any row is sparse. ``True``: always
        a dense array. ``False``: always CSR.
    row_offset : int
        Added to row numbers in error messages (the position of ``values`` in a larger stream).

    Returns
    -------
    numpy.ndarray or scipy.sparse.csr_matrix
        ``n_rows × size``. A dense result may be a read-only view of Arrow memory when ``values`` has
        one chunk whose value type already is ``dtype``. Zero rows give shape ``(0, 0)``.

    Raises
    ------
    DataFormatError
        A null row (naming the column and the row), vectors of different sizes (naming both rows and
        sizes), a sparse index out of range, or a column that is neither vectors nor numeric arrays.

    Examples
    --------
    >>> import pyarrow as pa
    >>> vectors_to_matrix(pa.array([[1, 2], [3, 4]]), column="x", dtype="float64")
    array([[1., 2.],
           [3., 4.]])
    """
    dtype = np.dtype(dtype)
    pieces = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    chunks: list[_Chunk] = []
    start = row_offset
    for piece in pieces:
        chunks.append(_decode_chunk(piece, column=column, start=start))
        start += len(piece)
    n = start - row_offset
    width = _check_width(chunks, column=column)
    any_sparse = any(c.sparse is not None for c in chunks)
    if dense is False or (dense is None and any_sparse):
        return _to_csr(chunks, n, width, dtype, column=column)
    return _to_dense(chunks, n, width, dtype, column=column)


def _list_array(offsets: np.ndarray, flat: np.ndarray, item: pa.DataType, mask: Any = None) -> pa.ListArray:
    list_type = pa.list_(pa.field("element", item, nullable=False))
    return pa.ListArray.from_arrays(
        pa.array(offsets, type=pa.int32()), pa.array(flat, type=item), type=list_type, mask=mask
    )


def matrix_to_vectors(m: Matrix) -> pa.StructArray:
    """Encode a matrix as a Spark ML Vector column in Arrow (the VectorUDT layout).

    Dense 2-D arrays become dense vectors; CSR (or any scipy sparse) matrices become sparse vectors.
    Built from whole buffers: the offsets are ``arange`` (dense) or ``indptr`` (CSR).

    Parameters
    ----------
    m : numpy.ndarray or scipy.sparse matrix
        ``n_rows × size``; values are stored as double, as Spark vectors hold them.

    Returns
    -------
    pyarrow.StructArray
        Of type :data:`VECTOR_ARROW_TYPE`, ready to be yielded from ``mapInArrow`` or a data source
        reader for a ``VectorUDT`` column.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> matrix_to_vectors(sp.csr_matrix([[0.0, 2.0]])).to_pylist()
    [{'type': 0, 'size': 2, 'indices': [1], 'values': [2.0]}]
    """
    if sp.issparse(m):
        csr = sp.csr_matrix(m)
        if not csr.has_canonical_format:
            # Spark's SparseVector needs strictly increasing indices.
            csr = csr.copy()
            csr.sum_duplicates()
        n, width = csr.shape
        if csr.nnz > _INT32_MAX:
            raise DataFormatError(f"A sparse batch of {csr.nnz} values is too large for one Arrow batch.")
        offsets = csr.indptr.astype(np.int32, copy=False)
        kinds = np.zeros(n, dtype=np.int8)
        sizes = pa.array(np.full(n, width, dtype=np.int32))
        indices = _list_array(offsets, csr.indices.astype(np.int32, copy=False), pa.int32())
        vals = _list_array(offsets, csr.data.astype(np.float64, copy=False), pa.float64())
    else:
        array = np.asarray(m)
        if array.ndim != 2:
            raise DataFormatError(f"Expected a 2-D matrix of vectors; got an array of shape {array.shape}.")
        n, width = array.shape
        if n * width > _INT32_MAX:
            raise DataFormatError(f"A dense batch of {n * width} values is too large for one Arrow batch.")
        offsets = np.arange(n + 1, dtype=np.int32) * np.int32(width)
        kinds = np.ones(n, dtype=np.int8)
        sizes = pa.nulls(n, type=pa.int32())
        indices = pa.nulls(n, type=VECTOR_ARROW_TYPE.field("indices").type)
        flat = np.ascontiguousarray(array, dtype=np.float64).reshape(-1)
        vals = _list_array(offsets, flat, pa.float64())
    return pa.StructArray.from_arrays(
        [pa.array(kinds, type=pa.int8()), sizes, indices, vals], fields=list(VECTOR_ARROW_TYPE)
    )


def first_null_row(values: pa.Array | pa.ChunkedArray) -> int:
    """Index of the first null row (call only when ``values.null_count`` > 0).

    Examples
    --------
    >>> import pyarrow as pa
    >>> first_null_row(pa.chunked_array([[1, 2], [None]]))
    2
    """
    chunked = values if isinstance(values, pa.ChunkedArray) else pa.chunked_array([values])
    return _first_true(chunked.is_null().to_numpy())


def numeric_to_array(
    values: pa.Array | pa.ChunkedArray, /, *, column: str, dtype: Any = np.float64, row_offset: int = 0
) -> np.ndarray:
    """A numeric Arrow column as a 1-D numpy array of ``dtype``; nulls raise naming the row.

    Examples
    --------
    >>> import pyarrow as pa
    >>> numeric_to_array(pa.array([1, 2]), column="label", dtype="float64")
    array([1., 2.])
    """
    if values.null_count:
        row = first_null_row(values)
        raise DataFormatError(
            f"Column {column!r}: row {row_offset + row} is null; expected a number in every row."
        )
    t = values.type
    if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
        raise DataFormatError(f"Column {column!r}: expected a numeric column; got {t}.")
    if pa.types.is_decimal(t):
        values = values.cast(pa.float64())
    return np.asarray(values.to_numpy(), dtype=dtype)
