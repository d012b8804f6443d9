"""k-NN inference: batched faiss searches, then a vote (classifier) or a mean (regressor).

Outputs, as SageMaker's k-NN responses name them:

* ``predicted_label``: the majority label of the ``k`` neighbours (ties: the smallest label) or their
  mean label;
* verbose only: ``distances``, the ``k`` neighbours' scores in search order, as faiss reports them
  (squared Euclidean distance for ``L2``, ascending; inner product for ``INNER_PRODUCT`` and cosine
  similarity for ``COSINE``, both descending: nearest first in every case), and ``labels``, the
  neighbours' labels in the same order.

The artifact is faiss' own index file (``faiss.write_index``; reading it runs no code), the labels and
the reduction map as ``.npy`` (read with ``allow_pickle=False``), and ``knn.json``.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms.knn.embedding import Embedding
>>> from sagespark.algorithms.knn.index import build_index
>>> x = np.array([[0.0], [1.0], [10.0], [11.0]], dtype=np.float32)
>>> state = KNNState(build_index(x, index_type="faiss.Flat", metric="L2", nlist=1, pq_m=None),
...                  np.array([0.0, 0.0, 1.0, 1.0]), Embedding(1, 1, None, False), k=2,
...                  predictor_type="classifier", metric="L2", index_type="faiss.Flat")
>>> out = KNNPredictor(state).predict({"features": np.array([[0.4], [9.0]])}, verbose=True)
>>> out["predicted_label"].tolist(), out["labels"].tolist()
([0.0, 1.0], [[0.0, 0.0], [1.0, 1.0]])
>>> out["distances"].round(2).tolist()
[[0.16, 0.36], [1.0, 4.0]]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Matrix, Predictor
from sagespark.algorithms.knn.embedding import Embedding
from sagespark.algorithms.knn.index import faiss_metric, search
from sagespark.algorithms.knn.reduction import reduction_from_arrays
from sagespark.algorithms.knn.vote import majority_vote, neighbour_mean
from sagespark.algorithms.matrix import as_matrix
from sagespark.errors import ArtifactError, DataFormatError

__all__ = ["KNNState", "KNNPredictor", "save_state", "load_state", "INDEX_FILE", "LABELS_FILE", "META_FILE"]

INDEX_FILE = "index.faiss"
LABELS_FILE = "labels.npy"
META_FILE = "knn.json"
FORMAT_VERSION = 1


@dataclass
class KNNState:
    """A trained k-NN model: the index, one label per indexed point, and the query map."""

    index: faiss.Index
    labels: np.ndarray
    embedding: Embedding
    k: int
    predictor_type: str
    metric: str
    index_type: str
    nprobe: int | None = None
    batch_size: int = 5000


def _first_bad_row(part: Matrix) -> int | None:
    if sp.issparse(part):
        csr = sp.csr_matrix(part)
        values = np.asarray(csr.data)
        if np.isfinite(values).all():
            return None
        first = int(np.flatnonzero(~np.isfinite(values))[0])
        return int(np.searchsorted(np.asarray(csr.indptr), first, side="right")) - 1
    finite = np.isfinite(np.asarray(part)).all(axis=1)
    return None if finite.all() else int(np.flatnonzero(~finite)[0])


class KNNPredictor(Predictor):
    """Predicts with a :class:`KNNState`; thread-safe (searches never modify the shared index)."""

    def __init__(self, state: KNNState) -> None:
        self.state = state
        self._vote = majority_vote if state.predictor_type == "classifier" else neighbour_mean

    @property
    def feature_dim(self) -> int:
        return self.state.embedding.input_dim

    def neighbours(self, features: Matrix) -> tuple[np.ndarray, np.ndarray]:
        """Scores and row ids of the ``k`` nearest indexed points of every row (``rows × k`` each)."""
        state = self.state
        n = int(features.shape[0])
        scores = np.empty((n, state.k), dtype=np.float32)
        ids = np.empty((n, state.k), dtype=np.int64)
        for start in range(0, n, max(1, state.batch_size)):
            part = features[start : start + state.batch_size]
            bad = _first_bad_row(part)
            if bad is not None:
                raise DataFormatError(
                    f"Column 'features' holds a NaN or infinite value in row {start + bad}; every feature "
                    "must be a finite number."
                )
            queries = state.embedding.apply(part)
            scores[start : start + part.shape[0]], ids[start : start + part.shape[0]] = search(
                state.index, queries, state.k, state.nprobe
            )
        return scores, ids

    def predict(self, batch: Mapping[str, Any], *, verbose: bool = False) -> dict[str, np.ndarray]:
        if batch.get("features") is None:
            raise DataFormatError("k-NN prediction needs the input 'features'; it is missing.")
        features = as_matrix(batch["features"])
        if features.shape[1] != self.feature_dim:
            raise DataFormatError(
                f"Column 'features' has {features.shape[1]} columns but the model expects "
                f"feature_dim={self.feature_dim}; expected {self.feature_dim}, got {features.shape[1]}."
            )
        scores, ids = self.neighbours(features)
        labels = self.state.labels[ids]
        out = {"predicted_label": self._vote(labels)}
        if verbose:
            out["distances"] = scores.astype(np.float64)
            out["labels"] = labels
        return out


def save_state(state: KNNState, directory: Path) -> None:
    """Write the index (faiss format), labels and reduction (``.npy``) and ``knn.json``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    faiss.write_index(state.index, str(directory / INDEX_FILE))
    np.save(directory / LABELS_FILE, np.ascontiguousarray(state.labels, dtype=np.float64), allow_pickle=False)
    reduction = state.embedding.reduction
    arrays = {} if reduction is None else reduction.arrays()
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", array, allow_pickle=False)
    meta = {
        "format_version": FORMAT_VERSION,
        "input_dim": state.embedding.input_dim,
        "index_dim": state.embedding.index_dim,
        "normalize": state.embedding.normalize,
        "reduction": None if reduction is None else reduction.kind,
        "reduction_arrays": sorted(arrays),
        "k": state.k,
        "predictor_type": state.predictor_type,
        "metric": state.metric,
        "index_type": state.index_type,
        "nprobe": state.nprobe,
        "batch_size": state.batch_size,
    }
    (directory / META_FILE).write_text(json.dumps(meta, indent=1))


def _npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ArtifactError(f"Cannot read {path}: {err}") from None


def load_state(directory: Path, *, k: int | None = None, feature_dim: int | None = None) -> KNNState:
    """Read what :func:`save_state` wrote, checking every part against the others.

    Raises
    ------
    ArtifactError
        A file is missing or unreadable, or the parts disagree (index width, point count, ``k``).
    """
    directory = Path(directory)
    try:
        meta = json.loads((directory / META_FILE).read_text())
        input_dim, index_dim = int(meta["input_dim"]), int(meta["index_dim"])
        kind, names = meta["reduction"], list(meta["reduction_arrays"])
        stored_k, metric = int(meta["k"]), str(meta["metric"])
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ArtifactError(f"Cannot read the k-NN description {directory / META_FILE}: {err!r}") from None
    try:
        index = faiss.read_index(str(directory / INDEX_FILE))
    except RuntimeError as err:
        raise ArtifactError(f"Cannot read the faiss index {directory / INDEX_FILE}: {err}") from None
    labels = _npy(directory / LABELS_FILE).astype(np.float64)
    reduction = None
    if kind is not None:
        reduction = reduction_from_arrays(kind, input_dim, {n: _npy(directory / f"{n}.npy") for n in names})
    problems = []
    if index.d != index_dim or (reduction is not None and reduction.output_dim > index_dim):
        problems.append(f"the index holds {index.d}-wide vectors, knn.json says {index_dim}")
    if labels.ndim != 1 or labels.shape[0] != index.ntotal:
        problems.append(f"{labels.shape} labels for {index.ntotal} indexed points")
    if index.metric_type != faiss_metric(metric):
        problems.append(f"the index metric does not match {metric}")
    if (k is not None and k != stored_k) or stored_k > index.ntotal:
        problems.append(f"k={stored_k} (hyperparameters: {k}) for {index.ntotal} indexed points")
    if feature_dim is not None and feature_dim != input_dim:
        problems.append(f"input width {input_dim}, hyperparameters say feature_dim={feature_dim}")
    if problems:
        raise ArtifactError(f"Inconsistent k-NN artifact in {directory}: " + "; ".join(problems) + ".")
    embedding = Embedding(input_dim, index_dim, reduction, bool(meta.get("normalize", False)))
    nprobe = meta.get("nprobe")
    return KNNState(index, labels, embedding, stored_k, str(meta["predictor_type"]), metric,
                    str(meta["index_type"]), None if nprobe is None else int(nprobe),
                    int(meta.get("batch_size", 5000)))
