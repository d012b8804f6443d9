"""XGBoost inference and the model payload: XGBoost's own JSON model file plus a small JSON of facts.

``xgboost-model.json`` is written by ``Booster.save_raw("json")``: plain ``xgboost.Booster().load_model``
reads it, and loading it never executes code. ``xgboost-meta.json`` records the objective, number of
classes and features, and the rounds kept.

Outputs, as SageMaker's XGBoost container gives them:

* ``score``: the probability of class 1 for ``binary:logistic``, the predicted value for regression,
  the predicted class for ``multi:softmax`` and ``binary:hinge``, the margin for ``binary:logitraw``,
  and the probability of the predicted class for ``multi:softprob``;
* ``predicted_label`` (verbose; SageMaker's selectable content): the class, for the classification
  objectives only (``p > 0.5`` for ``binary:logistic``, ``margin > 0`` for ``binary:logitraw``);
* ``probabilities`` (verbose): ``[1 - p, p]`` for ``binary:logistic``, every class's probability for
  ``multi:softprob`` and ``multi:softmax`` (the softmax of the margins), absent for other objectives.

Examples
--------
>>> import numpy as np, xgboost
>>> x = np.array([[0.0], [1.0], [2.0], [3.0]], dtype=np.float32)
>>> booster = xgboost.train({"objective": "binary:logistic", "min_child_weight": 0},
...                         xgboost.DMatrix(x, label=[0, 0, 1, 1]), 3)
>>> predictor = XGBoostPredictor(booster, "binary:logistic", None)
>>> out = predictor.predict({"features": x}, verbose=True)
>>> out["predicted_label"].tolist(), out["probabilities"].shape
([0.0, 0.0, 1.0, 1.0], (4, 2))
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Predictor
from sagespark.algorithms.matrix import as_matrix
from sagespark.errors import ArtifactError, DataFormatError

__all__ = ["XGBoostPredictor", "save_model", "load_model", "outputs_for", "MODEL_FILE", "META_FILE"]

MODEL_FILE = "xgboost-model.json"
META_FILE = "xgboost-meta.json"


def outputs_for(objective: str) -> tuple[str, ...]:
    """The outputs a model with ``objective`` writes (the last two only when verbose).

    Examples
    --------
    >>> outputs_for("reg:squarederror"), outputs_for("binary:hinge")
    (('score',), ('score', 'predicted_label'))
    """
    if objective in ("binary:logistic", "multi:softprob", "multi:softmax"):
        return ("score", "predicted_label", "probabilities")
    if objective.startswith("binary:"):
        return ("score", "predicted_label")
    return ("score",)


def _softmax(margin: np.ndarray) -> np.ndarray:
    shifted = margin - margin.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=1, keepdims=True)


class XGBoostPredictor(Predictor):
    """Predicts with a loaded :class:`xgboost.Booster` (``inplace_predict``: thread-safe, no DMatrix).

    Parameters
    ----------
    booster : xgboost.Booster
        The trained model.
    objective : str
        Its objective (decides what ``score``, ``predicted_label`` and ``probabilities`` hold).
    num_class : int or None
        Number of classes of a ``multi:`` objective.
    """

    def __init__(self, booster: Any, objective: str, num_class: int | None) -> None:
        self.booster = booster
        self.objective = objective
        self.num_class = num_class
        self._features = int(booster.num_features())
        self.outputs = outputs_for(objective)
        config = json.loads(booster.save_config())
        # gblinear has no in-place prediction; it predicts through a DMatrix (Booster.predict is thread-safe).
        self._linear = config["learner"]["gradient_booster"]["name"] == "gblinear"

    @property
    def feature_dim(self) -> int:
        return self._features

    def _features_of(self, batch: Mapping[str, Any]) -> Any:
        if batch.get("features") is None:
            raise DataFormatError("XGBoost prediction needs the input 'features'; it is missing.")
        features = as_matrix(batch["features"])
        width = int(features.shape[1])
        if sp.issparse(features) and width < self._features:
            # Sparse rows name only their non-zero columns; absent trailing columns are missing values.
            features = sp.csr_matrix(features, shape=(features.shape[0], self._features))
        elif width != self._features:
            raise DataFormatError(
                f"Column 'features' has {width} columns but the model was trained on {self._features}; "
                f"expected {self._features} features per row."
            )
        if not sp.issparse(features) and features.dtype != np.float32:
            features = features.astype(np.float32)
        return features

    def _raw(self, features: Any, *, margin: bool) -> np.ndarray:
        if self._linear:
            import xgboost

            out = self.booster.predict(xgboost.DMatrix(features), output_margin=margin)
        else:
            out = self.booster.inplace_predict(features, predict_type="margin" if margin else "value")
        return np.asarray(out, dtype=np.float64)

    def predict(self, batch: Mapping[str, Any], *, verbose: bool = False) -> dict[str, np.ndarray]:
        features = self._features_of(batch)
        n = int(features.shape[0])
        names = self.outputs if verbose else ("score",)
        if n == 0:
            width = self.num_class or 2
            return {k: np.empty((0, width)) if k == "probabilities" else np.empty(0) for k in names}
        raw = self._raw(features, margin=False)
        objective = self.objective
        probabilities: np.ndarray | None = None
        label: np.ndarray | None = None
        if objective == "multi:softprob":
            probabilities = raw.reshape(n, -1)
            label = probabilities.argmax(axis=1).astype(np.float64)
            score = probabilities[np.arange(n), label.astype(np.int64)]
        elif objective == "binary:logistic":
            score = raw.reshape(n)
            label = (score > 0.5).astype(np.float64)
            probabilities = np.column_stack([1.0 - score, score]) if verbose else None
        elif objective == "binary:logitraw":
            score = raw.reshape(n)
            label = (score > 0).astype(np.float64)
        elif objective in ("binary:hinge", "multi:softmax"):
            score = raw.reshape(n)
            label = score.copy()
            if verbose and objective == "multi:softmax":
                probabilities = _softmax(self._raw(features, margin=True).reshape(n, -1))
        else:
            score = raw.reshape(n)
        found = {"score": score, "predicted_label": label, "probabilities": probabilities}
        out: dict[str, np.ndarray] = {}
        for name in names:
            value = found[name]
            if value is None:  # pragma: no cover - outputs_for and the branches above agree
                raise RuntimeError(f"XGBoost computed no {name!r} for objective {objective!r}.")
            out[name] = value
        return out


def save_model(model: bytes, info: Mapping[str, Any], directory: Path) -> None:
    """Write ``xgboost-model.json`` (XGBoost's own format) and ``xgboost-meta.json``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MODEL_FILE).write_bytes(model)
    (directory / META_FILE).write_text(json.dumps(dict(info), indent=2, sort_keys=True))


def load_model(directory: Path) -> tuple[Any, dict[str, Any]]:
    """Read the booster and its facts back (XGBoost's JSON parser only: nothing is executed).

    Raises
    ------
    ArtifactError
        When a file is missing or not a valid XGBoost model.
    """
    import xgboost

    path = Path(directory) / MODEL_FILE
    meta_path = Path(directory) / META_FILE
    try:
        info = json.loads(meta_path.read_text())
    except (OSError, ValueError) as err:
        raise ArtifactError(f"Cannot read the XGBoost model facts from {meta_path}: {err}") from None
    booster = xgboost.Booster()
    try:
        booster.load_model(str(path))
    except (OSError, ValueError, xgboost.core.XGBoostError) as err:
        raise ArtifactError(f"Cannot load the XGBoost model {path}: {err}") from None
    return booster, info
