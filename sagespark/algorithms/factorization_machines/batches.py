"""Mini-batches prepared once per shard for sparse FM training: COO triples over the batch's own columns.

A factorization-machine step only touches the feature columns present in its mini-batch, so each batch
is stored as ``(row, local column, value)`` triples plus the sorted global ids of its columns. The
forward and backward passes then gather and scatter ``O(nnz · k)`` values, and the optimizer updates
exactly those rows of the parameters (never a dense ``feature_dim × k`` sweep). The preparation runs
once, so every epoch reuses it.

Examples
--------
>>> import numpy as np
>>> import scipy.sparse as sp
>>> x = sp.csr_matrix(np.array([[1.0, 0, 2.0], [0, 0, 3.0], [4.0, 0, 0]], dtype=np.float32))
>>> batches = prepare_batches(x, np.array([1.0, 2.0, 3.0]), num_batches=2, device="cpu")
>>> [b.num_rows for b in batches], batches[0].cols.tolist(), batches[0].local.tolist()
([2, 1], [0, 2], [0, 1, 1])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from sagespark.algorithms.base import Matrix

__all__ = ["SparseBatch", "prepare_batches", "to_csr"]


@dataclass
class SparseBatch:
    """One mini-batch as torch tensors on the training device.

    Attributes
    ----------
    rows : torch.Tensor
        int64, ``nnz``: the row (within the batch) of every stored value.
    local : torch.Tensor
        int64, ``nnz``: the position of every value's column in :attr:`cols`.
    values : torch.Tensor
        float32, ``nnz``: the feature values.
    cols : torch.Tensor
        int64, the distinct global feature ids of the batch, sorted.
    features : torch.Tensor
        int64, ``nnz``: the global feature id of every value (``cols[local]``), for one-step gathers.
    label : torch.Tensor
        float32, ``num_rows``.
    """

    rows: torch.Tensor
    local: torch.Tensor
    values: torch.Tensor
    cols: torch.Tensor
    features: torch.Tensor
    label: torch.Tensor
    num_rows: int


def to_csr(features: Matrix) -> sp.csr_matrix:
    """CSR float32 view of a dense or sparse shard (dense rows keep only their non-zeros)."""
    if sp.issparse(features):
        csr = sp.csr_matrix(features, dtype=np.float32)
    else:
        csr = sp.csr_matrix(np.asarray(features, dtype=np.float32))
    csr.sum_duplicates()  # also sorts the indices of every row
    return csr


def prepare_batches(features: Matrix, label: np.ndarray, *, num_batches: int, device: str
                    ) -> list[SparseBatch]:
    """Split a shard into ``num_batches`` nearly equal contiguous batches (empty ones dropped).

    Every rank is given the same ``num_batches`` so that all ranks take the same number of
    synchronous steps per epoch even when their shards differ in size.
    """
    csr = to_csr(features)
    n = int(csr.shape[0])
    bounds = np.linspace(0, n, num_batches + 1).round().astype(np.int64) if n else np.zeros(1, np.int64)
    indptr = np.asarray(csr.indptr, dtype=np.int64)
    out: list[SparseBatch] = []
    for start, stop in zip(bounds[:-1], bounds[1:]):
        if stop <= start:
            continue
        lo, hi = int(indptr[start]), int(indptr[stop])
        counts = np.diff(indptr[start:stop + 1])
        rows = np.repeat(np.arange(stop - start, dtype=np.int64), counts)
        ids = np.asarray(csr.indices[lo:hi], dtype=np.int64)
        cols, local = np.unique(ids, return_inverse=True)
        out.append(SparseBatch(
            rows=torch.from_numpy(rows).to(device),
            local=torch.from_numpy(local.astype(np.int64)).to(device),
            values=torch.from_numpy(np.ascontiguousarray(csr.data[lo:hi], dtype=np.float32)).to(device),
            cols=torch.from_numpy(cols).to(device),
            features=torch.from_numpy(ids).to(device),
            label=torch.from_numpy(np.asarray(label[start:stop], dtype=np.float32)).to(device),
            num_rows=int(stop - start),
        ))
    return out
