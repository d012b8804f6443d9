"""A shard laid out once for FM training: shuffled CSR rows split into contiguous mini-batches.

The compiled step (:mod:`.fused`) reads a batch straight from the shard's CSR arrays, so preparing
the batches is one shuffle and one ``linspace`` of row bounds; no per-batch copies.

Examples
--------
>>> import numpy as np
>>> import scipy.sparse as sp
>>> x = sp.csr_matrix(np.array([[1.0, 0, 2.0], [0, 0, 3.0], [4.0, 0, 0]], dtype=np.float32))
>>> shard = shard_batches(x, np.array([1.0, 2.0, 3.0]), num_batches=2, order=np.arange(3))
>>> shard.bounds.tolist(), shard.capacity
([0, 2, 3], 3)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Matrix

__all__ = ["ShardBatches", "shard_batches", "to_csr"]


@dataclass(frozen=True)
class ShardBatches:
    """A shard's rows in training order and the row bounds of its mini-batches.

    Attributes
    ----------
    indptr, indices, data : numpy.ndarray
        The CSR arrays (int64 row pointers, int32 column ids, float32 values).
    label : numpy.ndarray
        float64 labels, one per row.
    bounds : numpy.ndarray
        ``num_batches + 1`` row offsets; batch ``b`` is rows ``[bounds[b], bounds[b + 1])`` (possibly
        empty when the shard has fewer rows than batches).
    """

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    label: np.ndarray
    bounds: np.ndarray

    @property
    def capacity(self) -> int:
        """The most non-zeros of any batch: a bound on the distinct features it touches."""
        nnz = np.diff(self.indptr[self.bounds])
        return int(nnz.max()) if nnz.size else 0


def to_csr(features: Matrix) -> sp.csr_matrix:
    """CSR float32 view of a dense or sparse shard (dense rows keep only their non-zeros)."""
    if sp.issparse(features):
        csr = sp.csr_matrix(features, dtype=np.float32)
    else:
        csr = sp.csr_matrix(np.asarray(features, dtype=np.float32))
    csr.sum_duplicates()  # also sorts the indices of every row
    return csr


def shard_batches(features: Matrix | None, label: np.ndarray, *, num_batches: int,
                  order: np.ndarray) -> ShardBatches:
    """The rows ``order`` of a shard (``None``: no rows) split into ``num_batches`` nearly equal batches.

    Every rank passes the same ``num_batches`` so that all ranks take the same number of synchronous
    steps per epoch even when their shards differ in size.
    """
    csr = to_csr(features[order] if features is not None else sp.csr_matrix((0, 0), dtype=np.float32))
    n = int(csr.shape[0])
    bounds = np.linspace(0, n, num_batches + 1).round().astype(np.int64)
    return ShardBatches(
        indptr=np.asarray(csr.indptr, dtype=np.int64),
        indices=np.asarray(csr.indices, dtype=np.int32),
        data=np.asarray(csr.data, dtype=np.float32),
        label=np.ascontiguousarray(label[order] if n else np.zeros(0), dtype=np.float64),
        bounds=bounds,
    )
