"""Train an algorithm inside one Spark barrier stage (DESIGN.md sections 1 and 5).

The driver tags each channel's rows with the channel's index (when there are several), unions the
channels, spreads the union over ``num_workers`` partitions (so every task holds a share of every
channel) and runs a single barrier stage whose tasks train together
(:mod:`sagespark.distributed.worker`). With the Scala bridge (:mod:`sagespark.bridge`), each task first
writes its partition to flat files that its Python worker reads (:mod:`sagespark.data.training_shards`),
which is about twice as fast as Spark's Arrow writer, and the stage is a plain RDD stage over one
manifest per task; without the bridge, or for string inputs, the rows travel as Arrow batches through a
barrier ``mapInArrow``. Rank 0 writes the model artifact to the :class:`~sagespark.distributed.store.Store`
and returns only its URI, the metrics and the resolved hyperparameters: neither data nor model bytes
pass through the driver.

Examples
--------
>>> from sagespark.distributed.launcher import train_on_spark
>>> from sagespark.distributed.store import Store
>>> outcome = train_on_spark({"train": df}, KMeans, hp, num_workers=2,
...                          store=Store.from_uri(None))                  # doctest: +SKIP
>>> outcome.artifact_uri, outcome.metrics                                 # doctest: +SKIP
('/tmp/sagespark-store/kmeans-20260101-120000-0123456789ab', {'train:msd': 0.12})
"""

from __future__ import annotations

import functools
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sagespark.algorithms.base import Algorithm
from sagespark.bridge import shard_manifests, training_shards
from sagespark.data.columns import dense_vector_columns
from sagespark.distributed.rendezvous import RENDEZVOUS_CONF, DriverStore
from sagespark.distributed.store import Store
from sagespark.distributed.worker import (
    CHANNEL_COLUMN,
    RESULT_SCHEMA,
    TaskSpec,
    decode_failure,
    train_partition,
    train_shards,
)
from sagespark.errors import DataFormatError, TrainingError
from sagespark.hyperparams import Hyperparameters

if TYPE_CHECKING:
    from pyspark import SparkContext
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["TrainingOutcome", "train_on_spark", "concurrent_task_slots"]

logger = logging.getLogger(__name__)

SLOT_WAIT_CONF = "spark.sagespark.barrier.slotWaitSeconds"
"""Spark conf: how long to wait for executors to register before a barrier stage (default 60)."""
_MAX_SPARK_MESSAGE = 3000


@dataclass(frozen=True)
class TrainingOutcome:
    """What a training run returns to the driver: where the model is, how it did, what it used.

    Attributes
    ----------
    artifact_uri : str
        The run's directory in the store, holding ``manifest.json`` and the payload.
    metrics : dict[str, float]
        Final metrics reported by rank 0.
    hyperparameters : Hyperparameters
        The hyperparameters used, inferred values (``feature_dim``) filled in.
    """

    artifact_uri: str
    metrics: dict[str, float]
    hyperparameters: Hyperparameters


# -- checks before the stage ------------------------------------------------------------------
def concurrent_task_slots(sc: SparkContext) -> int | None:
    """How many tasks of the default resource profile the cluster can run at once (``None``: unknown).

    Spark counts cores, ``spark.task.cpus`` and custom resources (GPUs) per executor; this asks the same
    scheduler method that the barrier slot check uses.
    """
    try:
        jsc = sc._jsc.sc()  # type: ignore[union-attr]
        profile = jsc.resourceProfileManager().defaultResourceProfile()
        return int(jsc.maxNumConcurrentTasks(profile))
    except Exception:  # a Spark without this (private) method: let Spark's own check decide
        return None


def _conf(sc: SparkContext) -> Any:
    """The context's live SparkConf: one JVM call per lookup, where ``getConf()`` first copies every entry."""
    return sc._conf  # type: ignore[attr-defined]


def _check_cluster(sc: SparkContext, num_workers: int) -> None:
    conf = _conf(sc)
    if conf.get("spark.dynamicAllocation.enabled", "false").lower() == "true":
        raise TrainingError(
            "sagespark trains in a Spark barrier stage, which does not support dynamic allocation; "
            "set spark.dynamicAllocation.enabled=false."
        )
    master = sc.master or ""
    # Only a cluster manager can add executors while we wait; local[N] has all its slots from the start.
    fixed = master.startswith("local") and not master.startswith("local-cluster")
    deadline = time.monotonic() + float(conf.get(SLOT_WAIT_CONF, "60"))
    while True:
        slots = concurrent_task_slots(sc)
        if slots is None or slots >= num_workers:
            return
        if fixed or time.monotonic() >= deadline:
            break
        time.sleep(0.5)
    raise TrainingError(
        f"num_workers={num_workers} needs {num_workers} tasks running at once in one barrier stage, but "
        f"the cluster ({master}) can run only {slots} (executor cores / spark.task.cpus, and GPUs per "
        f"task when set). Lower num_workers to at most {slots} or add executors."
    )


def _use_gpu(sc: SparkContext, use_gpu: bool | None) -> bool:
    if use_gpu is not None:
        return use_gpu
    amount = _conf(sc).get("spark.task.resource.gpu.amount")
    return amount is not None and float(amount) > 0


# -- the stage --------------------------------------------------------------------------------
def _union_channels(
    channels: dict[str, DataFrame], algorithm: type[Algorithm], *, float_arrays: bool
) -> tuple[DataFrame, tuple[str, ...], tuple[tuple[str, ...], ...]]:
    from pyspark.errors import AnalysisException
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    input_names = [f.name for f in algorithm.inputs]
    names = ("train", *[n for n in channels if n != "train"])
    vectors = [f.name for f in algorithm.inputs if f.kind == "vector"]
    as_float_arrays = dense_vector_columns(channels["train"], vectors) if float_arrays else set()
    present: list[tuple[str, ...]] = []
    parts = []
    single = len(names) == 1
    for index, name in enumerate(names):
        df = channels[name]
        columns = tuple(c for c in input_names if c in df.columns)
        if name == "train":
            missing = [
                f"{f.name!r} (set {f.param})"
                for f in algorithm.inputs
                if f.required_for_training and f.name not in columns
            ]
            if missing:
                raise DataFormatError(
                    f"The 'train' channel has no column {', '.join(missing)}, which {algorithm.name} needs "
                    f"for training; its columns are {df.columns}."
                )
        present.append(columns)
        if single and not as_float_arrays and tuple(df.columns) == columns:
            parts.append(df)  # already the inputs: another select would cost its analysis (~20 ms)
            continue
        selected = [
            vector_to_array(F.col(f"`{c}`"), "float32").alias(c) if c in as_float_arrays else F.col(f"`{c}`")
            for c in columns
        ]
        # Rows of several channels carry their channel's index (a lone channel needs none).
        tag = [] if single else [F.lit(index).cast("int").alias(CHANNEL_COLUMN)]
        parts.append(df.select(*selected, *tag))
    union = parts[0]
    for name, part in zip(names[1:], parts[1:]):
        try:
            union = union.unionByName(part, allowMissingColumns=True)
        except AnalysisException as err:
            raise DataFormatError(
                f"The {name!r} channel's input columns do not match the 'train' channel's types: {err}"
            ) from None
    return union, names, tuple(present)


def _spread(union: DataFrame, num_workers: int, *, single_channel: bool) -> DataFrame:
    """``num_workers`` partitions holding a share of every channel, shuffling only when needed.

    A lone train channel that already has exactly ``num_workers`` partitions (a cached or generated
    DataFrame laid out for the fit) is used as it is, saving a shuffle of the whole data set. Anything
    else is repartitioned: barrier stages refuse coalesce (SPARK-24820), and several channels must be
    mixed so that every rank holds a share of each.
    """
    if single_channel and union.rdd.getNumPartitions() == num_workers:
        return union
    return union.repartition(num_workers)


def _driver_store(spark: SparkSession, num_workers: int) -> DriverStore | None:
    """The driver-held rendezvous store of ``spark.sagespark.rendezvous=driver`` (the default)."""
    sc = spark.sparkContext
    mode = str(spark.conf.get(RENDEZVOUS_CONF, "driver")).strip().lower()
    if mode not in ("driver", "barrier"):
        raise ValueError(f"{RENDEZVOUS_CONF} must be 'driver' or 'barrier'; got {mode!r}.")
    if num_workers == 1 or mode == "barrier":
        return None
    if (sc.master or "").startswith("local"):
        # Executors of a local master run on this machine: the store listens on loopback only.
        return DriverStore.open(num_workers, "127.0.0.1")
    # Elsewhere executors reach the driver by its host name; it listens where Spark's driver does.
    conf = _conf(sc)
    host = conf.get("spark.driver.host", "127.0.0.1")
    return DriverStore.open(num_workers, host, bind=conf.get("spark.driver.bindAddress", host))


def _failure(err: Exception, algorithm: type[Algorithm]) -> TrainingError:
    """A readable TrainingError from a failed Spark job, with the failing worker's log tail."""
    text = str(err)
    found = decode_failure(text)
    if found is None:
        shown = text if len(text) <= _MAX_SPARK_MESSAGE else text[:_MAX_SPARK_MESSAGE] + " ..."
        error = TrainingError(f"Training {algorithm.name} failed in Spark: {type(err).__name__}: {shown}")
        error.rank, error.log_tail = None, []  # type: ignore[attr-defined]
        return error
    rank, tail = found["rank"], list(found.get("log_tail", []))
    note = " (a collective failed because another worker stopped first)" if found.get("secondary") else ""
    lines = "\n".join(f"  {line}" for line in tail) or "  (no log lines)"
    error = TrainingError(
        f"Training {algorithm.name} failed on worker rank {rank} of {found.get('world_size')}{note}: "
        f"{found.get('error_type')}: {found.get('message')}\nLast log lines of rank {rank}:\n{lines}"
    )
    error.rank, error.log_tail = rank, tail  # type: ignore[attr-defined]
    error.worker_error_type = found.get("error_type")  # type: ignore[attr-defined]
    return error


def train_on_spark(
    channels: dict[str, DataFrame],
    algorithm: type[Algorithm],
    hp: Hyperparameters,
    *,
    num_workers: int,
    store: Store,
    use_gpu: bool | None = None,
    timeout_s: float = 1800.0,
) -> TrainingOutcome:
    """Train ``algorithm`` on the channels in one Spark barrier stage of ``num_workers`` tasks.

    Parameters
    ----------
    channels : dict[str, DataFrame]
        ``"train"`` and optionally other channels of the algorithm (``"validation"``, ``"test"``), with
        columns already named by the algorithm's :class:`InputField` names; other columns are ignored.
    algorithm : type[Algorithm]
        The algorithm class.
    hp : Hyperparameters
        Validated hyperparameters; values like ``feature_dim`` left unset are inferred on the workers.
    num_workers : int
        Number of barrier tasks (ranks); the cluster must be able to run that many at once.
    store : Store
        Where rank 0 writes the artifact (a fresh run directory per call).
    use_gpu : bool, optional
        Train on CUDA devices with NCCL. ``None``: when ``spark.task.resource.gpu.amount`` is set.
    timeout_s : float
        How long a collective waits for the other ranks.

    Returns
    -------
    TrainingOutcome

    Raises
    ------
    DataFormatError
        A channel is unknown or lacks a required column (checked before the stage runs).
    TrainingError
        The cluster cannot run ``num_workers`` tasks at once, or a worker failed; the message has the
        failing worker's rank, its error and its last log lines.

    Examples
    --------
    >>> outcome = train_on_spark({"train": df}, KMeans, KMeans.hyperparameters.from_dict({"k": 3}),
    ...                          num_workers=2, store=Store.from_uri(None))     # doctest: +SKIP
    """
    if "train" not in channels:
        raise DataFormatError(f"Training needs a 'train' channel; got channels {sorted(channels)}.")
    allowed = set(algorithm.channels) | {"train"}
    unknown = sorted(set(channels) - allowed)
    if unknown:
        raise DataFormatError(
            f"Unknown channel(s) {unknown} for {algorithm.name}; its channels are {sorted(allowed)}."
        )
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 1:
        raise ValueError(f"num_workers must be an int >= 1; got {num_workers!r}.")
    spark = channels["train"].sparkSession
    sc = spark.sparkContext
    _check_cluster(sc, num_workers)
    if store.is_local and not (sc.master or "").startswith("local"):
        logger.warning(
            "Store %s is on the driver's local disk but executors run on a cluster (%s); rank 0 may write "
            "the artifact where the driver cannot read it. Pass a shared store URI (s3://, hdfs://...).",
            store.uri,
            sc.master,
        )
    bridge = training_shards(spark)
    union, names, present = _union_channels(channels, algorithm, float_arrays=bridge is None)
    if bridge is not None and not bridge.supports(union._jdf.schema()):
        bridge = None  # a string input (IP Insights): Arrow carries it
        union, names, present = _union_channels(channels, algorithm, float_arrays=True)
    run_uri = store.new_run_uri(algorithm.name)
    rendezvous = _driver_store(spark, num_workers)
    spec = TaskSpec(
        algorithm=algorithm,
        hyperparameters=hp,
        channels=names,
        channel_inputs=present,
        run_uri=run_uri,
        store=store,
        world_size=num_workers,
        use_gpu=_use_gpu(sc, use_gpu),
        timeout_s=timeout_s,
        rendezvous=None if rendezvous is None else rendezvous.address,
    )
    if bridge is not None:
        # Each barrier task writes its partition to flat files and its Python worker reads them; the
        # bridge spreads the rows as _spread does, planning the query once. The stage is a plain RDD
        # stage over one manifest string per task: a SQL stage would cost ~60 ms more to plan and run.
        manifests = shard_manifests(bridge, union, num_workers, reuse=len(names) == 1)
        stage = manifests.barrier().mapPartitions(functools.partial(train_shards, spec))
    else:
        spread = _spread(union, num_workers, single_channel=len(names) == 1)
        stage = spread.mapInArrow(functools.partial(train_partition, spec), RESULT_SCHEMA, barrier=True)
    sc.setJobDescription(f"sagespark: train {algorithm.name} on {num_workers} worker(s)")
    try:
        rows = stage.collect()  # dicts (RDD stage) or Rows (mapInArrow): both are read by field name
    except Exception as err:
        _discard(store, run_uri)
        raise _failure(err, algorithm) from err
    finally:
        sc.setJobDescription(None)  # type: ignore[arg-type]
        if rendezvous is not None:
            rendezvous.close()
    if len(rows) != 1:
        _discard(store, run_uri)
        raise TrainingError(
            f"Training {algorithm.name} returned {len(rows)} results; expected one from rank 0."
        )
    row = rows[0]
    metrics = {str(k): float(v) for k, v in json.loads(row["metrics"]).items()}
    resolved = algorithm.hyperparameters.from_wire(json.loads(row["hyperparameters"]))
    return TrainingOutcome(row["artifact_uri"], metrics, resolved)


def _discard(store: Store, run_uri: str) -> None:
    try:
        store.delete(run_uri)
    except Exception as err:  # cleaning up must never hide the training error
        logger.warning("could not delete %s after a failed run: %s", run_uri, err)

