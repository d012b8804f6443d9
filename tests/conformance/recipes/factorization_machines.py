"""Factorization Machines conformance recipe: a small regression with a pairwise interaction."""

from __future__ import annotations

import numpy as np
from conformance_examples import Example

ALGORITHM = "factorization-machines"


def example(rng: np.random.Generator) -> Example:
    x = rng.normal(size=(80, 4))
    y = 1.0 + x[:, 0] - 0.5 * x[:, 1] + x[:, 2] * x[:, 3] + rng.normal(scale=0.1, size=80)
    params = {"num_factors": 2, "predictor_type": "regressor", "epochs": 5, "mini_batch_size": 16,
              "linear_lr": 0.01, "factors_lr": 0.01}
    return Example(params, {"features": x[:60], "label": y[:60]}, {"features": x[60:], "label": y[60:]},
                   ("train:rmse", "test:rmse"))
