"""scikit-learn's bundled digits (no download) as Spark DataFrames, shared by the ml tests."""

from __future__ import annotations

from typing import Any

import numpy as np


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """Digits features (1797 × 64, float64) and labels, in a fixed shuffled order."""
    from sklearn.datasets import load_digits

    data = load_digits()
    order = np.random.default_rng(0).permutation(len(data.target))
    return data.data[order].astype(np.float64), data.target[order]


def to_vector_df(
    spark: Any, x: np.ndarray, y: np.ndarray | None = None, *, features: str = "features"
) -> Any:
    """A DataFrame with ``id``, a Spark ML vector column and optionally ``label``."""
    from pyspark.ml.linalg import Vectors

    rows = [
        (i, Vectors.dense(x[i].tolist())) + (() if y is None else (float(y[i]),)) for i in range(len(x))
    ]
    return spark.createDataFrame(rows, ["id", features] + ([] if y is None else ["label"]))
