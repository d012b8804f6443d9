"""Mini-batches prepared once per shard for sparse FM training: CSR tensors over the batch's own columns.

A factorization-machine step only touches the feature columns present in its mini-batch, so each batch
keeps the sorted global ids of its ``u`` distinct columns and its rows as a ``rows × u`` CSR tensor
``X`` (values ``x``) and ``X∘X`` (values ``x²``), plus their transposes. The forward and backward passes
are then sparse × dense products costing ``O(nnz · k)`` (:mod:`.kernels`), and the optimizer updates
exactly those ``u`` rows of the parameters (never a dense ``feature_dim × k`` sweep). The preparation
runs once, so every epoch reuses it.

Examples
--------
>>> import numpy as np
>>> import scipy.sparse as sp
>>> x = sp.csr_matrix(np.array([[1.0, 0, 2.0], [0, 0, 3.0], [4.0, 0, 0]], dtype=np.float32))
>>> batches = prepare_batches(x, np.array([1.0, 2.0, 3.0]), num_batches=2, device="cpu")
>>> [b.num_rows for b in batches], batches[0].cols.tolist(), batches[0].x.to_dense().tolist()
([2, 1], [0, 2], [[1.0, 2.0], [0.0, 3.0]])
"""

from __future__ import annotations

import warnings
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
    cols : torch.Tensor
        int64, the distinct global feature ids of the batch, sorted (``u`` of them).
    x, x_sq : torch.Tensor
        ``rows × u`` sparse CSR tensors of the values and of their squares.
    xt, xt_sq : torch.Tensor
        Their ``u × rows`` transposes, for the backward pass.
    label : torch.Tensor
        ``rows`` labels.
    """

    cols: torch.Tensor
    x: torch.Tensor
    x_sq: torch.Tensor
    xt: torch.Tensor
    xt_sq: torch.Tensor
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


def _tensor(m: sp.csr_matrix, dtype: torch.dtype, device: str) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "sparse CSR support is in beta"
        return torch.sparse_csr_tensor(
            torch.from_numpy(np.asarray(m.indptr, dtype=np.int64)),
            torch.from_numpy(np.asarray(m.indices, dtype=np.int64)),
            torch.from_numpy(np.asarray(m.data)).to(dtype), size=m.shape, device=device)


def prepare_batches(features: Matrix, label: np.ndarray, *, num_batches: int, device: str,
                    dtype: torch.dtype = torch.float32) -> list[SparseBatch]:
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
        cols, local = np.unique(np.asarray(csr.indices[lo:hi], dtype=np.int64), return_inverse=True)
        values = np.asarray(csr.data[lo:hi], dtype=np.float64)
        x = sp.csr_matrix((values, local.ravel(), indptr[start:stop + 1] - lo),
                          shape=(int(stop - start), len(cols)))
        x_sq = sp.csr_matrix((values * values, x.indices, x.indptr), shape=x.shape)
        out.append(SparseBatch(
            cols=torch.from_numpy(cols).to(device),
            x=_tensor(x, dtype, device),
            x_sq=_tensor(x_sq, dtype, device),
            xt=_tensor(x.T.tocsr(), dtype, device),
            xt_sq=_tensor(x_sq.T.tocsr(), dtype, device),
            label=torch.from_numpy(np.asarray(label[start:stop])).to(device=device, dtype=dtype),
            num_rows=int(stop - start),
        ))
    return out
