"""The FM forward and backward passes on one sparse mini-batch, in ``O(nnz · k)``.

The linear weights and the factors live in one table ``P = [w | V]`` (``feature_dim × (1 + k)``), so a
step gathers each present feature's row once. The pairwise term uses Rendle's identity

    Σ_{i<j} <v_i, v_j> x_i x_j = ½ Σ_f [ (Σ_i v_if x_i)² − Σ_i v_if² x_i² ],

so a row costs one gather of its non-zero features' rows and scatter-adds over its non-zeros.
Gradients are written out by hand (no autograd graph per step): for a row with loss gradient ``g`` and
``s_f = Σ_i v_if x_i``,

    ∂/∂w0 = g,   ∂/∂w_i = g x_i,   ∂/∂v_if = g x_i (s_f − v_if x_i).

Examples
--------
>>> import numpy as np, scipy.sparse as sp, torch
>>> from sagespark.algorithms.factorization_machines.batches import prepare_batches
>>> x = sp.csr_matrix(np.array([[1.0, 2.0]], dtype=np.float32))
>>> b = prepare_batches(x, np.zeros(1), num_batches=1, device="cpu")[0]
>>> table = torch.tensor([[1.0, 1.0, 0.0], [1.0, 3.0, 1.0]])   # rows [w_i, v_i1, v_i2]
>>> forward(b, torch.tensor(0.5), table)[0].tolist()          # 0.5 + (1 + 2) + 1·2·<v_0, v_1>
[9.5]
"""

from __future__ import annotations

import torch

from sagespark.algorithms.factorization_machines.batches import SparseBatch

__all__ = ["forward", "backward", "loss_gradient"]


def forward(batch: SparseBatch, w0: float | torch.Tensor, table: torch.Tensor
            ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Raw scores (before any link function) of the batch's rows.

    Returns
    -------
    scores, sums, xp : torch.Tensor
        ``scores`` (rows); ``sums`` = ``Σ_i P_i x_i`` per row (rows × (1 + k): the linear part in
        column 0, ``s_f`` after it) and the per-value products ``P_i x_i`` (nnz × (1 + k)), the last
        two kept for :func:`backward`.
    """
    x = batch.values
    xp = table[batch.features] * x[:, None]
    sums = torch.zeros((batch.num_rows, table.shape[1]), dtype=table.dtype, device=table.device)
    sums.index_add_(0, batch.rows, xp)
    xv = xp[:, 1:]
    squares = torch.zeros((batch.num_rows, xv.shape[1]), dtype=table.dtype, device=table.device)
    squares.index_add_(0, batch.rows, xv * xv)
    s = sums[:, 1:]
    scores = w0 + sums[:, 0] + 0.5 * (s * s - squares).sum(dim=1)
    return scores, sums, xp


def loss_gradient(scores: torch.Tensor, label: torch.Tensor, predictor_type: str
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row gradient of the loss w.r.t. the raw score, and the summed loss of the batch.

    Regressor: squared error ``½(ŷ − y)²`` (the summed loss returned is ``Σ(ŷ − y)²``, for RMSE).
    Binary classifier: log loss on ``sigmoid(ŷ)``.
    """
    if predictor_type == "regressor":
        diff = scores - label
        return diff, (diff * diff).sum()
    loss = torch.nn.functional.binary_cross_entropy_with_logits(scores, label, reduction="sum")
    return torch.sigmoid(scores) - label, loss


def backward(batch: SparseBatch, grad: torch.Tensor, sums: torch.Tensor, xp: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed gradients: the bias (scalar) and the table rows of the batch's columns (u × (1 + k))."""
    gx = grad[batch.rows] * batch.values
    # Column 0 (linear): g x_i. Columns 1.. (factors): g x_i (s_f − v_if x_i).
    per_value = sums[batch.rows] - xp
    per_value[:, 0] = 1.0
    per_value *= gx[:, None]
    rows = torch.zeros((int(batch.cols.shape[0]), xp.shape[1]), dtype=xp.dtype, device=xp.device)
    rows.index_add_(0, batch.local, per_value)
    return grad.sum(), rows
