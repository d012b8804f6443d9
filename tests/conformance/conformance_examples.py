"""Tiny-data recipes for the conformance suite: one per algorithm that has a Spark pair.

A recipe returns the Estimator keyword arguments and small generated inputs for the ``train`` and
``test`` channels, keyed by the algorithm's input names. The suite fails (it does not skip) for an
algorithm without a recipe, so a new algorithm's author is told to add one here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sagespark.algorithms.base import Algorithm, InputField


@dataclass
class Example:
    """Estimator kwargs (hyperparameters and Params), per-channel inputs by input name, and the metrics
    SageMaker reports for such a fit (PCA reports none)."""

    params: dict[str, Any]
    train: dict[str, np.ndarray]
    test: dict[str, np.ndarray] = field(default_factory=dict)
    metrics: tuple[str, ...] = ()


def _blobs(rng: np.random.Generator, rows: int, dim: int, centers: int) -> np.ndarray:
    means = rng.normal(scale=6.0, size=(centers, dim))
    return (means[rng.integers(0, centers, rows)] + rng.normal(size=(rows, dim))).astype(np.float64)


def kmeans_example(rng: np.random.Generator) -> Example:
    x = _blobs(rng, 80, 4, 3)
    return Example(
        {"k": 3, "mini_batch_size": 16}, {"features": x[:60]}, {"features": x[60:]}, ("train:msd", "test:msd")
    )


def pca_example(rng: np.random.Generator) -> Example:
    # Correlated columns, so the leading components are well separated.
    x = rng.normal(size=(80, 5)) @ rng.normal(size=(5, 5)) * np.array([5.0, 3.0, 1.0, 0.5, 0.1])
    return Example({"num_components": 2, "mini_batch_size": 16}, {"features": x[:60]}, {"features": x[60:]})


EXAMPLES: dict[str, Callable[[np.random.Generator], Example]] = {
    "kmeans": kmeans_example,
    "pca": pca_example,
}


def column_name(field_: InputField) -> str:
    """Column names differ from the input names, so the suite proves the column Params are honoured."""
    return f"in_{field_.name}"


def to_dataframe(spark: Any, algorithm: type[Algorithm], inputs: dict[str, np.ndarray]) -> Any:
    """A DataFrame with an ``id`` column and one column per input (vectors as Spark ML dense vectors)."""
    from pyspark.ml.linalg import Vectors

    fields = [f for f in algorithm.inputs if f.name in inputs]
    rows = len(next(iter(inputs.values())))
    data = []
    for i in range(rows):
        row: list[Any] = [i]
        for f in fields:
            value = inputs[f.name][i]
            if f.kind == "vector":
                row.append(Vectors.dense([float(v) for v in value]))
            elif f.kind == "double":
                row.append(float(value))
            else:
                row.append(str(value))
        data.append(tuple(row))
    return spark.createDataFrame(data, ["id"] + [column_name(f) for f in fields])
