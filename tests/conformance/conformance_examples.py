"""Tiny-data recipes for the conformance suite: one per algorithm that has a Spark pair.

A recipe returns the Estimator keyword arguments and small generated inputs for the ``train`` and
``test`` channels, keyed by the algorithm's input names. The suite fails (it does not skip) for an
algorithm without a recipe, so a new algorithm's author is told to add one here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
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


def _load_recipes() -> dict[str, Callable[[np.random.Generator], Example]]:
    # One module per algorithm under recipes/ (ALGORITHM = name, def example(rng) -> Example; names
    # starting with '_' are helpers), so
    # adding an algorithm never edits a shared file.
    import importlib
    import pkgutil

    recipes: dict[str, Callable[[np.random.Generator], Example]] = {}
    folder = Path(__file__).parent / "recipes"
    for info in pkgutil.iter_modules([str(folder)]):
        if info.name.startswith("_"):
            continue  # shared helpers of the recipes
        module = importlib.import_module(f"recipes.{info.name}")
        recipes[module.ALGORITHM] = module.example
    return recipes


EXAMPLES: dict[str, Callable[[np.random.Generator], Example]] = _load_recipes()


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
