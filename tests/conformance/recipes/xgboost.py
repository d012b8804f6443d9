"""XGBoost conformance recipe: a small binary problem with a probability score."""

from __future__ import annotations

import numpy as np
from conformance_examples import Example

ALGORITHM = "xgboost"


def example(rng: np.random.Generator) -> Example:
    x = rng.normal(size=(80, 4))
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.float64)
    params = {"num_round": 5, "objective": "binary:logistic", "eval_metric": ["auc", "logloss"]}
    return Example(params, {"features": x[:60], "label": y[:60]}, {"features": x[60:], "label": y[60:]},
                   ("train:auc", "train:logloss"))
