"""Lazy (row-sparse) Adam for the FM parameters, with SageMaker/MXNet gradient handling.

SageMaker's Factorization Machines expose MXNet optimizer arguments (``clip_gradient``, ``eps``,
``rescale_grad``) and per-group learning rates whose defaults (0.1 / 0.001 / 0.0001) are Adam-sized,
so the update is MXNet's Adam with ``lazy_update``: only the rows present in the (global) mini-batch
move, and for those rows

    g = clip(rescale · G, clip_gradient) + wd · θ
    m = β1 m + (1 − β1) g;   v = β2 v + (1 − β2) g²
    θ = θ − lr · √(1 − β2^t) / (1 − β1^t) · m / (√v + eps)

with ``G`` the gradient summed over the global mini-batch and ``rescale = 1 / rows`` unless
``rescale_grad`` is set. The bias, linear and factor groups have their own ``lr`` and ``wd``.

Examples
--------
>>> import torch
>>> opt = SparseAdam(lr=torch.tensor([0.1, 0.1]), wd=torch.tensor([0.0, 0.0]), eps=1e-8, clip=None)
>>> table = torch.zeros((3, 2))
>>> m, v = torch.zeros_like(table), torch.zeros_like(table)
>>> opt.step_rows(table, m, v, torch.tensor([1]), torch.tensor([[2.0, -2.0]]), step=1, scale=1.0)
>>> [round(t, 6) for t in table[1].tolist()]   # Adam's first step moves by lr against the sign
[-0.1, 0.1]
"""

from __future__ import annotations

import math

import torch

__all__ = ["SparseAdam", "BETA1", "BETA2"]

BETA1 = 0.9
BETA2 = 0.999


class SparseAdam:
    """Adam over selected rows of a parameter table, with one ``lr`` / ``wd`` per column.

    Parameters
    ----------
    lr, wd : torch.Tensor
        Per-column learning rate and weight decay (broadcast over rows).
    eps : float
        Added to ``√v``.
    clip : float or None
        Gradient clipping bound (after rescaling, before weight decay), or ``None``.
    """

    def __init__(self, lr: torch.Tensor, wd: torch.Tensor, eps: float, clip: float | None) -> None:
        self.lr, self.wd, self.eps, self.clip = lr, wd, eps, clip

    def step_rows(self, table: torch.Tensor, m: torch.Tensor, v: torch.Tensor, rows: torch.Tensor,
                  grad: torch.Tensor, *, step: int, scale: float) -> None:
        """Update ``table[rows]`` (and its moments ``m``, ``v``) in place from the summed ``grad``."""
        g = grad * scale
        if self.clip is not None:
            g = g.clamp(-self.clip, self.clip)
        theta = table[rows]
        g = g + self.wd * theta
        m_rows = m[rows].mul_(BETA1).add_(g, alpha=1.0 - BETA1)
        v_rows = v[rows].mul_(BETA2).addcmul_(g, g, value=1.0 - BETA2)
        correction = math.sqrt(1.0 - BETA2 ** step) / (1.0 - BETA1 ** step)
        theta -= (self.lr * correction) * m_rows / (v_rows.sqrt() + self.eps)
        m[rows] = m_rows
        v[rows] = v_rows
        table[rows] = theta
