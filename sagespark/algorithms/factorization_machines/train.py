"""Data-parallel FM training: synchronous mini-batch lazy Adam with row-sparse gradient exchange.

Every rank starts from the same parameters (same seed), splits its shard into the same number of
mini-batches, and per step computes the summed gradient of its batch over the feature rows the batch
touches (:mod:`.kernels`). The ranks exchange those rows (an allgather of ``u × (k + 2)`` values, with
``u`` the batch's distinct features, instead of a dense ``feature_dim × k`` allreduce), sum them, and
apply the identical lazy Adam update (:mod:`.optimizer`), so all replicas stay equal. Training loss is
logged per epoch; the test channel is scored at the end with the same predictor that serves the model.

Examples
--------
>>> import numpy as np
from sagespark.algorithms.base import ChannelData
>>> from sagespark.distributed.context import LocalContext
>>> from sagespark.algorithms.factorization_machines.hyperparameters import (
...     FactorizationMachinesHyperparameters)
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(400, 3)).astype(np.float32)
>>> hp = FactorizationMachinesHyperparameters.from_dict({"num_factors": 2, "predictor_type": "regressor",
...     "feature_dim": 3, "epochs": 30, "mini_batch_size": 50, "linear_lr": 0.05})
>>> result = train_fm(LocalContext(), {"train": ChannelData(x, x @ np.array([1.0, -2.0, 0.5]))}, hp)
>>> bool(result.metrics["train:rmse"] < 0.1)
True
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import scipy.sparse as sp
import torch

from sagespark.algorithms.base import ChannelData, Matrix, TrainResult
from sagespark.algorithms.factorization_machines.batches import SparseBatch, prepare_batches
from sagespark.algorithms.factorization_machines.exchange import GradientExchange
from sagespark.algorithms.factorization_machines.hyperparameters import optimizer_settings
from sagespark.algorithms.factorization_machines.kernels import backward, forward, loss_gradient
from sagespark.algorithms.factorization_machines.metrics import evaluate, label_errors
from sagespark.algorithms.factorization_machines.parameters import FMParameters
from sagespark.algorithms.factorization_machines.predict import FMPredictor
from sagespark.algorithms.matrix import as_matrix, check_finite, num_rows, resolve_feature_dim
from sagespark.algorithms.torch_threads import one_intra_op_thread
from sagespark.distributed.context import TrainContext
from sagespark.errors import DataFormatError
from sagespark.hyperparams import Hyperparameters

__all__ = ["train_fm"]


def _channel(data: Mapping[str, ChannelData], name: str, predictor_type: str
             ) -> tuple[Matrix | None, np.ndarray]:
    """A channel's features and labels, checked (finite features, labels valid for the predictor)."""
    channel = data.get(name)
    if channel is None or channel.features is None or channel.features.shape[0] == 0:
        return None, np.zeros(0)
    features = as_matrix(channel.features, where=f"features' of channel '{name}")
    if channel.label is None:
        raise DataFormatError(
            f"Channel '{name}' has no 'label' column; Factorization Machines train on labelled rows.")
    label = np.asarray(channel.label, dtype=np.float64).ravel()
    if label.shape[0] != features.shape[0]:
        raise DataFormatError(
            f"Channel '{name}' has {features.shape[0]} feature rows but {label.shape[0]} labels.")
    bad = label_errors(predictor_type, label)
    if bad is not None:
        raise DataFormatError(
            f"Column 'label' of channel '{name}' holds {label[bad[0]]!r} in row {bad[0]} of this "
            f"worker's partition; expected {bad[1]}."
        )
    check_finite(features, 0)
    return features, label


def train_fm(ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
    """Train a factorization machine on this rank's shards; every rank ends with the same model.

    Raises
    ------
    DataFormatError
        For a missing or invalid label (binary labels must be 0 or 1), a non-finite feature, or a
        feature width that disagrees with ``feature_dim`` or across partitions.
    InvalidHyperparameterError
        For a ``uniform`` / ``constant`` initialisation without its scale / value.
    """
    # Steps touch a few thousand values: one intra-op thread on the CPU, the ranks are the parallelism.
    with one_intra_op_thread(torch.device(ctx.device).type == "cpu"):
        return _train(ctx, data, hp)


def _train(ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
    predictor_type = hp["predictor_type"]
    features, label = _channel(data, "train", predictor_type)
    dim = resolve_feature_dim(ctx, features, hp["feature_dim"])
    k = int(hp["num_factors"])
    rescale = optimizer_settings(hp).rescale
    device = torch.device(ctx.device)
    # Same seed on every rank: identical replicas without a broadcast of the (possibly large) table.
    params = FMParameters.initial(hp, feature_dim=dim, seed=ctx.seed, device=str(device))

    n = num_rows(features)
    batch_size = int(hp["mini_batch_size"])
    # Every rank takes as many steps as the largest shard needs; smaller shards make smaller batches.
    largest = int(ctx.allreduce(np.array([float(n)]), op="max")[0])
    steps = max(1, -(-largest // batch_size))
    shuffle_rng = np.random.default_rng([ctx.seed, 29, ctx.rank])
    batches: list[SparseBatch] = []
    if features is not None:
        order = shuffle_rng.permutation(n)
        shuffled = features[order] if sp.issparse(features) else np.asarray(features)[order]
        batches = prepare_batches(shuffled, label[order], num_batches=steps, device=str(device))
    ctx.log(f"training on {n} rows in {len(batches)} mini-batches per epoch ({steps} steps, "
            f"feature_dim={dim}, num_factors={k})")

    capacity = max((int(b.cols.shape[0]) for b in batches), default=0)
    exchange = GradientExchange.create(ctx, width=1 + k, capacity=capacity, device=str(device))
    empty_cols = torch.zeros(0, dtype=torch.int64, device=device)
    empty_rows = torch.zeros((0, 1 + k), dtype=torch.float32, device=device)
    zero = torch.zeros((), dtype=torch.float32, device=device)
    metrics: dict[str, float] = {}
    for epoch in range(1, int(hp["epochs"]) + 1):
        loss_sum = torch.zeros((), dtype=torch.float64, device=device)
        for index in shuffle_rng.permutation(steps):
            batch = batches[index] if index < len(batches) else None
            if batch is not None:
                scores, sums, xp = forward(batch, params.bias, params.table)
                grad, loss = loss_gradient(scores, batch.label, predictor_type)
                loss_sum += loss.double()
                bias_grad, rows = backward(batch, grad, sums, xp)
                cols, count = batch.cols, batch.num_rows
            else:
                bias_grad, cols, rows, count = zero, empty_cols, empty_rows, 0
            bias_sum, global_count, cols, rows = exchange(bias_grad, cols, rows, count)
            if global_count <= 0:
                continue
            params.update(bias_sum, cols, rows, rescale if rescale is not None else 1.0 / global_count)
        total = ctx.allreduce(np.array([float(loss_sum), float(n)]))
        name, value = ("train:rmse", float(np.sqrt(total[0] / total[1]))) if predictor_type == "regressor" \
            else ("train:binary_classification_cross_entropy", float(total[0] / total[1]))
        metrics[name] = value
        ctx.log_metric(name, value, epoch=epoch)

    state = params.to_state()
    if "test" in data:
        test_features, test_label = _channel(data, "test", predictor_type)
        resolve_feature_dim(ctx, test_features, dim, channel="test")
        score = FMPredictor(state).scores(test_features) if test_features is not None else np.zeros(0)
        test_metrics = evaluate(ctx, "test", predictor_type, score, test_label)
        for name, value in test_metrics.items():
            ctx.log_metric(name, value)
        metrics.update(test_metrics)
    return TrainResult(state, metrics)
