"""The trained FM model, its scoring in numpy / scipy, and its payload (``.npy`` + JSON, no pickle).

Scoring a CSR batch costs ``O(nnz · k)``: ``X @ V`` and ``(X ∘ X) @ (V ∘ V)`` are sparse × dense
products and ``V ∘ V`` is computed once per loaded model.

Examples
--------
>>> import numpy as np
>>> state = FMState("regressor", 0.5, np.array([1.0, 1.0]), np.array([[1.0, 0.0], [3.0, 1.0]]))
>>> raw_scores(state.bias, state.linear, state.factors, None,
...            np.array([[1.0, 2.0]], dtype=np.float32)).tolist()
[9.5]
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Matrix
from sagespark.errors import ArtifactError

__all__ = ["FMState", "raw_scores", "save_state", "load_state", "PAYLOAD_FILES"]

PAYLOAD_FILES = ("fm.json", "linear.npy", "factors.npy")


@dataclass
class FMState:
    """A factorization machine: global bias ``w0``, linear weights ``w`` and factors ``V`` (d × k)."""

    predictor_type: str
    bias: float
    linear: np.ndarray
    factors: np.ndarray

    @property
    def feature_dim(self) -> int:
        return int(self.linear.shape[0])


def raw_scores(bias: float, linear: np.ndarray, factors: np.ndarray, factors_sq: np.ndarray | None,
               features: Matrix) -> np.ndarray:
    """``w0 + x·w + ½ Σ_f [(x·V_f)² − (x²)·(V_f²)]`` for every row, as float64.

    ``factors_sq`` (``V ∘ V``) may be passed in precomputed; sparse rows are never densified.
    """
    if factors_sq is None:
        factors_sq = factors * factors
    if sp.issparse(features):
        x = sp.csr_matrix(features, dtype=np.float64)
        x_sq = x.multiply(x).tocsr()
    else:
        x = np.asarray(features, dtype=np.float64)
        x_sq = x * x
    s = np.asarray(x @ factors)
    q = np.asarray(x_sq @ factors_sq)
    return bias + np.asarray(x @ linear).ravel() + 0.5 * (s * s - q).sum(axis=1)


def save_state(state: FMState, directory: Path) -> None:
    """Write ``fm.json`` (predictor type, bias, shapes), ``linear.npy`` and ``factors.npy``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    meta = {
        "predictor_type": state.predictor_type,
        "bias": float(state.bias),
        "feature_dim": state.feature_dim,
        "num_factors": int(state.factors.shape[1]),
    }
    (directory / "fm.json").write_text(json.dumps(meta, indent=2))
    np.save(directory / "linear.npy", np.ascontiguousarray(state.linear, dtype=np.float32),
            allow_pickle=False)
    np.save(directory / "factors.npy", np.ascontiguousarray(state.factors, dtype=np.float32),
            allow_pickle=False)


def load_state(directory: Path) -> FMState:
    """Read the payload written by :func:`save_state` (no pickle) and check its shapes.

    Raises
    ------
    ArtifactError
        A file is missing or unreadable, or the arrays disagree with ``fm.json``.
    """
    directory = Path(directory)
    try:
        meta = json.loads((directory / "fm.json").read_text())
        linear = np.load(directory / "linear.npy", allow_pickle=False)
        factors = np.load(directory / "factors.npy", allow_pickle=False)
        predictor_type, bias = str(meta["predictor_type"]), float(meta["bias"])
        dim, k = int(meta["feature_dim"]), int(meta["num_factors"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ArtifactError(f"Cannot read the Factorization Machines model from {directory}: {err}") from None
    if predictor_type not in ("binary_classifier", "regressor"):
        raise ArtifactError(f"{directory / 'fm.json'} names an unknown predictor_type {predictor_type!r}.")
    if linear.shape != (dim,) or factors.shape != (dim, k):
        raise ArtifactError(
            f"{directory} holds linear weights of shape {linear.shape} and factors of shape "
            f"{factors.shape}; fm.json says feature_dim={dim}, num_factors={k}."
        )
    return FMState(predictor_type, bias, linear.astype(np.float32), factors.astype(np.float32))
