"""Normalisation statistics and the forward/backward products of one mini-batch, dense or CSR.

The statistics come from a first cheap pass over ``num_point_for_scaler`` rows (split over the ranks and
summed with one allreduce). Batches are normalised on the fly: dense rows as ``(x - mean) / std``, CSR rows
by scaling their stored values (never centred, so they stay sparse). A CSR batch multiplies only the weight
rows of the features it holds, through a ``torch.sparse`` product, so millions of features cost nothing
until a row uses them.

Examples
--------
>>> import numpy as np, torch
>>> scaler = Scaler(np.zeros(2), np.ones(2), 0.0, 1.0)
>>> batch = prepare(np.array([[1.0, 2.0]], dtype=np.float32), scaler, torch.device("cpu"))
>>> batch.forward(torch.ones(2, 1), torch.zeros(1)).tolist()
[[3.0]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from sagespark.algorithms.base import Matrix
from sagespark.distributed.context import TrainContext

__all__ = ["Scaler", "compute_scaler", "prepare", "Prepared"]


@dataclass
class Scaler:
    """Feature mean and inverse standard deviation, label mean and standard deviation."""

    mean: np.ndarray
    inv_std: np.ndarray
    label_mean: float
    label_std: float


def compute_scaler(
    ctx: TrainContext,
    features: Matrix | None,
    label: np.ndarray | None,
    dim: int,
    *,
    points: int,
    normalize: bool,
    unbias: bool,
    normalize_label: bool,
    unbias_label: bool,
) -> Scaler:
    """Statistics of the first ``points`` rows (over all ranks), summed with one allreduce."""
    take = math.ceil(points / max(ctx.world_size, 1))
    n = 0 if features is None else min(int(features.shape[0]), take)
    sums = np.zeros(2 * dim + 3)
    if n and features is not None:
        part = features[:n]
        if sp.issparse(part):
            csr = sp.csr_matrix(part)
            sums[:dim] = np.asarray(csr.sum(axis=0), dtype=np.float64).ravel()
            sums[dim : 2 * dim] = np.asarray(csr.multiply(csr).sum(axis=0), dtype=np.float64).ravel()
        else:
            block = np.asarray(part, dtype=np.float64)
            sums[:dim] = block.sum(axis=0)
            sums[dim : 2 * dim] = (block * block).sum(axis=0)
        y = np.asarray(label[:n], dtype=np.float64) if label is not None else np.zeros(n)
        sums[2 * dim :] = (float(n), float(y.sum()), float((y * y).sum()))
    total = ctx.allreduce(sums)
    count = max(total[2 * dim], 1.0)
    mean = total[:dim] / count
    var = np.maximum(total[dim : 2 * dim] / count - mean * mean, 0.0)
    std = np.sqrt(var)
    # A constant column (or one never seen in the sample) keeps unit scale instead of dividing by zero.
    inv_std = np.where(std > 1e-8, 1.0 / np.where(std > 1e-8, std, 1.0), 1.0) if normalize else np.ones(dim)
    y_mean = total[2 * dim + 1] / count
    y_std = math.sqrt(max(total[2 * dim + 2] / count - y_mean * y_mean, 0.0))
    return Scaler(
        mean=mean if (normalize and unbias) else np.zeros(dim),
        inv_std=inv_std,
        label_mean=y_mean if unbias_label else 0.0,
        label_std=y_std if (normalize_label and y_std > 1e-12) else 1.0,
    )


class Prepared:
    """One normalised mini-batch, ready for ``forward`` (scores) and ``backward`` (weight gradient)."""

    def __init__(
        self, dense: torch.Tensor | None, sparse: torch.Tensor | None, rows: torch.Tensor | None
    ) -> None:
        self.dense, self.sparse, self.rows = dense, sparse, rows

    @property
    def num_rows(self) -> int:
        x = self.dense if self.dense is not None else self.sparse
        assert x is not None
        return int(x.shape[0])

    def forward(self, weights: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        """Scores ``(rows, columns)`` = normalised batch × weights + bias."""
        if self.dense is not None:
            return torch.addmm(bias, self.dense, weights)
        assert self.sparse is not None and self.rows is not None
        return torch.sparse.mm(self.sparse, weights[self.rows]) + bias

    def backward(self, grad_scores: torch.Tensor) -> torch.Tensor:
        """The weight gradient (all rows for dense batches, ``self.rows`` for sparse ones)."""
        if self.dense is not None:
            return self.dense.T @ grad_scores
        assert self.sparse is not None
        return torch.sparse.mm(self.sparse.t(), grad_scores)


def prepare(
    part: Matrix,
    scaler: Scaler,
    device: torch.device,
    *,
    mean_t: torch.Tensor | None = None,
    inv_t: torch.Tensor | None = None,
) -> Prepared:
    """Normalise one batch of rows (float32) for the products of :class:`Prepared`."""
    if sp.issparse(part):
        csr = sp.csr_matrix(part)
        if not csr.has_canonical_format:  # the COO product below needs sorted, duplicate-free indices
            csr = csr.copy()
            csr.sum_duplicates()
        cols, local = np.unique(csr.indices, return_inverse=True)
        values = (csr.data * scaler.inv_std[csr.indices]).astype(np.float32)
        row_ids = np.repeat(np.arange(csr.shape[0]), np.diff(csr.indptr))
        index = torch.from_numpy(np.vstack([row_ids, local.ravel()]).astype(np.int64))
        x = torch.sparse_coo_tensor(
            index,
            torch.from_numpy(values),
            (csr.shape[0], len(cols)),
            is_coalesced=True,
            check_invariants=False,
        ).to(device)
        return Prepared(None, x, torch.from_numpy(cols.astype(np.int64)).to(device))
    dense = torch.from_numpy(np.ascontiguousarray(part, dtype=np.float32)).to(device)
    if mean_t is None:
        mean_t = torch.from_numpy(scaler.mean.astype(np.float32)).to(device)
    if inv_t is None:
        inv_t = torch.from_numpy(scaler.inv_std.astype(np.float32)).to(device)
    return Prepared((dense - mean_t) * inv_t, None, None)
