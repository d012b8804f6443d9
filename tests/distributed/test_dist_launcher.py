"""train_on_spark in the shared local[2] session, with the toy algorithm that counts what each rank saw."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dist_toy_algorithm import ToyAlgorithm, ToyHyperparameters, rows_per_rank, ship_to_spark_workers

from sagespark.algorithms.artifact import load_artifact
from sagespark.distributed.launcher import train_on_spark
from sagespark.distributed.store import Store
from sagespark.errors import DataFormatError, TrainingError

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module", autouse=True)
def _ship_toy() -> None:
    ship_to_spark_workers()


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _frame(spark: Any, features: np.ndarray, labels: np.ndarray | None = None) -> Any:
    from pyspark.ml.linalg import Vectors, VectorUDT
    from pyspark.sql.types import DoubleType, StructField, StructType

    fields = [StructField("features", VectorUDT())]
    rows: list[tuple[Any, ...]] = [(Vectors.dense(r.tolist()),) for r in features]
    if labels is not None:
        fields.append(StructField("label", DoubleType()))
        rows = [row + (float(y),) for row, y in zip(rows, labels)]
    # Extra columns are ignored by the launcher: give the frame one to prove it.
    fields.append(StructField("row_id", DoubleType()))
    rows = [row + (float(i),) for i, row in enumerate(rows)]
    return spark.createDataFrame(rows, StructType(fields)).repartition(3)


def _data(n: int, width: int = 3, offset: int = 0) -> np.ndarray:
    return (np.arange(n * width, dtype=np.float64).reshape(n, width) + offset) % 97


def _hp(**values: Any) -> Any:
    return ToyHyperparameters.from_dict(values)


def test_every_row_is_read_exactly_once_by_the_two_ranks(spark: Any, tmp_path: Path) -> None:
    x = _data(101)
    store = Store.from_uri(tmp_path / "store")
    outcome = train_on_spark({"train": _frame(spark, x)}, ToyAlgorithm, _hp(), num_workers=2, store=store)
    assert outcome.metrics["world_size"] == 2
    assert outcome.metrics["train:rows"] == 101
    assert outcome.metrics["train:feature_sum"] == x.sum()
    assert outcome.hyperparameters == _hp(feature_dim=3)  # inferred on the workers
    # The artifact is in the run's own directory, and says what each rank held.
    assert outcome.artifact_uri.rpartition("/")[0] == store.uri
    local = store.local_copy(outcome.artifact_uri)
    per_rank = rows_per_rank(local)
    assert per_rank.sum() == 101 and (per_rank > 0).all() and len(per_rank) == 2
    loaded = load_artifact(local)
    np.testing.assert_allclose(loaded.predictor.means, x.mean(axis=0))  # type: ignore[attr-defined]
    assert loaded.metrics == outcome.metrics
    assert loaded.hyperparameters == outcome.hyperparameters


def test_validation_and_test_channels_reach_the_ranks(spark: Any, tmp_path: Path) -> None:
    train, validation, test = _data(40), _data(17, offset=5), _data(9, offset=11)
    labels = np.arange(17, dtype=np.float64)
    outcome = train_on_spark(
        {
            "train": _frame(spark, train),
            "validation": _frame(spark, validation, labels),
            "test": _frame(spark, test),
        },
        ToyAlgorithm,
        _hp(),
        num_workers=2,
        store=Store.from_uri(tmp_path),
    )
    m = outcome.metrics
    assert (m["train:rows"], m["validation:rows"], m["test:rows"]) == (40, 17, 9)
    assert m["train:feature_sum"] == train.sum()
    assert m["validation:feature_sum"] == validation.sum()
    assert m["test:feature_sum"] == test.sum()
    assert m["validation:label_sum"] == labels.sum()
    assert m["train:label_sum"] == 0 and m["test:label_sum"] == 0


def test_a_rank_with_an_empty_partition_still_takes_part(spark: Any, tmp_path: Path) -> None:
    x = _data(1)
    outcome = train_on_spark(
        {"train": _frame(spark, x)}, ToyAlgorithm, _hp(), num_workers=2, store=Store.from_uri(tmp_path)
    )
    assert outcome.metrics["train:rows"] == 1 and outcome.metrics["world_size"] == 2
    assert outcome.hyperparameters["feature_dim"] == 3
    assert sorted(rows_per_rank(Path(outcome.artifact_uri)).tolist()) == [0, 1]


def test_one_worker_needs_no_process_group(spark: Any, tmp_path: Path) -> None:
    x = _data(12)
    outcome = train_on_spark(
        {"train": _frame(spark, x)}, ToyAlgorithm, _hp(), num_workers=1, store=Store.from_uri(tmp_path)
    )
    assert outcome.metrics["train:rows"] == 12 and outcome.metrics["world_size"] == 1


def test_a_failing_worker_raises_training_error_with_its_log_lines(spark: Any, tmp_path: Path) -> None:
    store = Store.from_uri(tmp_path / "store")
    with pytest.raises(TrainingError) as info:
        train_on_spark(
            {"train": _frame(spark, _data(30))},
            ToyAlgorithm,
            _hp(fail_on_rank=1),
            num_workers=2,
            store=store,
        )
    message = str(info.value)
    assert "failed on worker rank 1 of 2" in message
    assert "ValueError: toy failure on rank 1" in message
    assert "toy is about to fail on purpose" in message  # the worker's own log tail
    assert "toy rank 1 holds" in message
    assert info.value.rank == 1  # type: ignore[attr-defined]
    # The failed run left nothing behind in the store.
    assert list((tmp_path / "store").iterdir()) == []


def test_bad_data_on_a_worker_is_reported_with_the_column(spark: Any, tmp_path: Path) -> None:
    from pyspark.sql import functions as F

    frame = _frame(spark, _data(10)).withColumn(
        "features", F.when(F.col("row_id") == 4, F.lit(None)).otherwise(F.col("features"))
    )
    with pytest.raises(TrainingError, match=r"DataFormatError: In the 'train' channel.*'features'"):
        train_on_spark({"train": frame}, ToyAlgorithm, _hp(), num_workers=2, store=Store.from_uri(tmp_path))


def test_more_workers_than_task_slots_is_refused_up_front(spark: Any, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match=r"num_workers=3 .* can run only 2"):
        train_on_spark(
            {"train": _frame(spark, _data(5))},
            ToyAlgorithm,
            _hp(),
            num_workers=3,
            store=Store.from_uri(tmp_path),
        )


def test_channel_checks_happen_on_the_driver(spark: Any, tmp_path: Path) -> None:
    store = Store.from_uri(tmp_path)
    frame = _frame(spark, _data(5))
    with pytest.raises(DataFormatError, match="needs a 'train' channel"):
        train_on_spark({"test": frame}, ToyAlgorithm, _hp(), num_workers=1, store=store)
    with pytest.raises(DataFormatError, match=r"Unknown channel\(s\) \['extra'\]"):
        train_on_spark({"train": frame, "extra": frame}, ToyAlgorithm, _hp(), num_workers=1, store=store)
    with pytest.raises(DataFormatError, match=r"no column 'features' \(set featuresCol\)"):
        train_on_spark(
            {"train": frame.withColumnRenamed("features", "x")},
            ToyAlgorithm,
            _hp(),
            num_workers=1,
            store=store,
        )
    with pytest.raises(ValueError, match="num_workers must be an int >= 1"):
        train_on_spark({"train": frame}, ToyAlgorithm, _hp(), num_workers=0, store=store)
    assert list(tmp_path.iterdir()) == []  # nothing ran, no run directory was made


def test_ranks_that_see_different_vector_sizes_fail_with_a_clear_error(spark: Any, tmp_path: Path) -> None:
    from pyspark.ml.linalg import Vectors

    # Two partitions of one row each: with num_workers=2 each rank trains on one of them.
    rows = [(Vectors.dense([1.0, 2.0, 3.0]),), (Vectors.dense([1.0, 2.0, 3.0, 4.0]),)]
    frame = spark.createDataFrame(spark.sparkContext.parallelize(rows, 2), ["features"])
    message = r"different hyperparameters.*feature_dim is '[34]' on rank 0 but '[34]' on rank 1"
    with pytest.raises(TrainingError, match=message):
        train_on_spark({"train": frame}, ToyAlgorithm, _hp(), num_workers=2, store=Store.from_uri(tmp_path))


@pytest.mark.skipif(_cuda_available(), reason="checks the error raised where CUDA is missing")
def test_use_gpu_without_cuda_is_a_clear_error(spark: Any, tmp_path: Path) -> None:
    with pytest.raises(TrainingError, match="use_gpu is set, but rank [01] sees no CUDA device"):
        train_on_spark(
            {"train": _frame(spark, _data(8))},
            ToyAlgorithm,
            _hp(),
            num_workers=2,
            store=Store.from_uri(tmp_path),
            use_gpu=True,
        )


@pytest.mark.gpu
@pytest.mark.skipif(not _cuda_available(), reason="needs CUDA")
def test_training_on_gpu_uses_nccl(spark: Any, tmp_path: Path) -> None:
    x = _data(64)
    outcome = train_on_spark(
        {"train": _frame(spark, x)},
        ToyAlgorithm,
        _hp(),
        num_workers=1,
        store=Store.from_uri(tmp_path),
        use_gpu=True,
    )
    assert outcome.metrics["train:rows"] == 64 and outcome.metrics["train:feature_sum"] == x.sum()


@pytest.mark.parametrize(
    ("conf", "value"),
    [("spark.sagespark.rendezvous", "barrier"), ("spark.sagespark.bridge.enabled", "false")],
    ids=["rank-0-store-through-a-barrier-gather", "arrow-hand-off-without-the-bridge"],
)
def test_the_other_rendezvous_and_hand_off_give_the_same_outcome(
    spark: Any, tmp_path: Path, conf: str, value: str
) -> None:
    x = _data(83, width=4)
    labels = np.arange(29, dtype=np.float64)
    channels = {"train": _frame(spark, x), "validation": _frame(spark, _data(29, width=4, offset=3), labels)}
    store = Store.from_uri(tmp_path / "store")
    default = train_on_spark(channels, ToyAlgorithm, _hp(), num_workers=2, store=store)
    spark.conf.set(conf, value)
    try:
        other = train_on_spark(channels, ToyAlgorithm, _hp(), num_workers=2, store=store)
    finally:
        spark.conf.unset(conf)
    assert other.metrics == default.metrics
    assert other.hyperparameters == default.hyperparameters


def test_an_unknown_rendezvous_mode_is_refused(spark: Any, tmp_path: Path) -> None:
    spark.conf.set("spark.sagespark.rendezvous", "carrier-pigeon")
    try:
        with pytest.raises(ValueError, match="'driver' or 'barrier'"):
            train_on_spark({"train": _frame(spark, _data(10))}, ToyAlgorithm, _hp(), num_workers=2,
                           store=Store.from_uri(tmp_path / "store"))
    finally:
        spark.conf.unset("spark.sagespark.rendezvous")
