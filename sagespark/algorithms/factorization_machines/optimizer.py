"""Adam with SageMaker/MXNet gradient handling: the settings, and the update of the global bias.

SageMaker's Factorization Machines expose MXNet optimizer arguments (``clip_gradient``, ``eps``,
``rescale_grad``) and per-group learning rates whose defaults (0.1 / 0.001 / 0.0001) are Adam-sized,
so the update is MXNet's Adam with ``lazy_update``: only the rows present in the (global) mini-batch
move, and for those rows

    g = clip(rescale · G, clip_gradient) + wd · θ
    m = β1 m + (1 − β1) g;   v = β2 v + (1 − β2) g²
    θ = θ − lr · √(1 − β2^t) / (1 − β1^t) · m / (√v + eps)

with ``G`` the gradient summed over the global mini-batch and ``rescale = 1 / rows`` unless
``rescale_grad`` is set. The bias, linear and factor groups have their own ``lr`` and ``wd``. The
table rows are updated by the compiled :func:`~.fused.adam_rows`; the bias by :class:`ScalarAdam`.

Examples
--------
>>> opt = ScalarAdam(lr=0.1, wd=0.0, eps=1e-8, clip=None)
>>> round(opt.step(0.0, 2.0, step=1, scale=1.0), 6)   # Adam's first step moves by lr against the sign
-0.1
"""

from __future__ import annotations

import math

__all__ = ["ScalarAdam", "BETA1", "BETA2", "correction"]

BETA1 = 0.9
BETA2 = 0.999


def correction(step: int) -> float:
    """Adam's bias correction ``√(1 − β2^t) / (1 − β1^t)`` at step ``t`` (from 1)."""
    return math.sqrt(1.0 - BETA2 ** step) / (1.0 - BETA1 ** step)


class ScalarAdam:
    """The update for the single global bias, in plain floats (no array overhead per step)."""

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
        return theta - self.lr * correction(step) * self.m / (math.sqrt(self.v) + self.eps)
