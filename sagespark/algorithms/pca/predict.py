"""PCA inference and the model payload (``.npy`` arrays plus ``pca.json``; no pickle).

Examples
--------
>>> import numpy as np
>>> predictor = PCAPredictor(mean=np.array([1.0, 1.0]), components=np.array([[1.0, 0.0]]),
...                          subtract_mean=True)
>>> predictor.predict({"features": np.array([[3.0, 5.0]], dtype=np.float32)})["projection"].tolist()
[[2.0]]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Predictor
from sagespark.algorithms.matrix import as_matrix, iter_batches
from sagespark.algorithms.pca.train import PCAState
from sagespark.errors import ArtifactError, DataFormatError

__all__ = ["PCAPredictor", "save_state", "load_state"]

_ARRAYS = ("mean", "components", "singular_values", "explained_variance", "explained_variance_ratio")
_META_FILE = "pca.json"
_ROWS_PER_CHUNK = 65536


class PCAPredictor(Predictor):
    """Projects rows onto the principal components: ``(x − mean) · componentsᵀ``.

    Outputs ``projection``, a ``rows × num_components`` float64 array.
    """

    def __init__(self, mean: np.ndarray, components: np.ndarray, subtract_mean: bool) -> None:
        self.components = np.ascontiguousarray(components, dtype=np.float64)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.subtract_mean = subtract_mean
        # For CSR input the mean is removed after projecting, so sparse rows are never densified.
        self._mean_projection = self.mean @ self.components.T if subtract_mean else None

    @property
    def feature_dim(self) -> int:
        return int(self.components.shape[1])

    def predict(self, batch: Mapping[str, Any], *, verbose: bool = False) -> dict[str, np.ndarray]:
        if "features" not in batch or batch["features"] is None:
            raise DataFormatError("PCA prediction needs the input 'features'; it is missing.")
        features = as_matrix(batch["features"])
        if features.shape[1] != self.feature_dim:
            raise DataFormatError(
                f"Column 'features' has {features.shape[1]} columns but the model expects "
                f"feature_dim={self.feature_dim}; expected {self.feature_dim}, got {features.shape[1]}."
            )
        out = np.empty((features.shape[0], self.components.shape[0]), dtype=np.float64)
        for start, part in iter_batches(features, _ROWS_PER_CHUNK):
            stop = start + part.shape[0]
            if sp.issparse(part):
                out[start:stop] = part @ self.components.T
                if self._mean_projection is not None:
                    out[start:stop] -= self._mean_projection
            else:
                centred = part - self.mean if self.subtract_mean else part
                out[start:stop] = centred @ self.components.T
        return {"projection": out}


def save_state(state: PCAState, directory: Path) -> None:
    """Write every array as ``<name>.npy`` and the scalars as ``pca.json``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name in _ARRAYS:
        np.save(directory / f"{name}.npy", np.ascontiguousarray(getattr(state, name), dtype=np.float64),
                allow_pickle=False)
    meta = {"subtract_mean": bool(state.subtract_mean), "n_rows": int(state.n_rows),
            "num_components": int(state.components.shape[0]), "feature_dim": int(state.components.shape[1])}
    (directory / _META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")


def load_state(directory: Path, *, num_components: int | None, feature_dim: int | None) -> PCAState:
    """Read the payload without pickle and check its shapes against the hyperparameters.

    Raises
    ------
    ArtifactError
        For a missing or unreadable file, or shapes that disagree with each other or the hyperparameters.
    """
    directory = Path(directory)
    try:
        meta = json.loads((directory / _META_FILE).read_text(encoding="utf-8"))
        arrays = {name: np.load(directory / f"{name}.npy", allow_pickle=False) for name in _ARRAYS}
        subtract_mean, n_rows = bool(meta["subtract_mean"]), int(meta["n_rows"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ArtifactError(f"Cannot read the PCA model from {directory}: {err}") from None
    comps = arrays["components"]
    if comps.ndim != 2:
        raise ArtifactError(f"{directory}/components.npy must be 2-D; got shape {comps.shape}.")
    p, d = comps.shape
    expected = {"mean": (d,), "singular_values": (p,), "explained_variance": (p,),
                "explained_variance_ratio": (p,)}
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise ArtifactError(f"{directory}/{name}.npy has shape {arrays[name].shape}; expected {shape}.")
    if (num_components is not None and p != num_components) or (feature_dim is not None and d != feature_dim):
        raise ArtifactError(
            f"The PCA model in {directory} has {p} components of width {d}, but the hyperparameters say "
            f"num_components={num_components}, feature_dim={feature_dim}."
        )
    return PCAState(subtract_mean=subtract_mean, n_rows=n_rows,
                    **{name: arrays[name].astype(np.float64) for name in _ARRAYS})
