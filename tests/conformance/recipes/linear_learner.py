"""Linear Learner conformance recipe (a binary classifier, so both outputs are written)."""

from __future__ import annotations

import numpy as np
from conformance_examples import Example

ALGORITHM = "linear-learner"


def example(rng: np.random.Generator) -> Example:
    x = rng.normal(size=(80, 4))
    label = (x @ np.array([1.5, -1.0, 0.5, 0.0]) + 0.3 * rng.normal(size=80) > 0).astype(np.float64)
    return Example(
        {"predictor_type": "binary_classifier", "num_models": 4, "mini_batch_size": 16, "epochs": 5},
        {"features": x[:60], "label": label[:60]},
        {"features": x[60:], "label": label[60:]},
        ("test:objective_loss", "test:binary_classification_accuracy", "test:roc_auc_score"),
    )
