"""Adam for the rows of a large embedding table that a step touches ("lazy" Adam).

A dense Adam step would read and write the whole ``num_entity_vectors × vector_dim`` table (and its two
moment tables) every mini-batch, although a batch touches only the rows of its entities. This one
updates the touched rows only, with the same moment formulas, bias correction by the global step and
L2 weight decay added to the gradient, as ``torch.optim.Adam(weight_decay=...)`` does.

Examples
--------
>>> import torch
>>> table = torch.zeros(4, 2)
>>> opt = RowAdam(table, lr=0.1, weight_decay=0.0)
>>> opt.step(torch.tensor([1]), torch.tensor([[1.0, -1.0]]))
>>> table[1].tolist(), table[0].tolist()
([-0.10000000149011612, 0.10000000149011612], [0.0, 0.0])
"""

from __future__ import annotations

import torch

__all__ = ["RowAdam"]


class RowAdam:
    """Adam over selected rows of ``table`` (updated in place).

    Parameters
    ----------
    table : torch.Tensor
        The embedding table (``rows × dim``).
    lr, weight_decay : float
        Learning rate and L2 coefficient.
    betas, eps : as in :class:`torch.optim.Adam`.
    """

    def __init__(self, table: torch.Tensor, *, lr: float, weight_decay: float,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.table = table
        self.lr, self.weight_decay, self.eps = lr, weight_decay, eps
        self.beta1, self.beta2 = betas
        self.m = torch.zeros_like(table)
        self.v = torch.zeros_like(table)
        self.t = 0

    @torch.no_grad()
    def step(self, rows: torch.Tensor, grad: torch.Tensor) -> None:
        """Apply one step to ``rows`` (unique int64 indices) with their gradients (``len(rows) × dim``)."""
        self.t += 1
        if rows.numel() == 0:
            return
        if self.weight_decay:
            grad = grad + self.weight_decay * self.table[rows]
        m = self.m[rows].mul_(self.beta1).add_(grad, alpha=1.0 - self.beta1)
        v = self.v[rows].mul_(self.beta2).addcmul_(grad, grad, value=1.0 - self.beta2)
        self.m[rows] = m
        self.v[rows] = v
        m_hat = m / (1.0 - self.beta1**self.t)
        v_hat = v / (1.0 - self.beta2**self.t)
        self.table[rows] -= self.lr * m_hat / (v_hat.sqrt() + self.eps)
