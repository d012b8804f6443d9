"""K-Means training across ranks: stream, gather, reduce to ``k``, refine data-parallel, evaluate.

1. Every rank streams its shard with web-scale mini-batch k-means over ``k * extra_center_factor``
   weighted centres (:mod:`.minibatch`).
2. The centres and weights of all ranks are gathered; rank 0 reduces them to ``k`` with weighted Lloyd
   (``local_lloyd_*``: seeding, iterations, tolerance, best of ``local_lloyd_num_trials``) and
   broadcasts the result.
3. A few full-data Lloyd passes run data-parallel (per-centre sums and counts allreduced), which lifts
   the result to batch k-means quality (scikit-learn's ``KMeans``) at one data scan per pass.
4. ``msd`` / ``ssd`` are computed on the train channel and, when present, the test channel.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms.base import ChannelData
>>> from sagespark.algorithms.kmeans.hyperparameters import KMeansHyperparameters
>>> from sagespark.distributed.context import LocalContext
>>> x = np.vstack([np.zeros((20, 2)), np.ones((20, 2))]).astype(np.float32)
>>> hp = KMeansHyperparameters.from_dict({"k": 2})
>>> result = train_kmeans(LocalContext(), {"train": ChannelData(x)}, hp)
>>> result.metrics["train:msd"]
0.0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sagespark.algorithms.base import ChannelData, Matrix, TrainResult
from sagespark.algorithms.kmeans.geometry import cluster_sums
from sagespark.algorithms.kmeans.hyperparameters import resolve_extra_center_factor, resolve_num_trials
from sagespark.algorithms.kmeans.lloyd import best_weighted_lloyd, nearest
from sagespark.algorithms.kmeans.minibatch import stream_centers
from sagespark.algorithms.matrix import as_matrix, iter_batches, num_rows, resolve_feature_dim
from sagespark.distributed.context import TrainContext
from sagespark.errors import InvalidHyperparameterError
from sagespark.hyperparams import Hyperparameters

__all__ = ["KMeansState", "train_kmeans", "REFINE_MAX_PASSES"]

REFINE_MAX_PASSES = 10
"""Upper bound on the data-parallel Lloyd passes after the reduction (each is one scan of the data)."""


@dataclass
class KMeansState:
    """The trained model: ``k × feature_dim`` float64 cluster centres."""

    centers: np.ndarray


def _features(channel: ChannelData | None, name: str) -> Matrix | None:
    if channel is None or channel.features is None:
        return None
    return as_matrix(channel.features, where=f"features' of channel '{name}")


def _lloyd_pass(ctx: TrainContext, features: Matrix | None, centers: np.ndarray, batch_size: int
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """One data-parallel Lloyd step: allreduced per-centre sums, counts and the total squared distance."""
    k, d = centers.shape
    sums = np.zeros((k, d))
    counts = np.zeros(k)
    sse = 0.0
    if features is not None and features.shape[0]:
        for _, batch in iter_batches(features, batch_size):
            labels, d2 = nearest(batch, centers)
            sums += cluster_sums(batch, labels, k)
            counts += np.bincount(labels, minlength=k)
            sse += float(d2.sum())
    packed = ctx.allreduce(np.concatenate([sums.ravel(), counts, [sse]]))
    return packed[: k * d].reshape(k, d), packed[k * d: k * d + k], float(packed[-1])


def _squared_error(ctx: TrainContext, features: Matrix | None, centers: np.ndarray, batch_size: int
                   ) -> tuple[float, int]:
    """Total squared distance to the nearest centre and row count, summed over ranks."""
    sse = 0.0
    if features is not None and features.shape[0]:
        for _, batch in iter_batches(features, batch_size):
            sse += float(nearest(batch, centers)[1].sum())
    total = ctx.allreduce(np.array([sse, float(num_rows(features))]))
    return float(total[0]), int(total[1])


def _refine(ctx: TrainContext, features: Matrix | None, centers: np.ndarray, *, tol: float,
            batch_size: int) -> tuple[np.ndarray, float | None]:
    """Full-data Lloyd passes until the relative loss decrease is ``tol`` or less.

    Returns the centres and their exact total squared distance when the last pass measured it.
    """
    previous = math.inf
    for step in range(1, REFINE_MAX_PASSES + 1):
        sums, counts, sse = _lloyd_pass(ctx, features, centers, batch_size)
        ctx.log(f"refinement pass {step}: ssd={sse:.6g}")
        if previous < math.inf and previous - sse <= tol * previous:
            return centers, sse
        previous = sse
        filled = counts > 0
        # An empty cluster keeps its centre: every rank decides alike, so the model stays consistent.
        centers = centers.copy()
        centers[filled] = sums[filled] / counts[filled, None]
    return centers, None


def train_kmeans(ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
    """Train K-Means on this rank's shards; every rank returns the same centres and metrics.

    Raises
    ------
    InvalidHyperparameterError
        When ``k`` exceeds the number of training rows.
    DataFormatError
        For a feature width that disagrees with ``feature_dim`` or across partitions, or a non-finite value.
    """
    train = _features(data.get("train"), "train")
    dim = resolve_feature_dim(ctx, train, hp["feature_dim"])
    k = int(hp["k"])
    total_rows = int(ctx.allreduce(np.array([float(num_rows(train))]))[0])
    if total_rows < k:
        raise InvalidHyperparameterError(
            f"The 'k' parameter of KMeans must be at most the number of training rows ({total_rows}). "
            f"Got {k} instead."
        )
    batch = int(hp["mini_batch_size"])
    stream_rng = np.random.default_rng([ctx.seed, 0, ctx.rank])
    local_centers, local_weights = stream_centers(
        ctx, train, n_centers=k * resolve_extra_center_factor(hp), mini_batch_size=batch,
        epochs=int(hp["epochs"]), init_method=hp["init_method"], half_life=int(hp["half_life_time_size"]),
        rng=stream_rng,
    )
    if local_centers.shape[1] != dim:  # an empty shard's placeholder
        local_centers = np.zeros((0, dim))
    all_centers = np.concatenate(ctx.allgather(local_centers), axis=0)
    all_weights = np.concatenate(ctx.allgather(local_weights), axis=0)

    reduced: np.ndarray | None = None
    if ctx.rank == 0:
        keep = all_weights > 0
        if int(keep.sum()) < k:
            # Centres that won no point still represent data rows; give them a token weight.
            keep = np.ones_like(keep)
            all_weights = np.maximum(all_weights, 1e-6 * max(float(all_weights.max()), 1.0))
        reduced, loss = best_weighted_lloyd(
            all_centers[keep], all_weights[keep], k, init=hp["local_lloyd_init_method"],
            max_iter=int(hp["local_lloyd_max_iter"]), tol=float(hp["local_lloyd_tol"]),
            trials=resolve_num_trials(hp), rng=np.random.default_rng([ctx.seed, 1]),
        )
        ctx.log(f"reduced {int(keep.sum())} weighted centres to k={k} (weighted loss {loss:.6g})")
    centers = ctx.broadcast(reduced, src=0)

    centers, train_sse = _refine(ctx, train, centers, tol=float(hp["local_lloyd_tol"]), batch_size=batch)
    if train_sse is None:
        train_sse, _ = _squared_error(ctx, train, centers, batch)
    metrics = _metrics("train", train_sse, total_rows, hp["eval_metrics"])
    if "test" in data:
        test = _features(data.get("test"), "test")
        resolve_feature_dim(ctx, test, dim, channel="test")
        test_sse, test_rows = _squared_error(ctx, test, centers, batch)
        if test_rows:
            metrics.update(_metrics("test", test_sse, test_rows, hp["eval_metrics"]))
    for name, value in metrics.items():
        ctx.log_metric(name, value)
    return TrainResult(KMeansState(np.ascontiguousarray(centers, dtype=np.float64)), metrics)


def _metrics(channel: str, sse: float, rows: int, wanted: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for name in wanted:
        out[f"{channel}:{name}"] = sse / rows if name == "msd" else sse
    return out
