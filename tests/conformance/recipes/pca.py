"""PCA conformance recipe."""

from __future__ import annotations

import numpy as np
from conformance_examples import Example

ALGORITHM = "pca"


def example(rng: np.random.Generator) -> Example:
    # Correlated columns, so the leading components are well separated.
    x = rng.normal(size=(80, 5)) @ rng.normal(size=(5, 5)) * np.array([5.0, 3.0, 1.0, 0.5, 0.1])
    return Example({"num_components": 2, "mini_batch_size": 16}, {"features": x[:60]}, {"features": x[60:]})
