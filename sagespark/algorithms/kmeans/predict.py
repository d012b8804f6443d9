"""K-Means inference and the model payload (``centers.npy``, no pickle).

Examples
--------
>>> import numpy as np
>>> predictor = KMeansPredictor(np.array([[0.0, 0.0], [3.0, 4.0]]))
>>> out = predictor.predict({"features": np.array([[3.0, 4.0], [0.0, 1.0]], dtype=np.float32)})
>>> out["closest_cluster"].tolist(), out["distance_to_cluster"].tolist()
([1.0, 0.0], [0.0, 1.0])
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from sagespark.algorithms.base import Predictor
from sagespark.algorithms.kmeans.geometry import row_sq_norms, sq_distances
from sagespark.algorithms.matrix import as_matrix, iter_batches
from sagespark.errors import ArtifactError, DataFormatError

__all__ = ["KMeansPredictor", "save_centers", "load_centers", "CENTERS_FILE"]

CENTERS_FILE = "centers.npy"
_CELLS_PER_CHUNK = 1 << 22  # rows × centres per distance block: bounds memory at ~32 MiB


class KMeansPredictor(Predictor):
    """Assigns rows to their nearest centre.

    Outputs ``closest_cluster`` (cluster index as float64, as SageMaker's responses give it) and
    ``distance_to_cluster`` (Euclidean distance, float64).
    """

    def __init__(self, centers: np.ndarray) -> None:
        self.centers = np.ascontiguousarray(centers, dtype=np.float64)
        self._centers_sq = row_sq_norms(self.centers)

    @property
    def feature_dim(self) -> int:
        return int(self.centers.shape[1])

    def predict(self, batch: Mapping[str, Any], *, verbose: bool = False) -> dict[str, np.ndarray]:
        if "features" not in batch or batch["features"] is None:
            raise DataFormatError("K-Means prediction needs the input 'features'; it is missing.")
        features = as_matrix(batch["features"])
        if features.shape[1] != self.feature_dim:
            raise DataFormatError(
                f"Column 'features' has {features.shape[1]} columns but the model expects "
                f"feature_dim={self.feature_dim}; expected {self.feature_dim}, got {features.shape[1]}."
            )
        n = int(features.shape[0])
        cluster = np.empty(n, dtype=np.float64)
        distance = np.empty(n, dtype=np.float64)
        chunk = max(1, _CELLS_PER_CHUNK // max(1, self.centers.shape[0]))
        for start, part in iter_batches(features, chunk):
            d2 = sq_distances(part, row_sq_norms(part), self.centers, self._centers_sq)
            labels = d2.argmin(axis=1)
            stop = start + part.shape[0]
            cluster[start:stop] = labels
            distance[start:stop] = np.sqrt(d2[np.arange(part.shape[0]), labels])
        if n and not np.isfinite(distance).all():
            row = int(np.flatnonzero(~np.isfinite(distance))[0])
            raise DataFormatError(f"Column 'features' holds a NaN or infinite value in row {row}.")
        return {"closest_cluster": cluster, "distance_to_cluster": distance}


def save_centers(centers: np.ndarray, directory: Path) -> None:
    """Write the centres as ``centers.npy`` (float64, ``allow_pickle=False`` readable)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    np.save(directory / CENTERS_FILE, np.ascontiguousarray(centers, dtype=np.float64), allow_pickle=False)


def load_centers(directory: Path, *, k: int | None, feature_dim: int | None) -> np.ndarray:
    """Read ``centers.npy`` without pickle and check it against the hyperparameters.

    Raises
    ------
    ArtifactError
        When the file is missing, unreadable, or its shape disagrees with ``k`` / ``feature_dim``.
    """
    path = Path(directory) / CENTERS_FILE
    try:
        centers = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ArtifactError(f"Cannot read the K-Means centres from {path}: {err}") from None
    if centers.ndim != 2 or not np.issubdtype(centers.dtype, np.floating):
        raise ArtifactError(
            f"{path} must hold a 2-D float array; got {centers.dtype} of shape {centers.shape}."
        )
    wrong_k = k is not None and centers.shape[0] != k
    if wrong_k or (feature_dim is not None and centers.shape[1] != feature_dim):
        raise ArtifactError(
            f"{path} holds {centers.shape[0]} centres of width {centers.shape[1]}, but the hyperparameters "
            f"say k={k}, feature_dim={feature_dim}."
        )
    return centers.astype(np.float64)
