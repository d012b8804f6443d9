"""The FM forward and backward passes on one sparse mini-batch, in ``O(nnz · k)``.

The linear weights and the factors live in one table ``P = [w | V]`` (``feature_dim × (1 + k)``); a
step gathers the rows ``P_u`` of the batch's ``u`` distinct features once. The pairwise term uses
Rendle's identity

    Σ_{i<j} <v_i, v_j> x_i x_j = ½ Σ_f [ (Σ_i v_if x_i)² − Σ_i v_if² x_i² ],

which over a batch is two sparse × dense products: ``S = X P_u`` and ``Q = (X∘X)(V_u∘V_u)``.
Gradients are written out by hand (no autograd graph per step): for a row with loss gradient ``g`` and
``s_f = Σ_i v_if x_i``,

    ∂/∂w0 = Σ g,   ∂/∂w_i = Σ g x_i,   ∂/∂v_if = Σ g x_i s_f − v_if Σ g x_i²,

i.e. ``Xᵀ (g ∘ S)`` and ``(X∘X)ᵀ g``, two more sparse products.

Examples
--------
>>> import numpy as np, scipy.sparse as sp, torch
>>> from sagespark.algorithms.factorization_machines.batches import prepare_batches
>>> x = sp.csr_matrix(np.array([[1.0, 2.0]], dtype=np.float32))
>>> b = prepare_batches(x, np.zeros(1), num_batches=1, device="cpu")[0]
>>> table = torch.tensor([[1.0, 1.0, 0.0], [1.0, 3.0, 1.0]])   # rows [w_i, v_i1, v_i2]
>>> forward(b, 0.5, table)[0].tolist()                        # 0.5 + (1 + 2) + 1·2·<v_0, v_1>
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
    scores, sums, rows : torch.Tensor
        ``scores`` (rows); ``sums`` = ``X P_u`` (rows × (1 + k): the linear part in column 0, ``s_f``
        after it) and the gathered table rows ``P_u`` (u × (1 + k)), both kept for :func:`backward`.
    """
    rows = table[batch.cols]
    sums = batch.x @ rows
    v = rows[:, 1:]
    squares = batch.x_sq @ (v * v)
    s = sums[:, 1:]
    scores = w0 + sums[:, 0] + 0.5 * (s * s - squares).sum(dim=1)
    return scores, sums, rows


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


def backward(batch: SparseBatch, grad: torch.Tensor, sums: torch.Tensor, rows: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed gradients: the bias (scalar) and the table rows of the batch's columns (u × (1 + k))."""
    weighted = grad[:, None] * sums
    weighted[:, 0] = grad  # the linear column: Σ g x_i
    out = batch.xt @ weighted
    out[:, 1:] -= rows[:, 1:] * (batch.xt_sq @ grad[:, None])
    return grad.sum(), out
