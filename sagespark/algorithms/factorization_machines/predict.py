"""Factorization Machines inference: ``score`` and, for the binary classifier, ``predicted_label``.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms.factorization_machines.model import FMState
>>> state = FMState("binary_classifier", 0.0, np.array([2.0, -2.0]), np.zeros((2, 1)))
>>> out = FMPredictor(state).predict({"features": np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)})
>>> out["score"].round(3).tolist(), out["predicted_label"].tolist()
([0.881, 0.119], [1.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sagespark.algorithms.base import Matrix, Predictor
from sagespark.algorithms.factorization_machines.model import FMState, raw_scores
from sagespark.algorithms.matrix import as_matrix, check_finite
from sagespark.errors import DataFormatError

__all__ = ["FMPredictor"]

_ROWS_PER_CHUNK = 65536  # bounds the rows × k temporaries of one product


class FMPredictor(Predictor):
    """Scores rows with a trained factorization machine.

    The regressor's ``score`` is the predicted value. The binary classifier's ``score`` is
    ``sigmoid(ŷ)`` and ``predicted_label`` is 1 when the score is ≥ 0.5, as SageMaker defines them;
    the regressor, like SageMaker's, answers with ``score`` alone.
    """

    def __init__(self, state: FMState) -> None:
        self.state = state
        self._linear = np.asarray(state.linear, dtype=np.float64)
        self._factors = np.asarray(state.factors, dtype=np.float64)
        self._factors_sq = self._factors * self._factors

    @property
    def feature_dim(self) -> int:
        return self.state.feature_dim

    def scores(self, features: Matrix) -> np.ndarray:
        """The ``score`` of every row (probability for the classifier, value for the regressor)."""
        features = as_matrix(features)
        if features.shape[1] != self.feature_dim:
            raise DataFormatError(
                f"Column 'features' has {features.shape[1]} columns but the model expects "
                f"feature_dim={self.feature_dim}; expected {self.feature_dim}, got {features.shape[1]}."
            )
        n = int(features.shape[0])
        out = np.empty(n, dtype=np.float64)
        for start in range(0, n, _ROWS_PER_CHUNK):
            part = features[start:start + _ROWS_PER_CHUNK]
            check_finite(part, start)
            out[start:start + part.shape[0]] = raw_scores(
                self.state.bias, self._linear, self._factors, self._factors_sq, part)
        if self.state.predictor_type == "binary_classifier":
            # Written as exp of a non-positive number on both branches, so no overflow warning.
            e = np.exp(-np.abs(out))
            out = np.where(out >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return out

    def predict(self, batch: Mapping[str, Any], *, verbose: bool = False) -> dict[str, np.ndarray]:
        if "features" not in batch or batch["features"] is None:
            raise DataFormatError(
                "Factorization Machines prediction needs the input 'features'; it is missing.")
        score = self.scores(batch["features"])
        if self.state.predictor_type == "binary_classifier":
            return {"score": score, "predicted_label": (score >= 0.5).astype(np.float64)}
        return {"score": score}
