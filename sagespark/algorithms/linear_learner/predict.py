"""Linear Learner inference and the model payload (``.npy`` arrays and ``model.json``, no pickle).

The saved model is the chosen one of the parallel models with the normalisation folded in: raw rows
score with one product ``x · W + b`` (dense or CSR, never densified). A binary classifier's ``score`` is the
probability of class 1 (the raw margin for ``hinge_loss``) and ``predicted_label`` compares it with the
threshold chosen in training; a multiclass ``score`` is the vector of class probabilities.

Examples
--------
>>> import numpy as np
>>> p = LinearLearnerPredictor(np.array([[2.0]]), np.array([-1.0]), "binary_classifier", "logistic", 0.5)
>>> out = p.predict({"features": np.array([[0.0], [1.0]], dtype=np.float32)})
>>> out["score"].round(3).tolist(), out["predicted_label"].tolist()
([0.269, 0.731], [0.0, 1.0])
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Matrix, Predictor
from sagespark.algorithms.matrix import as_matrix
from sagespark.errors import ArtifactError, DataFormatError

__all__ = ["LinearLearnerPredictor", "raw_scores", "save_model", "load_model", "to_score"]

_CHUNK = 1 << 16


def raw_scores(features: Matrix, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """``features · weights + bias`` as float64 ``(rows, classes)``, in chunks of rows."""
    n = int(features.shape[0])
    out = np.empty((n, weights.shape[1]), dtype=np.float64)
    for lo in range(0, n, _CHUNK):
        part = features[lo : lo + _CHUNK]
        if sp.issparse(part):
            out[lo : lo + part.shape[0]] = np.asarray(sp.csr_matrix(part, dtype=np.float64) @ weights)
        else:
            out[lo : lo + part.shape[0]] = np.asarray(part, dtype=np.float64) @ weights
    out += bias
    return out


def to_score(raw: np.ndarray, predictor_type: str, loss: str) -> np.ndarray:
    """The ``score`` output from raw scores: probability, class probabilities or the value itself."""
    if predictor_type == "binary_classifier":
        r = raw[:, 0]
        return r.copy() if loss == "hinge_loss" else 0.5 * (1.0 + np.tanh(0.5 * r))  # a stable sigmoid
    if predictor_type == "multiclass_classifier":
        shifted = raw - raw.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        return e / e.sum(axis=1, keepdims=True)
    return raw[:, 0].copy()


class LinearLearnerPredictor(Predictor):
    """Scores rows with the chosen linear model.

    Parameters
    ----------
    weights : numpy.ndarray
        ``(feature_dim, classes)`` in raw feature units.
    bias : numpy.ndarray
        ``(classes,)``.
    predictor_type, loss : str
        As trained (``loss`` resolved, never ``"auto"``).
    threshold : float
        Binary classifiers: ``predicted_label`` is 1 where ``score >= threshold``.
    """

    def __init__(
        self, weights: np.ndarray, bias: np.ndarray, predictor_type: str, loss: str, threshold: float = 0.5
    ) -> None:
        self.weights = np.ascontiguousarray(weights, dtype=np.float64)
        self.bias = np.asarray(bias, dtype=np.float64).reshape(-1)
        self.predictor_type, self.loss, self.threshold = predictor_type, loss, float(threshold)

    @property
    def feature_dim(self) -> int:
        return int(self.weights.shape[0])

    def predict(self, batch: Mapping[str, Any], *, verbose: bool = False) -> dict[str, np.ndarray]:
        if "features" not in batch or batch["features"] is None:
            raise DataFormatError("Linear Learner prediction needs the input 'features'; it is missing.")
        features = as_matrix(batch["features"])
        if features.shape[1] != self.feature_dim:
            raise DataFormatError(
                f"Column 'features' has {features.shape[1]} columns but the model expects "
                f"feature_dim={self.feature_dim}; expected {self.feature_dim}, got {features.shape[1]}."
            )
        raw = raw_scores(features, self.weights, self.bias)
        if raw.size and not np.isfinite(raw).all():
            row = int(np.flatnonzero(~np.isfinite(raw).all(axis=1))[0])
            raise DataFormatError(f"Column 'features' holds a NaN or infinite value in row {row}.")
        score = to_score(raw, self.predictor_type, self.loss)
        if self.predictor_type == "binary_classifier":
            return {"score": score, "predicted_label": (score >= self.threshold).astype(np.float64)}
        if self.predictor_type == "multiclass_classifier":
            return {"score": score, "predicted_label": raw.argmax(axis=1).astype(np.float64)}
        return {"score": score}


def save_model(p: LinearLearnerPredictor, directory: Path) -> None:
    """Write ``weights.npy``, ``bias.npy`` and ``model.json``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / "weights.npy", p.weights, allow_pickle=False)
    np.save(directory / "bias.npy", p.bias, allow_pickle=False)
    meta = {
        "predictor_type": p.predictor_type,
        "loss": p.loss,
        # JSON has no infinity: an all-negative (or all-positive) threshold is stored as a string.
        "threshold": p.threshold if math.isfinite(p.threshold) else repr(p.threshold),
    }
    (directory / "model.json").write_text(json.dumps(meta, indent=2) + "\n")


def load_model(directory: Path, *, feature_dim: int | None) -> LinearLearnerPredictor:
    """Read the payload without pickle and check it against ``feature_dim``.

    Raises
    ------
    ArtifactError
        When a file is missing or unreadable or the shapes disagree.
    """
    directory = Path(directory)
    try:
        weights = np.load(directory / "weights.npy", allow_pickle=False)
        bias = np.load(directory / "bias.npy", allow_pickle=False)
        meta = json.loads((directory / "model.json").read_text())
        threshold = float(meta["threshold"])
        predictor_type, loss = str(meta["predictor_type"]), str(meta["loss"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ArtifactError(f"Cannot read the Linear Learner model in {directory}: {err}") from None
    if weights.ndim != 2 or bias.shape != (weights.shape[1],):
        raise ArtifactError(
            f"{directory} holds weights of shape {weights.shape} and bias of shape {bias.shape}; expected "
            "(feature_dim, classes) and (classes,)."
        )
    if feature_dim is not None and weights.shape[0] != feature_dim:
        raise ArtifactError(
            f"{directory} holds weights for {weights.shape[0]} features, but feature_dim is {feature_dim}."
        )
    return LinearLearnerPredictor(weights, bias, predictor_type, loss, threshold)
