"""Random Cut Forest inference: the ``score`` of every row (higher = more anomalous).

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms.random_cut_forest.forest import build_forest
>>> rng = np.random.default_rng(0)
>>> predictor = RandomCutForestPredictor(build_forest(rng.normal(size=(50, 32, 2)).astype(np.float32), rng))
>>> out = predictor.predict({"features": np.array([[0.0, 0.0], [9.0, -9.0]], dtype=np.float32)})
>>> bool(out["score"][1] > out["score"][0])
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sagespark.algorithms.base import Predictor
from sagespark.algorithms.matrix import as_matrix, check_finite, iter_batches
from sagespark.algorithms.random_cut_forest.forest import Forest
from sagespark.algorithms.random_cut_forest.scoring import ScoringTables, anomaly_scores
from sagespark.errors import DataFormatError

__all__ = ["RandomCutForestPredictor", "score_matrix"]

_ROWS_PER_BATCH = 8192


def score_matrix(forest: Forest, features: Any, *, column: str = "features",
                 tables: ScoringTables | None = None) -> np.ndarray:
    """Anomaly scores of a dense or CSR feature matrix, densified one batch at a time.

    Raises
    ------
    DataFormatError
        For a width other than the forest's, or a NaN / infinite value (naming the row).
    """
    matrix = as_matrix(features, where=column)
    if matrix.shape[1] != forest.feature_dim:
        raise DataFormatError(
            f"Column '{column}' has {matrix.shape[1]} columns but the model expects "
            f"feature_dim={forest.feature_dim}; expected {forest.feature_dim}, got {matrix.shape[1]}."
        )
    out = np.empty(matrix.shape[0], dtype=np.float64)
    tables = ScoringTables(forest) if tables is None else tables
    for start, batch in iter_batches(matrix, _ROWS_PER_BATCH):
        check_finite(batch, start, column=column)
        dense = batch if isinstance(batch, np.ndarray) else batch.toarray()
        out[start:start + dense.shape[0]] = anomaly_scores(forest, dense, tables)
    return out


class RandomCutForestPredictor(Predictor):
    """Scores rows with a trained forest; outputs ``score`` (float64), as SageMaker's RCF."""

    def __init__(self, forest: Forest) -> None:
        self.forest = forest
        self._tables = ScoringTables(forest)   # derived once, reused by every batch

    @property
    def feature_dim(self) -> int:
        return self.forest.feature_dim

    def predict(self, batch: Mapping[str, Any], *, verbose: bool = False) -> dict[str, np.ndarray]:
        if "features" not in batch or batch["features"] is None:
            raise DataFormatError("Random Cut Forest prediction needs the input 'features'; it is missing.")
        return {"score": score_matrix(self.forest, batch["features"], tables=self._tables)}
