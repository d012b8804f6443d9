"""Data-parallel FM training: synchronous mini-batch lazy Adam with row-sparse gradient exchange.

Every rank starts from the same parameters (same seed), splits its shard into the same number of
mini-batches, and per step writes the summed gradient of its batch over the features the batch
touches as a *packet* (:mod:`.fused`). The ranks allgather the packets (``u × (k + 2)`` values, with
``u`` the batch's distinct features, instead of a dense ``feature_dim × k`` allreduce), and each sums
them in rank order and applies the identical lazy Adam update (:mod:`.parameters`), so all replicas
stay equal. Ranks on one host keep a single table in shared memory instead: each applies the update
to the rows it owns (feature id modulo the world size) and a barrier ends the step, so the table is
the one the replicas would hold, in a world-size-th of the memory and update work. Training loss is
logged per epoch; the test channel is scored at the end with the same predictor that serves the model.

The step is compiled CPU code whatever the context's device: a batch of SageMaker's default 1,000
one-hot rows is a few thousand table rows, far below what pays for a GPU kernel launch per operation
(SageMaker, too, recommends CPU instances for sparse data). Ranks sharing a table also share a board
of packets, so a packet is never copied (:mod:`.exchange`); across hosts the packets go through the
context's torch collectives.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms.base import ChannelData
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

from sagespark.algorithms.base import ChannelData, Matrix, TrainResult
from sagespark.algorithms.factorization_machines.batches import shard_batches
from sagespark.algorithms.factorization_machines.exchange import PacketExchange
from sagespark.algorithms.factorization_machines.fused import HEADER_WIDTH, batch_kernel
from sagespark.algorithms.factorization_machines.hyperparameters import optimizer_settings
from sagespark.algorithms.factorization_machines.metrics import evaluate, label_errors
from sagespark.algorithms.factorization_machines.parameters import FMParameters
from sagespark.algorithms.factorization_machines.predict import FMPredictor
from sagespark.algorithms.matrix import as_matrix, check_finite, num_rows, resolve_feature_dim
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
    predictor_type = hp["predictor_type"]
    features, label = _channel(data, "train", predictor_type)
    dim = resolve_feature_dim(ctx, features, hp["feature_dim"])
    k = int(hp["num_factors"])
    rescale = optimizer_settings(hp).rescale
    # Same seed on every rank: identical replicas without a broadcast of the (possibly large) table.
    # Ranks on one host share one table and each updates the rows it owns.
    params = FMParameters.initial(hp, feature_dim=dim, seed=ctx.seed, ctx=ctx)

    n = num_rows(features)
    batch_size = int(hp["mini_batch_size"])
    # Every rank takes as many steps as the largest shard needs; smaller shards make smaller batches.
    largest = int(ctx.allreduce(np.array([float(n)]), op="max")[0])
    steps = max(1, -(-largest // batch_size))
    shuffle_rng = np.random.default_rng([ctx.seed, 29, ctx.rank])
    shard = shard_batches(features, label, num_batches=steps, order=shuffle_rng.permutation(n))
    layout = "one table in shared memory for all ranks" if params.shared else "a replica per rank"
    ctx.log(f"training on {n} rows in {steps} mini-batches per epoch (feature_dim={dim}, num_factors={k}; "
            f"{layout})")

    exchange = PacketExchange.create(ctx, capacity=shard.capacity, width=max(HEADER_WIDTH, 2 + k),
                                     shared=params.shared)
    packet, packet_ids = exchange.packet, exchange.packet_ids
    regressor = predictor_type == "regressor"
    batch_packet = batch_kernel(params.width)
    metrics: dict[str, float] = {}
    for epoch in range(1, int(hp["epochs"]) + 1):
        loss_sum = rows_sum = 0.0
        for index in shuffle_rng.permutation(steps):
            u = batch_packet(shard.indptr, shard.indices, shard.data, shard.label, shard.bounds[index],
                             shard.bounds[index + 1], params.bias, params.state, regressor, params.slots,
                             packet, packet_ids)
            rows, loss = params.update(exchange.exchange(u), rescale)
            exchange.done()
            rows_sum += rows
            loss_sum += loss
        name, value = ("train:rmse", float(np.sqrt(loss_sum / max(rows_sum, 1.0)))) \
            if regressor else ("train:binary_classification_cross_entropy", loss_sum / max(rows_sum, 1.0))
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
