"""k-NN conformance recipe: a 3-class classifier on well separated blobs, with a test channel."""

from __future__ import annotations

import numpy as np
from conformance_examples import Example

ALGORITHM = "knn"


def example(rng: np.random.Generator) -> Example:
    means = rng.normal(scale=6.0, size=(3, 4))
    label = rng.integers(0, 3, 80)
    x = means[label] + rng.normal(size=(80, 4))
    return Example(
        {"k": 3, "predictor_type": "classifier", "sample_size": 50, "index_type": "faiss.IVFFlat"},
        {"features": x[:60], "label": label[:60].astype(np.float64)},
        {"features": x[60:], "label": label[60:].astype(np.float64)},
        ("test:accuracy",),
    )
