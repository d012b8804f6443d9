"""Vectorised encoders: dense arrays and CSR matrices to a RecordIO-protobuf stream, one Record per row.

The bytes equal what SageMaker's Python SDK writes (``write_numpy_to_dense_tensor``,
``write_spmatrix_to_sparse_tensor``) and what the generated ``Record`` class serialises: the feature
vector under ``"values"`` in ``features``; sparse rows add ``keys`` (column indices) and ``shape``
``[n_columns]``; a label is a one-element tensor under ``"values"`` in ``label``, typed by the labels'
own dtype (float32, float64, or int32 for integers), exactly as the SDK does.

Examples
--------
>>> import numpy as np
>>> from sagespark.formats.recordio import iter_records
>>> import io
>>> data = encode(np.array([[1.0, 2.0]], dtype=np.float32), np.array([1.0]))
>>> len(list(iter_records(io.BytesIO(data))))
1
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from sagespark.errors import DataFormatError
from sagespark.formats.assemble import assemble
from sagespark.formats.layout import (
    FEATURES_TAG,
    LABEL_TAG,
    resolve_dtype,
    tensor_entry,
    value_runs,
)
from sagespark.formats.pieces import Piece

__all__ = ["encode", "encode_dense", "encode_sparse", "check_labels"]

_SPARSE_BLOCK_ROWS = 1 << 16


def check_labels(labels: Any, n: int) -> np.ndarray | None:
    """Labels as a 1-D array of ``n`` values (an ``(n, 1)`` column is accepted), or None."""
    if labels is None:
        return None
    arr = np.asarray(labels)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataFormatError(f"labels must be a 1-D array with one value per row; got shape {arr.shape}.")
    if arr.shape[0] != n:
        raise DataFormatError(
            f"labels has {arr.shape[0]} values but features has {n} rows; expected one per row."
        )
    return arr


def _label_pieces(labels: np.ndarray) -> list[Piece]:
    dtype = resolve_dtype(labels, "labels")
    stream = value_runs(labels, None, labels.shape[0], dtype)
    pieces, _ = tensor_entry(LABEL_TAG, "values", dtype, stream)
    return pieces


def encode_dense(features: np.ndarray, labels: Any = None) -> bytes:
    """Encode a 2-D array, one dense Record per row.

    Parameters
    ----------
    features : numpy.ndarray, shape (n, d)
        float32, float64 or integer (stored as Int32Tensor).
    labels : array-like of shape (n,), optional

    Examples
    --------
    >>> import numpy as np
    >>> encode_dense(np.zeros((1, 1), dtype=np.float32)).hex()
    '0a23d7ce140000000a120a0676616c756573120812060a0400000000'
    """
    arr = np.asarray(features)
    if arr.ndim != 2:
        raise DataFormatError(f"features must be a 2-D array (rows x columns); got shape {arr.shape}.")
    n = arr.shape[0]
    label_arr = check_labels(labels, n)
    if n == 0:
        return b""
    dtype = resolve_dtype(arr, "features")
    stream = value_runs(arr.reshape(-1) if arr.flags.c_contiguous else arr.ravel(), None, n, dtype)
    pieces, _ = tensor_entry(FEATURES_TAG, "values", dtype, stream)
    if label_arr is not None:
        pieces += _label_pieces(label_arr)
    return assemble(n, pieces)


def encode_sparse(features: Any, labels: Any = None) -> bytes:
    """Encode a scipy sparse matrix, one sparse Record per row (values, keys, shape ``[n_columns]``).

    Stored entries are written as they are, explicit zeros included, in the matrix's own index order,
    as the SageMaker SDK writes them.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> m = sp.csr_matrix(np.array([[0, 2.0, 0]], dtype=np.float32))
    >>> len(encode_sparse(m)) % 4
    0
    """
    csr = sp.csr_matrix(features) if not isinstance(features, sp.csr_matrix | sp.csr_array) else features
    n, n_cols = csr.shape
    label_arr = check_labels(labels, n)
    if n == 0:
        return b""
    dtype = resolve_dtype(csr.data, "features")
    indptr = csr.indptr.astype(np.int64, copy=False)
    if n <= _SPARSE_BLOCK_ROWS:
        return _encode_csr_rows(csr.data, csr.indices, indptr, n_cols, label_arr, dtype)
    # Large matrices go in row blocks: each block's working set stays in cache.
    blocks = []
    for lo in range(0, n, _SPARSE_BLOCK_ROWS):
        hi = min(n, lo + _SPARSE_BLOCK_ROWS)
        first, last = int(indptr[lo]), int(indptr[hi])
        block_labels = None if label_arr is None else label_arr[lo:hi]
        blocks.append(
            _encode_csr_rows(
                csr.data[first:last],
                csr.indices[first:last],
                indptr[lo : hi + 1] - first,
                n_cols,
                block_labels,
                dtype,
            )
        )
    return b"".join(blocks)


def _encode_csr_rows(
    data: np.ndarray,
    indices: np.ndarray,
    indptr: np.ndarray,
    n_cols: int,
    labels: np.ndarray | None,
    dtype: np.dtype,
) -> bytes:
    """One sparse Record per row of the CSR arrays (``indptr`` starting at 0)."""
    n = indptr.size - 1
    values = value_runs(data, indptr, n, dtype)
    keys = value_runs(indices.astype(np.uint64), indptr, n, np.dtype(np.uint64))
    shape = np.broadcast_to(np.uint64(n_cols), (n,))
    pieces, _ = tensor_entry(FEATURES_TAG, "values", dtype, values, keys, shape)
    if labels is not None:
        pieces += _label_pieces(labels)
    return assemble(n, pieces)


def encode(features: Any, labels: Any = None) -> bytes:
    """Encode features (dense 2-D array or scipy sparse matrix) and optional labels.

    Parameters
    ----------
    features : numpy.ndarray of shape (n, d), or scipy.sparse matrix
    labels : array-like of shape (n,), optional

    Returns
    -------
    bytes
        A RecordIO-protobuf stream with one Record per row.

    Raises
    ------
    DataFormatError
        Wrong dimensions, unsupported dtypes, or labels that do not match the rows.

    Examples
    --------
    >>> import numpy as np
    >>> from sagespark.formats.decoder import decode
    >>> batch = decode(encode(np.eye(2, dtype=np.float32), np.array([0.0, 1.0])))
    >>> batch.features.tolist(), batch.labels.tolist()
    ([[1.0, 0.0], [0.0, 1.0]], [0.0, 1.0])
    """
    if sp.issparse(features):
        return encode_sparse(features, labels)
    return encode_dense(features, labels)
