"""What each barrier task runs: decode its share of every channel, rendezvous, train, save (rank 0).

This module is executor code: module-level functions and a small picklable :class:`TaskSpec`, never
closures over driver objects (DESIGN.md section 8). The driver side lives in
:mod:`sagespark.distributed.launcher`.

Steps of one task:

1. read the partition's Arrow batches once and split them by channel (the launcher tagged each row);
2. decode each channel with :func:`sagespark.data.channels.channel_data_from_arrow`;
3. infer hyperparameters (``feature_dim``) from the local data, and agree on them with every other rank
   through the rendezvous store (:mod:`sagespark.distributed.rendezvous`);
4. give ranks whose share of a channel is empty correctly shaped zero-row data, so they can still take
   part in every collective;
5. run ``Algorithm.train`` in a :class:`TorchContext`;
6. rank 0 writes the artifact to a local temp dir, uploads it to the run's store URI, and yields one row
   ``(artifact_uri, metrics, hyperparameters)``; other ranks yield nothing.

A failure raises :class:`~sagespark.errors.TrainingError` carrying the rank, the error and the task's last
log lines in a machine-readable block that the driver turns back into a readable error.

Examples
--------
>>> from sagespark.distributed.worker import decode_failure, encode_failure
>>> text = encode_failure(1, 2, "ValueError", "boom", ["epoch 1"], secondary=False)
>>> decode_failure("Py4JJavaError: ..." + text + "...")["message"]
'boom'
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sagespark.algorithms.base import Algorithm, ChannelData
from sagespark.distributed.logtail import TRAIN_LOGGER, capture_worker_logs
from sagespark.distributed.rendezvous import Rendezvous, exchange
from sagespark.distributed.store import Store
from sagespark.errors import DataFormatError, TrainingError
from sagespark.hyperparams import Hyperparameters

__all__ = [
    "CHANNEL_COLUMN",
    "RESULT_SCHEMA",
    "TaskSpec",
    "train_partition",
    "train_shards",
    "encode_failure",
    "decode_failure",
]

logger = logging.getLogger(TRAIN_LOGGER)

CHANNEL_COLUMN = "__sagespark_channel__"
"""Column the launcher adds when there are several channels: the index of the row's channel in
:attr:`TaskSpec.channels`."""
RESULT_SCHEMA = "artifact_uri string, metrics string, hyperparameters string"
_RESULT_ARROW = pa.schema(
    [("artifact_uri", pa.string()), ("metrics", pa.string()), ("hyperparameters", pa.string())]
)
_BEGIN, _END = "<<<sagespark-worker-failure:", ":sagespark-worker-failure>>>"
_FAILURE = re.compile(re.escape(_BEGIN) + r"(.*?)" + re.escape(_END), re.DOTALL)
# A rank whose collective failed because a peer died waits this long before reporting, so the peer's
# own error (the root cause) reaches the driver first; Spark kills this task meanwhile.
PEER_FAILURE_GRACE_S = 20.0
TAIL_LINES = 40


@dataclass(frozen=True)
class TaskSpec:
    """Everything a barrier task needs; small and picklable (the store travels as its URI)."""

    algorithm: type[Algorithm]
    hyperparameters: Hyperparameters
    channels: tuple[str, ...]
    channel_inputs: tuple[tuple[str, ...], ...]
    run_uri: str
    store: Store
    world_size: int
    use_gpu: bool
    seed: int = 0
    timeout_s: float = 1800.0
    rendezvous: str | None = None  # host:port of the driver's store; None: rank 0's, via a barrier gather


# -- failure reports ----------------------------------------------------------------------------
def encode_failure(
    rank: int, world_size: int, error_type: str, message: str, tail: list[str], *, secondary: bool
) -> str:
    """A worker failure as a human-readable text with a JSON block the driver can find again."""
    block = json.dumps(
        {
            "rank": rank,
            "world_size": world_size,
            "error_type": error_type,
            "message": message,
            "log_tail": tail,
            "secondary": secondary,
        }
    )
    shown = "\n".join(f"  {line}" for line in tail) or "  (no log lines)"
    return (
        f"sagespark worker rank {rank}/{world_size} failed: {error_type}: {message}\n"
        f"Last log lines of rank {rank}:\n{shown}\n{_BEGIN}{block}{_END}"
    )


def decode_failure(text: str) -> dict[str, Any] | None:
    """The first worker failure block in ``text`` (a Spark error message), or ``None``."""
    match = _FAILURE.search(text)
    if match is None:
        return None
    try:
        found = json.loads(match.group(1))
    except json.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None


def _is_peer_failure(err: BaseException) -> bool:
    """Whether ``err`` looks like a collective failing because another rank went away."""
    shm = sys.modules.get("sagespark.distributed.shm")  # loaded only if a shared-memory group existed
    if shm is not None and isinstance(err, shm.CollectiveError):
        return True
    dist = sys.modules.get("torch.distributed")
    if dist is None:  # torch never ran a collective in this process (and importing it takes seconds)
        return False
    if isinstance(err, getattr(dist, "DistError", ())):
        return True
    text = str(err)
    return isinstance(err, RuntimeError) and any(
        marker in text for marker in ("Connection closed by peer", "Connection reset by peer", "gloo", "NCCL")
    )


# -- the task -------------------------------------------------------------------------------------
def train_partition(spec: TaskSpec, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """The ``mapInArrow`` function of the training stage over Arrow rows (bind ``spec`` with
    functools.partial); rank 0 yields the result as one Arrow row."""
    for row in _task(spec, batches):
        yield pa.RecordBatch.from_pylist([row], schema=_RESULT_ARROW)


def train_shards(spec: TaskSpec, manifests: Iterator[str]) -> Iterator[dict[str, str]]:
    """The barrier ``mapPartitions`` function of the training stage over the bridge's shard manifests
    (:mod:`sagespark.data.training_shards`); rank 0 yields the result as a dict."""
    from sagespark.data.training_shards import batches_from_shards

    yield from _task(spec, batches_from_shards(manifests))


def _task(spec: TaskSpec, batches: Iterator[pa.RecordBatch]) -> Iterator[dict[str, str]]:
    from pyspark import BarrierTaskContext

    task = BarrierTaskContext.get()
    rank = task.partitionId()
    with capture_worker_logs(rank) as tail:
        try:
            yield from _run(spec, task, rank, batches)
        except Exception as err:
            secondary = _is_peer_failure(err)
            if secondary:
                time.sleep(PEER_FAILURE_GRACE_S)
            report = encode_failure(
                rank,
                spec.world_size,
                type(err).__name__,
                str(err),
                tail.lines(TAIL_LINES),
                secondary=secondary,
            )
            raise TrainingError(report) from err


def _split_channels(spec: TaskSpec, batches: Iterator[pa.RecordBatch]) -> list[list[pa.RecordBatch]]:
    """Each channel's batches; rows of several channels carry their channel's index in a tag column."""
    per_channel: list[list[pa.RecordBatch]] = [[] for _ in spec.channels]
    for batch in batches:
        if batch.num_rows == 0:
            continue
        tags = batch.column(CHANNEL_COLUMN) if len(spec.channels) > 1 else None
        for index, names in enumerate(spec.channel_inputs):
            part = batch if tags is None else batch.filter(pc.equal(tags, index))
            if part.num_rows:
                per_channel[index].append(part.select(list(names)))
    return per_channel


def _summary(data: dict[str, ChannelData]) -> dict[str, Any]:
    """What other ranks need to know about this rank's share: rows, widths, kinds of each input."""
    out: dict[str, Any] = {}
    for name, channel in data.items():
        features = channel.features
        out[name] = {
            "rows": channel.num_rows,
            "width": None if features is None else int(features.shape[1]),
            "sparse": features is not None and not isinstance(features, np.ndarray),
            "label": channel.label is not None,
            "columns": {k: v.dtype.str for k, v in channel.columns.items()},
        }
    return out


def _decode(spec: TaskSpec, rank: int, batches: Iterator[pa.RecordBatch]) -> dict[str, ChannelData]:
    """This rank's share of every channel, read once from Arrow."""
    from sagespark.data.channels import channel_data_from_arrow

    data: dict[str, ChannelData] = {}
    for name, names, parts in zip(spec.channels, spec.channel_inputs, _split_channels(spec, batches)):
        inputs = tuple(f for f in spec.algorithm.inputs if f.name in names)
        try:
            data[name] = channel_data_from_arrow(parts, inputs)
        except DataFormatError as err:
            raise DataFormatError(f"In the {name!r} channel (rows of rank {rank}'s share): {err}") from err
    shares = ", ".join(
        f"{n}={c.num_rows}" + ("" if c.features is None else f"x{c.features.shape[1]}")
        for n, c in data.items()
    )
    logger.info("[rank %d/%d] read its share of the data: %s", rank, spec.world_size, shares)
    return data


def _agree(
    spec: TaskSpec, store: Any, rank: int, data: dict[str, ChannelData]
) -> tuple[Hyperparameters, dict[str, ChannelData]]:
    """Agree with every rank on hyperparameters and shapes; give empty shares their agreed shape."""
    from sagespark.distributed.agreement import agree, fill_empty

    algorithm = spec.algorithm
    train = data["train"]
    hp = algorithm.infer_hyperparameters(spec.hyperparameters, train) if train.num_rows else None
    message = {"rank": rank, "data": _summary(data), "hp": None if hp is None else hp.to_wire()}
    agreed = agree(algorithm, spec.channels, exchange(store, rank, spec.world_size, message))
    if hp is None or hp.to_wire() != agreed.hyperparameters:
        # A rank without training rows adopts what the others inferred.
        hp = algorithm.hyperparameters.from_wire(agreed.hyperparameters)
    return hp, fill_empty(data, agreed)


def _run(spec: TaskSpec, task: Any, rank: int, batches: Iterator[pa.RecordBatch]) -> Iterator[dict[str, str]]:
    from sagespark.distributed.torch_context import TorchContext

    algorithm = spec.algorithm
    rendezvous = Rendezvous(task, rank, spec.world_size, spec.rendezvous, _timeout(spec))
    data = _decode(spec, rank, batches)
    store = rendezvous.store()
    hp, data = _agree(spec, store, rank, data)
    device = _device(spec, task, rank)
    with TorchContext(
        rank, spec.world_size, store=store, device=device, seed=spec.seed, timeout=_timeout(spec)
    ) as ctx:
        rows = ", ".join(f"{n}={c.num_rows}" for n, c in data.items())
        ctx.log(f"training {algorithm.name} on {device} with rows {rows}; hyperparameters {hp.to_wire()}")
        result = algorithm.train(ctx, data, hp)
        ctx.log("training finished")
    if rank != 0:
        return
    # Rank 0 writes the model locally, then uploads it: the driver only ever sees its URI.
    staging = tempfile.mkdtemp(prefix="sagespark-artifact-")
    try:
        from sagespark.algorithms.artifact import save_artifact

        save_artifact(staging, algorithm, hp, result.state, result.metrics)
        spec.store.upload_dir(staging, spec.run_uri)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    metrics = {k: float(v) for k, v in result.metrics.items()}
    row = {
        "artifact_uri": spec.run_uri,
        "metrics": json.dumps(metrics),
        "hyperparameters": json.dumps(hp.to_wire()),
    }
    yield row


def _timeout(spec: TaskSpec) -> Any:
    import datetime as dt

    return dt.timedelta(seconds=spec.timeout_s)


def _device(spec: TaskSpec, task: Any, rank: int) -> str:
    """``cuda:N`` from the task's Spark GPU resource (or ``rank % device count``), else ``cpu``."""
    if not spec.use_gpu:
        return "cpu"
    import torch

    if not torch.cuda.is_available():
        raise TrainingError(f"use_gpu is set, but rank {rank} sees no CUDA device (no torch.cuda).")
    gpus = task.resources().get("gpu")
    if gpus is not None and gpus.addresses:
        return f"cuda:{int(gpus.addresses[0])}"
    return f"cuda:{rank % torch.cuda.device_count()}"
