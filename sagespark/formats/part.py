"""Decoded rows of a subset of records, and how subsets merge into one matrix.

Decoding splits the records of a stream into subsets (records sharing one byte layout, and the rest);
each subset yields a :class:`Part`. :func:`merge_parts` checks the parts agree (one width, labels on
all records or none) and builds the dense array or CSR matrix in record order.

Examples
--------
>>> import numpy as np
>>> part = Part.dense(np.array([1, 0]), np.array([[3.0, 4.0], [1.0, 2.0]]), None)
>>> features, labels = merge_parts([part], 2, lambda i: f"record {i}")
>>> features.tolist(), labels
([[1.0, 2.0], [3.0, 4.0]], None)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sagespark.errors import DataFormatError

__all__ = ["Part", "merge_parts", "expand"]


@dataclass
class Part:
    """Rows ``rows`` (record indices) with their values in row order.

    ``declared`` is each row's width (-1 where a sparse row gives no shape); ``keys`` holds the column
    indices of the rows where ``has_keys``, in order; ``labels[i]`` is meaningful where ``has_label``.
    """

    rows: np.ndarray
    counts: np.ndarray
    values: np.ndarray
    has_keys: np.ndarray
    keys: np.ndarray
    declared: np.ndarray
    sparse: np.ndarray
    has_label: np.ndarray
    labels: np.ndarray

    @classmethod
    def dense(cls, rows: np.ndarray, values: np.ndarray, labels: np.ndarray | None) -> Part:
        """A part of dense rows: ``values`` is ``(m, d)``."""
        m, d = values.shape
        no = np.zeros(m, dtype=bool)
        return cls(
            rows=rows,
            counts=np.full(m, d, dtype=np.int64),
            values=values.reshape(-1),
            has_keys=no,
            keys=np.zeros(0, dtype=np.uint64),
            declared=np.full(m, d, dtype=np.int64),
            sparse=no,
            has_label=no if labels is None else ~no,
            labels=np.zeros(m, dtype=np.float32) if labels is None else labels,
        )


def expand(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Positions ``starts[i] + 0 .. counts[i] - 1`` for every ``i``, concatenated."""
    total = int(counts.sum())
    local = np.zeros(counts.size, dtype=np.int64)
    np.cumsum(counts[:-1], out=local[1:])
    index = np.repeat(starts - local, counts)
    index += np.arange(total, dtype=np.int64)
    return index


def _scatter(n: int, parts: list[Part], name: str, dtype: np.dtype | type) -> np.ndarray:
    out = np.empty(n, dtype=dtype)
    with np.errstate(invalid="ignore"):  # widening a signalling NaN is not an error
        for part in parts:
            out[part.rows] = getattr(part, name)
    return out


def merge_parts(
    parts: list[Part], n: int, where: Callable[[int], str]
) -> tuple[np.ndarray | sp.csr_matrix, np.ndarray | None]:
    """Features and labels of ``n`` records from parts that together cover each record once.

    Raises
    ------
    DataFormatError
        Records of different widths, keys outside the width, or labels on only some records.
    """
    parts = [part for part in parts if part.rows.size]
    declared = _scatter(n, parts, "declared", np.int64)
    known = np.flatnonzero(declared >= 0)
    n_cols = int(declared[known[0]]) if known.size else -1
    differ = known[declared[known] != n_cols]
    if differ.size:
        i = int(differ[0])
        raise DataFormatError(
            f"{where(i)} has {int(declared[i])} columns but {where(int(known[0]))} has {n_cols}; "
            "every record must have the same width."
        )
    has_label = _scatter(n, parts, "has_label", bool)
    labels = None
    if has_label.any():
        if not has_label.all():
            i, j = int(np.flatnonzero(~has_label)[0]), int(np.flatnonzero(has_label)[0])
            raise DataFormatError(
                f"{where(i)} has no label but {where(j)} has one; expected labels on all or none."
            )
        labels = _scatter(n, parts, "labels", np.result_type(*[p.labels.dtype for p in parts]))
    dtype = np.result_type(*[part.values.dtype for part in parts])
    whole = len(parts) == 1 and np.array_equal(parts[0].rows, np.arange(n))
    sparse = _scatter(n, parts, "sparse", bool).any()
    if not sparse and whole:
        return parts[0].values.astype(dtype, copy=False).reshape(n, max(n_cols, 0)), labels
    counts = _scatter(n, parts, "counts", np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    values = np.empty(int(indptr[-1]), dtype=dtype)
    positions = [expand(indptr[part.rows], part.counts) for part in parts]
    with np.errstate(invalid="ignore"):
        for part, pos in zip(parts, positions):
            values[pos] = part.values
    if not sparse:
        return values.reshape(n, max(n_cols, 0)), labels
    indices = np.empty(values.size, dtype=np.int64)
    for part, pos in zip(parts, positions):
        is_key = np.repeat(part.has_keys, part.counts)
        indices[pos[is_key]] = part.keys.astype(np.int64)
        dense_pos = pos[~is_key]
        # Dense rows in a sparse batch: their values are columns 0 .. count-1.
        indices[dense_pos] = dense_pos - np.repeat(
            indptr[part.rows[~part.has_keys]], part.counts[~part.has_keys]
        )
    if n_cols < 0:
        n_cols = int(indices.max()) + 1 if indices.size else 0
    bad = np.flatnonzero((indices >= n_cols) | (indices < 0))
    if bad.size:
        row = int(np.searchsorted(indptr, bad[0], side="right") - 1)
        raise DataFormatError(f"{where(row)}: key {int(indices[bad[0]])} is outside the shape [{n_cols}].")
    index_dtype = np.int32 if max(n_cols, values.size) < (1 << 31) else np.int64
    features = sp.csr_matrix(
        (values, indices.astype(index_dtype), indptr.astype(index_dtype)), shape=(n, n_cols)
    )
    return features, labels
