"""Random Cut Forest conformance recipe: Gaussian rows with a few far-off anomalies, labelled test set."""

from __future__ import annotations

import numpy as np
from conformance_examples import Example

ALGORITHM = "randomcutforest"


def example(rng: np.random.Generator) -> Example:
    x = rng.normal(size=(80, 3))
    label = np.zeros(80)
    x[[65, 72, 78]] += 12.0  # anomalies in the test part
    label[[65, 72, 78]] = 1.0
    return Example(
        {"num_trees": 50, "num_samples_per_tree": 32},
        {"features": x[:60]},
        {"features": x[60:], "label": label[60:]},
        ("test:accuracy", "test:precision", "test:recall", "test:f1"),
    )
