"""libsvm text: ``<label> <index>:<value> ...`` per row, indices 1-based and ascending.

Used as an EndpointModel request serializer (as sagemaker-spark's ``LibSVMRequestRowSerializer``) and
accepted by the server as ``text/libsvm``. Requests carry no label; a placeholder ``0`` is written, and
decoding ignores the label column.

Examples
--------
>>> import numpy as np
>>> body = encode_libsvm(np.array([[0.0, 2.5, 0.0, 1.0]], dtype=np.float32))
>>> body
b'0 2:2.5 4:1\\n'
>>> decode_libsvm(body, num_features=4).toarray()
array([[0. , 2.5, 0. , 1. ]], dtype=float32)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sagespark.errors import DataFormatError

__all__ = ["encode_libsvm", "decode_libsvm"]


def encode_libsvm(features: np.ndarray | sp.spmatrix, labels: np.ndarray | None = None) -> bytes:
    """Rows of ``features`` (dense or sparse) as libsvm lines; zeros are left out.

    Parameters
    ----------
    features : ndarray or sparse matrix
        ``(rows, columns)`` features.
    labels : ndarray, optional
        One label per row; ``0`` when omitted (inference requests carry no label).
    """
    csr = sp.csr_matrix(features, dtype=np.float32 if features.dtype == np.float32 else np.float64)
    csr.eliminate_zeros()
    csr.sort_indices()
    fmt = "{:.9g}".format if csr.dtype == np.float32 else repr
    keys = (csr.indices + 1).tolist()
    values = list(map(fmt, csr.data.tolist()))
    pairs = [f"{k}:{v}" for k, v in zip(keys, values)]
    label_text = (
        ["0"] * csr.shape[0] if labels is None else list(map(repr, np.asarray(labels, float).tolist()))
    )
    bounds = csr.indptr.tolist()
    lines = [" ".join([label, *pairs[a:b]]) for label, a, b in zip(label_text, bounds[:-1], bounds[1:])]
    return ("\n".join(lines) + "\n").encode() if lines else b""


def decode_libsvm(body: bytes | str, *, num_features: int | None = None) -> sp.csr_matrix:
    """Parse libsvm lines into a float32 CSR matrix (labels are dropped).

    Parameters
    ----------
    body : bytes or str
        The request body.
    num_features : int, optional
        Matrix width; by default the largest index seen.

    Raises
    ------
    DataFormatError
        Naming the line of a malformed ``index:value`` pair, a non-positive index, or an index beyond
        ``num_features``.
    """
    text = body.decode("utf-8", errors="strict") if isinstance(body, bytes) else body
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise DataFormatError("libsvm body is empty: expected one row per line.")
    indptr = np.zeros(len(lines) + 1, dtype=np.int64)
    keys: list[str] = []
    values: list[str] = []
    for row, (number, line) in enumerate(lines):
        tokens = line.split()
        pairs = tokens[1:] if ":" not in tokens[0] else tokens  # the label may be left out
        for token in pairs:
            key, sep, value = token.partition(":")
            if not sep:
                raise DataFormatError(f"libsvm line {number}: expected index:value, got {token!r}.")
            keys.append(key)
            values.append(value)
        indptr[row + 1] = len(keys)
    try:
        index = np.array(keys, dtype=np.int64) - 1
        data = np.array(values, dtype=np.float32)
    except ValueError:
        raise _diagnose(lines) from None
    if len(index) and index.min() < 0:
        raise _diagnose(lines)
    width = int(index.max()) + 1 if len(index) else 0
    if num_features is not None:
        if width > num_features:
            row = int(np.searchsorted(indptr, int(np.argmax(index >= num_features)), side="right")) - 1
            raise DataFormatError(
                f"libsvm line {lines[row][0]}: index {int(index.max()) + 1} is beyond the "
                f"{num_features} features the model expects."
            )
        width = num_features
    matrix = sp.csr_matrix((data, index, indptr), shape=(len(lines), width))
    matrix.sum_duplicates()
    return matrix


def _diagnose(lines: list[tuple[int, str]]) -> DataFormatError:
    for number, line in lines:
        tokens = line.split()
        for token in tokens[1:] if ":" not in tokens[0] else tokens:
            key, _, value = token.partition(":")
            try:
                if int(key) < 1:
                    return DataFormatError(f"libsvm line {number}: index {key} is not a positive integer.")
                float(value)
            except ValueError:
                return DataFormatError(f"libsvm line {number}: cannot read {token!r} as index:value.")
    return DataFormatError("libsvm body could not be parsed.")
