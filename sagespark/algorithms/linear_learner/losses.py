"""Linear Learner's loss functions and their derivatives, for many models at once.

Scores arrive as a ``(rows, models, classes)`` tensor, so one call evaluates every parallel model. The
derivatives are written out by hand (no autograd): a linear model's gradient is ``Xᵀ · dL/dscore``, and the
per-score derivative is all a loss has to give.

Examples
--------
>>> import torch
>>> p = LossParams()
>>> loss, grad = loss_and_grad("logistic", torch.zeros(2, 1, 1), torch.tensor([0.0, 1.0]), p)
>>> [round(v, 4) for v in loss[:, 0].tolist()], [round(v, 2) for v in grad[:, 0, 0].tolist()]
([0.6931, 0.6931], [0.5, -0.5])
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["LossParams", "loss_and_grad", "LOSSES"]

LOSSES = (
    "logistic",
    "hinge_loss",
    "softmax_loss",
    "squared_loss",
    "absolute_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "quantile_loss",
    "huber_loss",
)


@dataclass(frozen=True)
class LossParams:
    """The constants of the losses (in the units of the label the loss sees)."""

    margin: float = 1.0
    insensitivity: float = 0.01
    quantile: float = 0.5
    huber_delta: float = 1.0


def loss_and_grad(
    name: str, scores: torch.Tensor, label: torch.Tensor, p: LossParams
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row, per-model loss ``(rows, models)`` and ``dloss/dscore`` ``(rows, models, classes)``.

    ``label`` holds 0/1 for binary losses, class indices for ``softmax_loss`` and targets otherwise.
    """
    if name == "softmax_loss":
        log_p = torch.log_softmax(scores, dim=2)
        index = label.long().view(-1, 1, 1).expand(-1, scores.shape[1], 1)
        loss = -log_p.gather(2, index)[:, :, 0]
        grad = log_p.exp()
        grad.scatter_add_(2, index, torch.full_like(index, -1, dtype=grad.dtype))
        return loss, grad
    s = scores[:, :, 0]
    if name in ("logistic", "hinge_loss"):
        sign = (2.0 * label - 1.0).to(s.dtype)[:, None]
        z = sign * s
        if name == "logistic":
            loss = torch.nn.functional.softplus(-z)
            g = -sign * torch.sigmoid(-z)
        else:
            slack = p.margin - z
            loss = slack.clamp_min(0.0)
            g = -sign * (slack > 0).to(s.dtype)
        return loss, g[:, :, None]
    r = s - label.to(s.dtype)[:, None]
    a = r.abs()
    if name == "squared_loss":
        loss, g = r * r, 2.0 * r
    elif name == "absolute_loss":
        loss, g = a, torch.sign(r)
    elif name == "eps_insensitive_squared_loss":
        excess = (a - p.insensitivity).clamp_min(0.0)
        loss, g = excess * excess, 2.0 * excess * torch.sign(r)
    elif name == "eps_insensitive_absolute_loss":
        excess = (a - p.insensitivity).clamp_min(0.0)
        loss, g = excess, torch.sign(r) * (excess > 0).to(s.dtype)
    elif name == "quantile_loss":
        q = p.quantile
        # The label should exceed the prediction with probability q: under-prediction costs q.
        loss = torch.where(r < 0, -q * r, (1.0 - q) * r)
        g = torch.where(r < 0, torch.full_like(r, -q), torch.full_like(r, 1.0 - q))
    elif name == "huber_loss":
        d = p.huber_delta
        loss = torch.where(a <= d, 0.5 * r * r, d * (a - 0.5 * d))
        g = r.clamp(-d, d)
    else:
        raise ValueError(f"Unknown loss {name!r}; expected one of {LOSSES}.")
    return loss, g[:, :, None]
