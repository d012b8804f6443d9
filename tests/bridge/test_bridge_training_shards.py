"""The Scala bridge's training shards decode to exactly what the Arrow hand-off decodes to."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
import scipy.sparse as sp

from sagespark.algorithms.base import InputField
from sagespark.bridge import BRIDGE_ENABLED_CONF, bridge_jar, shard_manifests, training_shards
from sagespark.data.channels import channel_data_from_arrow
from sagespark.data.training_shards import batches_from_shards, read_shard
from sagespark.errors import DataFormatError

pytestmark = pytest.mark.spark

# The Spark tasks below run this module's functions: ship them by value (tests/ is not a package).
from pyspark import cloudpickle  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])

INPUTS = (
    InputField("features", "vector", "featuresCol"),
    InputField("label", "double", "labelCol", required_for_training=False),
)


def _decode_task(shards: bool, it: Iterator[Any]) -> Iterator[Any]:
    """Decode the task's partition (shard manifests or Arrow rows) and return it as JSON, or the error."""
    batches = batches_from_shards(it) if shards else it
    try:
        data = channel_data_from_arrow(list(batches), INPUTS)
    except DataFormatError as err:
        yield _out(shards, {"error": str(err)})
        return
    x = data.features
    dense = x.toarray() if sp.issparse(x) else np.asarray(x)
    out = {
        "sparse": bool(sp.issparse(x)),
        "x": dense.tolist(),
        "label": None if data.label is None else [None if np.isnan(v) else v for v in data.label.tolist()],
    }
    yield _out(shards, out)


def _out(shards: bool, value: dict[str, Any]) -> Any:
    """The task's answer: a string for the RDD over shard manifests, an Arrow row for mapInArrow."""
    text = json.dumps(value)
    return text if shards else pa.RecordBatch.from_pydict({"out": [text]})


def _both_ways(spark: Any, df: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    import functools

    bridge = training_shards(spark)
    assert bridge is not None, f"the bridge jar must be built (bash bridge/build.sh): {bridge_jar()}"
    manifests = shard_manifests(bridge, df, df.rdd.getNumPartitions(), reuse=True)
    via_shards = manifests.mapPartitions(functools.partial(_decode_task, True))
    via_arrow = df.mapInArrow(functools.partial(_decode_task, False), "out string")
    return ([json.loads(r) for r in via_shards.collect()],
            [json.loads(r["out"]) for r in via_arrow.collect()])


def _vectors(spark: Any, rows: list[tuple[Any, Any]], partitions: int = 2) -> Any:
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql.types import DoubleType, StructField, StructType

    schema = StructType([StructField("features", VectorUDT()), StructField("label", DoubleType())])
    return spark.createDataFrame(rows, schema).repartition(partitions).sortWithinPartitions("label")


def test_bridge_jar_is_built_and_loads(spark: Any) -> None:
    assert bridge_jar().is_file(), "run `bash bridge/build.sh` (scripts/setup.sh does)"
    assert training_shards(spark) is not None


def test_dense_and_sparse_vectors_match_the_arrow_path(spark: Any) -> None:
    from pyspark.ml.linalg import Vectors

    rng = np.random.default_rng(0)
    rows = []
    for i in range(40):
        if i % 3 == 0:
            rows.append((Vectors.sparse(6, [1, 4], [float(i), -0.5]), float(i)))
        else:
            rows.append((Vectors.dense(rng.normal(size=6).tolist()), float(i)))
    shards, arrow = _both_ways(spark, _vectors(spark, rows))
    assert shards == arrow
    assert any(part["sparse"] for part in shards)
    assert sum(len(part["x"]) for part in shards) == 40


def test_dense_only_partitions_stay_dense(spark: Any) -> None:
    from pyspark.ml.linalg import Vectors

    rows = [(Vectors.dense([float(i), 2.0, 3.0]), float(i % 2)) for i in range(10)]
    shards, arrow = _both_ways(spark, _vectors(spark, rows))
    assert shards == arrow
    assert not any(part["sparse"] for part in shards)


def test_null_labels_and_int_labels_decode_like_arrow(spark: Any) -> None:
    from pyspark.ml.linalg import Vectors, VectorUDT
    from pyspark.sql.types import IntegerType, StructField, StructType

    schema = StructType([StructField("features", VectorUDT()), StructField("label", IntegerType())])
    df = spark.createDataFrame(
        [(Vectors.dense([1.0, 2.0]), 1), (Vectors.dense([3.0, 4.0]), None), (Vectors.dense([5.0, 6.0]), 0)],
        schema,
    ).coalesce(1)
    shards, arrow = _both_ways(spark, df)
    assert shards == arrow
    assert shards[0]["label"] == [1.0, None, 0.0]


def test_null_vector_names_its_row_like_arrow(spark: Any) -> None:
    from pyspark.ml.linalg import Vectors

    rows = [(Vectors.dense([1.0, 2.0]), 0.0), (None, 1.0), (Vectors.dense([1.0, 2.0]), 2.0)]
    shards, arrow = _both_ways(spark, _vectors(spark, rows, partitions=1))
    assert shards == arrow
    assert "row 1 is null" in shards[0]["error"]


def test_arrays_with_a_null_element_name_the_row(spark: Any) -> None:
    df = spark.createDataFrame(
        [([1.0, 2.0], 0.0), ([3.0, None], 1.0)], "features array<double>, label double").coalesce(1)
    shards, arrow = _both_ways(spark, df)
    assert shards == arrow
    assert "row 1 holds a null element" in shards[0]["error"]


def test_int_arrays_and_different_sizes(spark: Any) -> None:
    df = spark.createDataFrame([([1, 2], 0.0), ([3, 4, 5], 1.0)], "features array<int>, label double")
    df = df.coalesce(1)
    shards, arrow = _both_ways(spark, df)
    assert shards == arrow
    assert "same size" in shards[0]["error"]


def test_empty_partitions_give_empty_shards(spark: Any) -> None:
    from pyspark.ml.linalg import Vectors

    df = _vectors(spark, [(Vectors.dense([1.0]), 0.0)], partitions=3)
    manifests = shard_manifests(training_shards(spark), df, 3, reuse=True).collect()
    assert sorted(json.loads(m)["rows"] for m in manifests) == [0, 0, 1]


def test_export_keeps_or_spreads_partitions(spark: Any) -> None:
    from pyspark.ml.linalg import Vectors

    df = _vectors(spark, [(Vectors.dense([float(i)]), float(i)) for i in range(10)], partitions=3)
    kept = sorted(len(p) for p in df.rdd.glom().collect())
    bridge = training_shards(spark)

    def rows(partitions: int, reuse: bool) -> list[int]:
        manifests = shard_manifests(bridge, df, partitions, reuse=reuse).collect()
        return sorted(json.loads(m)["rows"] for m in manifests)

    assert rows(3, True) == kept  # laid out for the fit already: no shuffle
    for partitions, reuse in ((2, True), (4, True), (3, False)):  # spread round-robin
        spread = rows(partitions, reuse)
        assert len(spread) == partitions and sum(spread) == 10 and max(spread) - min(spread) <= 2


def test_strings_are_not_supported_and_fall_back(spark: Any) -> None:
    bridge = training_shards(spark)
    df = spark.createDataFrame([("a", 1.0)], "user string, label double")
    assert not bridge.supports(df._jdf.schema())
    assert bridge.supports(df.select("label")._jdf.schema())


def test_conf_turns_the_bridge_off(spark: Any) -> None:
    spark.conf.set(BRIDGE_ENABLED_CONF, "false")
    try:
        assert training_shards(spark) is None
    finally:
        spark.conf.unset(BRIDGE_ENABLED_CONF)
    assert training_shards(spark) is not None


def test_damaged_shard_is_a_data_format_error(tmp_path: Any) -> None:
    np.array([1, 1], np.int8).tofile(tmp_path / "0.valid")
    np.array([2.5], np.float64).tofile(tmp_path / "0.value")  # one value for two rows
    files = {"valid": "0.valid", "value": "0.value"}
    manifest = {"dir": str(tmp_path), "rows": 2,
                "columns": [{"name": "label", "kind": "double", "files": files}]}
    with pytest.raises(DataFormatError, match="'label' is damaged"):
        read_shard(json.dumps(manifest))
    assert not os.path.exists(tmp_path), "a read shard's directory is removed"
