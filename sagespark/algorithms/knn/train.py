"""k-NN training across ranks: sample, reduce, gather, index on rank 0, evaluate on the test channel.

1. Every rank checks its shard and learns all ranks' row counts; each samples its proportional share
   of ``sample_size`` rows (:mod:`.sampling`).
2. Every rank reduces its sample with the same random map (drawn from the shared seed), pads it to the
   index width and, for COSINE, normalises it (:class:`.embedding.Embedding`).
3. The reduced samples and their labels are gathered; rank 0 builds the one faiss index (training
   the IVF coarse quantizer on the sample) and calibrates IVF's ``nprobe`` (:mod:`.index`).
4. With a test channel, rank 0 broadcasts the serialised index; every rank scores its test rows and
   ``test:accuracy`` (classifier) or ``test:mse`` (regressor) is reduced over ranks.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms.base import ChannelData
>>> from sagespark.algorithms.knn.hyperparameters import KNNHyperparameters
>>> from sagespark.distributed.context import LocalContext
>>> x = np.array([[0.0], [1.0], [10.0], [11.0]], dtype=np.float32)
>>> y = np.array([0.0, 0.0, 1.0, 1.0])
>>> hp = KNNHyperparameters.from_dict({"k": 1, "predictor_type": "classifier", "sample_size": 10})
>>> result = train_knn(LocalContext(), {"train": ChannelData(x, y), "test": ChannelData(x, y)}, hp)
>>> result.metrics, result.state.index.ntotal
({'test:accuracy': 1.0}, 4)
"""

from __future__ import annotations

from collections.abc import Mapping

import faiss
import numpy as np

from sagespark.algorithms.base import ChannelData, Matrix, TrainResult
from sagespark.algorithms.knn.embedding import Embedding
from sagespark.algorithms.knn.hyperparameters import (
    check_combination,
    index_dimension,
    resolve_nlists,
    resolve_pq_m,
)
from sagespark.algorithms.knn.index import build_index, calibrate_nprobe
from sagespark.algorithms.knn.predict import KNNPredictor, KNNState
from sagespark.algorithms.knn.reduction import make_reduction
from sagespark.algorithms.knn.sampling import quotas, sample_rows
from sagespark.algorithms.matrix import as_matrix, num_rows, resolve_feature_dim
from sagespark.distributed.context import TrainContext
from sagespark.errors import DataFormatError, InvalidHyperparameterError
from sagespark.hyperparams import Hyperparameters

__all__ = ["train_knn"]

_PROJECTION_STREAM = 0x6B4E4E  # seeds the shared random map: the same on every rank
_SAMPLE_STREAM = 1
_CALIBRATION_STREAM = 2


def _labelled(channel: ChannelData | None, name: str) -> tuple[Matrix | None, np.ndarray | None]:
    """The channel's features and labels, checked: a label per row, every label finite."""
    if channel is None or channel.features is None:
        return None, None
    features = as_matrix(channel.features, where=f"features' of channel '{name}")
    rows = num_rows(features)
    if rows == 0:
        return features, np.empty(0)
    if channel.label is None:
        raise DataFormatError(
            f"Channel '{name}' has no column 'label'; k-NN needs a label for every row (the class for "
            "predictor_type='classifier', the target value for 'regressor')."
        )
    label = np.asarray(channel.label, dtype=np.float64).ravel()
    if label.shape[0] != rows:
        raise DataFormatError(
            f"Column 'label' of channel '{name}' has {label.shape[0]} values for {rows} feature rows."
        )
    bad = np.flatnonzero(~np.isfinite(label))
    if bad.size:
        raise DataFormatError(
            f"Column 'label' of channel '{name}' holds a NaN or infinite value in row {int(bad[0])} of "
            "this worker's partition; every label must be a finite number."
        )
    return features, label


def _embed(embedding: Embedding, features: Matrix, batch_size: int) -> np.ndarray:
    parts = [embedding.apply(features[start:start + batch_size])
             for start in range(0, int(features.shape[0]), max(1, batch_size))]
    if not parts:
        return np.zeros((0, embedding.index_dim), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def _check_finite(vectors: np.ndarray, rows: np.ndarray) -> None:
    finite = np.isfinite(vectors).all(axis=1)
    if not finite.all():
        row = int(rows[int(np.flatnonzero(~finite)[0])])
        raise DataFormatError(
            f"Column 'features' of channel 'train' holds a NaN or infinite value in row {row} of this "
            "worker's partition; every feature must be a finite number."
        )


def _build_state(ctx: TrainContext, hp: Hyperparameters, vectors: np.ndarray, labels: np.ndarray,
                 embedding: Embedding, pq_m: int | None) -> KNNState:
    """Rank 0: the index over every gathered sample, with IVF's nprobe calibrated."""
    index_type, metric, k = hp["index_type"], hp["index_metric"], int(hp["k"])
    nlist = resolve_nlists(hp, num_points=vectors.shape[0]) if index_type != "faiss.Flat" else 1
    index = build_index(vectors, index_type=index_type, metric=metric, nlist=nlist, pq_m=pq_m)
    nprobe = None
    detail = ""
    if index_type != "faiss.Flat":
        nprobe, recall = calibrate_nprobe(index, vectors, k=k, rng=np.random.default_rng(
            [ctx.seed, _CALIBRATION_STREAM]))
        detail = f", nlist={nlist}, nprobe={nprobe} (sampled recall@{k}={recall:.3f})"
        if pq_m is not None:
            detail += f", pq_m={pq_m}"
    ctx.log(f"built a {index_type} index ({metric}) over {index.ntotal} points of width {index.d}{detail}")
    return KNNState(index, labels, embedding, k, hp["predictor_type"], metric, index_type, nprobe,
                    int(hp["mini_batch_size"]))


def _share_state(ctx: TrainContext, state: KNNState | None, hp: Hyperparameters, embedding: Embedding
                 ) -> KNNState:
    """Rank 0's index, labels and nprobe on every rank (for the test channel)."""
    blob = ctx.broadcast(faiss.serialize_index(state.index) if state is not None else None, src=0)
    labels = ctx.broadcast(state.labels if state is not None else None, src=0)
    nprobe = int(ctx.broadcast(np.array([-1 if state is None or state.nprobe is None else state.nprobe],
                                        dtype=np.int64), src=0)[0])
    if state is not None:
        return state
    return KNNState(faiss.deserialize_index(blob), labels, embedding, int(hp["k"]), hp["predictor_type"],
                    hp["index_metric"], hp["index_type"], None if nprobe < 0 else nprobe,
                    int(hp["mini_batch_size"]))


def _test_metrics(ctx: TrainContext, state: KNNState, channel: ChannelData | None, dim: int
                  ) -> dict[str, float]:
    features, label = _labelled(channel, "test")
    resolve_feature_dim(ctx, features, dim, channel="test")
    local = np.zeros(2)
    if features is not None and label is not None and label.shape[0]:
        predicted = KNNPredictor(state).predict({"features": features})["predicted_label"]
        if state.predictor_type == "classifier":
            local[0] = float((predicted == label).sum())
        else:
            local[0] = float(((predicted - label) ** 2).sum())
        local[1] = label.shape[0]
    total = ctx.allreduce(local)
    if total[1] == 0:
        return {}
    name = "test:accuracy" if state.predictor_type == "classifier" else "test:mse"
    return {name: float(total[0] / total[1])}


def train_knn(ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
    """Sample, reduce and index the training data; every rank returns the same metrics.

    Raises
    ------
    InvalidHyperparameterError
        Inconsistent hyperparameters (see :func:`.hyperparameters.check_combination`), or ``k`` larger
        than the number of sampled points.
    DataFormatError
        Missing or non-finite labels or features, or feature widths that disagree.
    """
    features, label = _labelled(data.get("train"), "train")
    dim = resolve_feature_dim(ctx, features, hp["feature_dim"])
    check_combination(hp, feature_dim=dim)
    k = int(hp["k"])

    counts = np.concatenate(ctx.allgather(np.array([num_rows(features)], dtype=np.int64)))
    share = quotas(counts, int(hp["sample_size"]))
    sampled = int(share.sum())
    if sampled < k:
        raise InvalidHyperparameterError(
            f"The 'k' parameter of KNN must be at most the number of sampled points ({sampled}: "
            f"sample_size={hp['sample_size']}, {int(counts.sum())} training rows). Got {k} instead."
        )

    target = hp["dimension_reduction_target"] if hp["dimension_reduction_type"] else dim
    pq_m = resolve_pq_m(hp, dim=int(target)) if hp["index_type"] == "faiss.IVFPQ" else None
    index_dim = index_dimension(int(target), pq_m)  # SageMaker raises the target (or pads) to fit m
    reduction = None
    if hp["dimension_reduction_type"]:
        reduction = make_reduction(hp["dimension_reduction_type"], dim, index_dim,
                                   np.random.default_rng([ctx.seed, _PROJECTION_STREAM]))
    embedding = Embedding(dim, index_dim, reduction, normalize=hp["index_metric"] == "COSINE")

    rows = sample_rows(int(counts[ctx.rank]), int(share[ctx.rank]),
                       np.random.default_rng([ctx.seed, _SAMPLE_STREAM, ctx.rank]))
    if features is not None and rows.size:
        vectors = _embed(embedding, features[rows], int(hp["mini_batch_size"]))
        _check_finite(vectors, rows)
        local_labels = np.asarray(label)[rows]
    else:
        vectors, local_labels = np.zeros((0, index_dim), dtype=np.float32), np.empty(0)
    ctx.log(f"sampled {rows.size} of {int(counts[ctx.rank])} rows ({sampled} of {int(counts.sum())} overall)")
    all_vectors = ctx.allgather(vectors)
    all_labels = ctx.allgather(local_labels)

    state = None
    if ctx.rank == 0:
        state = _build_state(ctx, hp, np.concatenate(all_vectors), np.concatenate(all_labels), embedding,
                             pq_m)
    metrics: dict[str, float] = {}
    if "test" in data:
        shared = _share_state(ctx, state, hp, embedding)
        metrics = _test_metrics(ctx, shared, data.get("test"), dim)
    for name, value in metrics.items():
        ctx.log_metric(name, value)
    return TrainResult(state, metrics)
