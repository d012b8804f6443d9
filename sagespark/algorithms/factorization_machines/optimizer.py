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

A table's parameters and both moments sit side by side in one ``rows × 3w`` tensor, so a step is one
gather and one scatter of the touched rows.

Examples
--------
>>> import torch
>>> opt = SparseAdam(lr=torch.tensor([0.1, 0.1]), wd=torch.tensor([0.0, 0.0]), eps=1e-8, clip=None)
>>> state = torch.zeros((3, 6))                     # [θ | m | v] for 3 rows of width 2
>>> opt.step_rows(state, torch.tensor([1]), torch.tensor([[2.0, -2.0]]), step=1, scale=1.0)
>>> [round(t, 6) for t in state[1, :2].tolist()]   # Adam's first step moves by lr against the sign
[-0.1, 0.1]
"""

from __future__ import annotations

import math

import torch

__all__ = ["SparseAdam", "ScalarAdam", "BETA1", "BETA2"]

BETA1 = 0.9
BETA2 = 0.999


def _correction(step: int) -> float:
    return math.sqrt(1.0 - BETA2 ** step) / (1.0 - BETA1 ** step)


class SparseAdam:
    """Adam over selected rows of a ``[θ | m | v]`` state table, with one ``lr`` / ``wd`` per column.

    Parameters
    ----------
    lr, wd : torch.Tensor
        Per-column learning rate and weight decay (length ``w``, broadcast over rows).
    eps : float
        Added to ``√v``.
    clip : float or None
        Gradient clipping bound (after rescaling, before weight decay), or ``None``.
    """

    def __init__(self, lr: torch.Tensor, wd: torch.Tensor, eps: float, clip: float | None) -> None:
        self.lr, self.wd, self.eps, self.clip = lr, wd, eps, clip

    def step_rows(self, state: torch.Tensor, rows: torch.Tensor, grad: torch.Tensor, *, step: int,
                  scale: float) -> None:
        """Update ``state[rows]`` in place from the summed gradient ``grad`` (``len(rows) × w``)."""
        w = grad.shape[1]
        block = state[rows]
        theta, m, v = block[:, :w], block[:, w:2 * w], block[:, 2 * w:]
        g = grad * scale
        if self.clip is not None:
            g.clamp_(-self.clip, self.clip)
        g.add_(self.wd * theta)
        m.mul_(BETA1).add_(g, alpha=1.0 - BETA1)
        v.mul_(BETA2).addcmul_(g, g, value=1.0 - BETA2)
        theta.sub_((self.lr * _correction(step)) * m / (v.sqrt() + self.eps))
        state[rows] = block


class ScalarAdam:
    """The same update for the single global bias, in plain floats (no tensor overhead per step)."""

    def __init__(self, lr: float, wd: float, eps: float, clip: float | None) -> None:
        self.lr, self.wd, self.eps, self.clip = lr, wd, eps, clip
        self.m = self.v = 0.0

    def step(self, theta: float, grad: float, *, step: int, scale: float) -> float:
        """The updated value of ``theta``."""
        g = grad * scale
        if self.clip is not None:
            g = min(max(g, -self.clip), self.clip)
        g += self.wd * theta
        self.m = BETA1 * self.m + (1.0 - BETA1) * g
        self.v = BETA2 * self.v + (1.0 - BETA2) * g * g
        return theta - self.lr * _correction(step) * self.m / (math.sqrt(self.v) + self.eps)
