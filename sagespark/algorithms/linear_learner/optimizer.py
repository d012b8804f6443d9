"""SGD (with momentum), Adam and RMSProp over one tensor holding every parallel model's weights.

Each column of the ``(feature_dim, num_models × classes)`` weight tensor belongs to one model, so the
learning rate, L2 and L1 weights are per-column vectors broadcast over the rows: one update moves every
model. For sparse batches only the rows of the features present in the batch are touched ("lazy" updates,
as TensorFlow's LazyAdam), so a step costs O(features in the batch), not O(feature_dim).

Examples
--------
>>> import torch
>>> w = torch.zeros(2, 3)
>>> opt = MultiOptimizer("sgd", w.shape, momentum=0.0)
>>> opt.step(w, torch.ones(2, 3), lr=torch.full((3,), 0.5), wd=torch.zeros(3), l1=torch.zeros(3))
>>> w[0].tolist()
[-0.5, -0.5, -0.5]
"""

from __future__ import annotations

import torch

__all__ = ["MultiOptimizer"]

_EPS = 1e-8
_RMSPROP_DECAY = 0.9


class MultiOptimizer:
    """Optimizer state for one parameter tensor (weights ``(d, columns)`` or bias ``(columns,)``)."""

    def __init__(
        self,
        kind: str,
        shape: torch.Size | tuple[int, ...],
        *,
        momentum: float = 0.0,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        device: torch.device | str = "cpu",
    ) -> None:
        self.kind, self.momentum, self.beta_1, self.beta_2 = kind, momentum, beta_1, beta_2
        self.first = torch.zeros(shape, device=device)
        self.second = torch.zeros(shape, device=device) if kind in ("adam", "rmsprop") else None
        self.t = 0

    def step(
        self,
        param: torch.Tensor,
        grad: torch.Tensor,
        *,
        lr: torch.Tensor,
        wd: torch.Tensor,
        l1: torch.Tensor,
        rows: torch.Tensor | None = None,
    ) -> None:
        """Apply one update in place. ``grad`` covers ``param[rows]`` when ``rows`` is given.

        ``wd`` adds L2 (``grad += wd · w``); ``l1`` is applied as a proximal soft-threshold after the step,
        which sets small weights exactly to zero, as L1 should.
        """
        self.t += 1
        w = param if rows is None else param[rows]
        g = grad + wd * w
        first = self.first if rows is None else self.first[rows]
        if self.kind == "sgd":
            first = self.momentum * first + g if self.momentum > 0 else g
            update = first
        elif self.kind == "adam":
            assert self.second is not None
            second = self.second if rows is None else self.second[rows]
            first = self.beta_1 * first + (1.0 - self.beta_1) * g
            second = self.beta_2 * second + (1.0 - self.beta_2) * g * g
            m_hat = first / (1.0 - self.beta_1**self.t)
            v_hat = second / (1.0 - self.beta_2**self.t)
            update = m_hat / (v_hat.sqrt() + _EPS)
            self._store(self.second, second, rows)
        else:  # rmsprop
            assert self.second is not None
            second = self.second if rows is None else self.second[rows]
            second = _RMSPROP_DECAY * second + (1.0 - _RMSPROP_DECAY) * g * g
            update = g / (second.sqrt() + _EPS)
            self._store(self.second, second, rows)
        self._store(self.first, first, rows)
        w = w - lr * update
        if bool((l1 > 0).any()):
            w = torch.sign(w) * (w.abs() - lr * l1).clamp_min(0.0)
        self._store(param, w, rows)

    @staticmethod
    def _store(target: torch.Tensor, value: torch.Tensor, rows: torch.Tensor | None) -> None:
        if rows is None:
            if value is not target:
                target.copy_(value)
        else:
            target[rows] = value
