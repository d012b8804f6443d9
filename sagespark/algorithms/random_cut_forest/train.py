"""Random Cut Forest training across ranks: sample, build the trees on the workers, evaluate.

1. Shard sizes are gathered; every rank draws the same per-tree, per-shard sample counts and takes
   its share of every tree's uniform sample (:mod:`.sampling`); one allgather gives every rank all
   ``num_trees × num_samples_per_tree`` points (never the data set itself).
2. Rank ``r`` builds trees ``r, r + world, ...`` (:func:`.forest.build_forest`); one allgather of the
   packed node arrays assembles the forest on every rank.
3. A labelled ``test`` channel is scored on its own workers. As the developer guide's tuning page
   says, points whose score lies more than three standard deviations above the mean test score are
   labelled anomalous; ``test:accuracy`` and ``test:precision`` / ``test:recall`` / ``test:f1`` (of
   the anomalous class, label 1) compare those labels with the true ones.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms.base import ChannelData
>>> from sagespark.algorithms.random_cut_forest.hyperparameters import RandomCutForestHyperparameters
>>> from sagespark.distributed.context import LocalContext
>>> x = np.random.default_rng(0).normal(size=(300, 2)).astype(np.float32)
>>> hp = RandomCutForestHyperparameters.from_dict({"num_trees": 50, "num_samples_per_tree": 64})
>>> result = train_rcf(LocalContext(), {"train": ChannelData(x)}, hp)
>>> result.state.num_trees, int(result.state.mass[result.state.roots[0]])
(50, 64)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sagespark.algorithms.base import ChannelData, Matrix, TrainResult
from sagespark.algorithms.matrix import as_matrix, check_finite, iter_batches, num_rows, resolve_feature_dim
from sagespark.algorithms.random_cut_forest.forest import Forest, build_forest
from sagespark.algorithms.random_cut_forest.predict import score_matrix
from sagespark.algorithms.random_cut_forest.sampling import (
    assemble_samples,
    draw_local_samples,
    plan_sample_counts,
)
from sagespark.distributed.context import TrainContext
from sagespark.errors import DataFormatError
from sagespark.hyperparams import Hyperparameters

__all__ = ["train_rcf", "SIGMA_THRESHOLD", "classification_metrics"]

SIGMA_THRESHOLD = 3.0
"""Test points scoring above mean + 3σ of the test scores are labelled anomalous (SageMaker's rule)."""


def _features(channel: ChannelData | None, name: str) -> Matrix | None:
    if channel is None or channel.features is None:
        return None
    return as_matrix(channel.features, where=f"features' of channel '{name}")


def _check_finite(features: Matrix | None) -> None:
    if features is not None:
        for start, batch in iter_batches(features, 65536):
            check_finite(batch, start)


def train_rcf(ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
    """Train a Random Cut Forest on this rank's shards; every rank returns the same forest and metrics.

    Raises
    ------
    DataFormatError
        For an empty train channel, a feature width that disagrees with ``feature_dim`` or across
        partitions, a non-finite value, or test labels other than 0 and 1.
    """
    train = _features(data.get("train"), "train")
    dim = resolve_feature_dim(ctx, train, hp["feature_dim"])
    _check_finite(train)
    shard_rows = np.concatenate(ctx.allgather(np.array([num_rows(train)], dtype=np.int64)))
    if int(shard_rows.sum()) == 0:
        raise DataFormatError("Channel 'train' has no rows on any worker; Random Cut Forest needs data.")
    num_trees, sample_size = int(hp["num_trees"]), int(hp["num_samples_per_tree"])
    # Same seed on every rank: all ranks agree on the counts without exchanging them.
    counts = plan_sample_counts(shard_rows, num_trees=num_trees, sample_size=sample_size,
                                rng=np.random.default_rng([ctx.seed, 11]))
    local = draw_local_samples(train, counts[:, ctx.rank], np.random.default_rng([ctx.seed, 12, ctx.rank]),
                               dim=dim)
    samples = assemble_samples(ctx.allgather(local), counts)
    ctx.log(f"sampled {samples.shape[1]} of {int(shard_rows.sum())} rows for each of {num_trees} trees")

    mine = np.arange(ctx.rank, num_trees, ctx.world_size)
    if mine.size:
        piece = build_forest(samples[mine], np.random.default_rng([ctx.seed, 13, ctx.rank])).pack()
    else:
        piece = np.zeros((0, 5 + 2 * dim))
    trees_per_rank = [len(range(r, num_trees, ctx.world_size)) for r in range(ctx.world_size)]
    forest = Forest.from_packed(ctx.allgather(piece), trees_per_rank)
    ctx.log(f"built {forest.num_trees} trees ({forest.num_nodes} nodes)")

    metrics: dict[str, float] = {}
    if "test" in data:
        metrics = _test_metrics(ctx, data["test"], forest, dim, hp["eval_metrics"])
    for name, value in metrics.items():
        ctx.log_metric(name, value)
    return TrainResult(forest, metrics)


def _test_metrics(ctx: TrainContext, channel: ChannelData, forest: Forest, dim: int, wanted: list[str]
                  ) -> dict[str, float]:
    features = _features(channel, "test")
    resolve_feature_dim(ctx, features, dim, channel="test")
    labels = channel.label
    has_rows = num_rows(features) > 0
    # Metrics need labels on every rank that holds test rows.
    labels_here = 0.0 if has_rows and labels is None else 1.0
    if float(ctx.allreduce(np.array([labels_here]), op="min")[0]) < 1.0:
        ctx.log("test channel has no label column: no test metrics")
        return {}
    scores = score_matrix(forest, features) if has_rows and features is not None else np.zeros(0)
    truth = np.zeros(0) if labels is None or not has_rows else np.asarray(labels, dtype=np.float64)
    bad = np.flatnonzero((truth != 0.0) & (truth != 1.0))
    if bad.size:
        raise DataFormatError(
            f"Column 'label' of channel 'test' must be 0 (normal) or 1 (anomaly); row {int(bad[0])} of this "
            f"worker's partition holds {truth[bad[0]]!r}."
        )
    moments = ctx.allreduce(np.array([scores.size, scores.sum(), np.square(scores).sum()], dtype=np.float64))
    if moments[0] == 0:
        return {}
    mean = moments[1] / moments[0]
    std = float(np.sqrt(max(moments[2] / moments[0] - mean * mean, 0.0)))
    threshold = mean + SIGMA_THRESHOLD * std
    ctx.log(f"test scores: mean={mean:.6g} std={std:.6g}; anomaly threshold {threshold:.6g}")
    predicted = scores > threshold
    actual = truth == 1.0
    confusion = ctx.allreduce(np.array([
        np.sum(predicted & actual), np.sum(predicted & ~actual), np.sum(~predicted & actual),
        np.sum(~predicted & ~actual)], dtype=np.float64))
    return classification_metrics(*(float(c) for c in confusion), wanted=wanted)


def classification_metrics(tp: float, fp: float, fn: float, tn: float, *, wanted: list[str]
                           ) -> dict[str, float]:
    """``test:accuracy`` and the anomalous class's ``test:precision`` / ``recall`` / ``f1``.

    An undefined ratio (no predicted or no actual anomalies) is 0, as scikit-learn reports it.

    Examples
    --------
    >>> m = classification_metrics(8, 2, 2, 88, wanted=["accuracy", "precision_recall_fscore"])
    >>> {k: round(v, 6) for k, v in m.items()}
    {'test:accuracy': 0.96, 'test:precision': 0.8, 'test:recall': 0.8, 'test:f1': 0.8}
    """
    out: dict[str, float] = {}
    total = tp + fp + fn + tn
    if "accuracy" in wanted:
        out["test:accuracy"] = (tp + tn) / total if total else 0.0
    if "precision_recall_fscore" in wanted:
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out.update({"test:precision": precision, "test:recall": recall, "test:f1": f1})
    return out
