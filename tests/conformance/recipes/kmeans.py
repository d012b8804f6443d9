"""K-Means conformance recipe."""

from __future__ import annotations

import numpy as np
from conformance_examples import Example

from recipes._data import blobs

ALGORITHM = "kmeans"


def example(rng: np.random.Generator) -> Example:
    x = blobs(rng, 80, 4, 3)
    return Example(
        {"k": 3, "mini_batch_size": 16}, {"features": x[:60]}, {"features": x[60:]}, ("train:msd", "test:msd")
    )
