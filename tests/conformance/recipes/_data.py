"""Generated data shared by recipes."""

from __future__ import annotations

import numpy as np


def blobs(rng: np.random.Generator, rows: int, dim: int, centers: int) -> np.ndarray:
    """``rows`` points around ``centers`` random Gaussian centres."""
    means = rng.normal(scale=6.0, size=(centers, dim))
    return (means[rng.integers(0, centers, rows)] + rng.normal(size=(rows, dim))).astype(np.float64)
