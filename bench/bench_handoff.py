"""The JVM → numpy hand-off on its own: Arrow VectorUDT batches → numpy / CSR (DESIGN.md section 1).

Decodes ``--rows`` rows of 100-dimensional vectors, dense and 1%-sparse, arriving as Spark hands them to
``mapInArrow`` (Arrow record batches of 10,000 rows in the VectorUDT struct layout), with
:func:`sagespark.data.channels.channel_data_from_arrow`, and compares with the naive per-row path: each
row becomes a pyspark ``Vector`` (``VectorUDT.deserialize``, what a ``Row`` holds) and ``toArray()``,
then the rows are stacked. The per-row path is timed on at most ``--naive-rows`` rows and reported as
a rate. ``--spark`` adds the same comparison end to end in ``local[2]`` (``mapInArrow`` vs
``rdd.mapPartitions`` over Rows) and the Scala bridge's training shards, which is how a fit reads
its data (best of 3 each).

Usage::

    .venv/bin/python bench/bench_handoff.py --rows 200000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import best_of  # noqa: E402
from sagespark.algorithms.base import InputField  # noqa: E402
from sagespark.data.channels import channel_data_from_arrow  # noqa: E402
from sagespark.data.vectors import matrix_to_vectors  # noqa: E402

DIM = 100
BATCH_ROWS = 10_000  # spark.sql.execution.arrow.maxRecordsPerBatch's default
FEATURES = (InputField("features", "vector", "featuresCol"),)


def make_batches(rows: int, sparse: bool, seed: int = 0) -> list[pa.RecordBatch]:
    rng = np.random.default_rng(seed)
    batches = []
    for start in range(0, rows, BATCH_ROWS):
        n = min(BATCH_ROWS, rows - start)
        if sparse:
            matrix: Any = sp.random(n, DIM, density=0.01, format="csr", random_state=rng, dtype=np.float64)
        else:
            matrix = rng.random((n, DIM))
        batches.append(pa.RecordBatch.from_arrays([matrix_to_vectors(matrix)], ["features"]))
    return batches


def _dense(matrix: Any) -> np.ndarray:
    return matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix)


def naive(batches: list[pa.RecordBatch], limit: int) -> tuple[int, np.ndarray]:
    from pyspark.ml.linalg import VectorUDT

    udt = VectorUDT()
    arrays = []
    for batch in batches:
        for item in batch.column(0).to_pylist():
            vector = udt.deserialize((item["type"], item["size"], item["indices"], item["values"]))
            arrays.append(vector.toArray())
            if len(arrays) >= limit:
                return len(arrays), np.stack(arrays).astype(np.float32)
    return len(arrays), np.stack(arrays).astype(np.float32)


def in_process(rows: int, naive_rows: int, repeats: int) -> None:
    print(f"{'case':<8} {'path':<22} {'rows':>9} {'seconds':>9} {'rows/s':>12} {'MB/s':>9} {'speed-up':>9}")
    for label, sparse in (("dense", False), ("sparse", True)):
        batches = make_batches(rows, sparse)
        nbytes = sum(b.nbytes for b in batches)
        fast, _ = best_of(repeats, channel_data_from_arrow, batches, FEATURES)
        data = channel_data_from_arrow(batches, FEATURES)
        assert data.features.shape == (rows, DIM)
        start = time.perf_counter()
        n_slow, stacked = naive(batches, naive_rows)
        slow_s = time.perf_counter() - start
        np.testing.assert_allclose(stacked, _dense(data.features[:n_slow]), rtol=1e-6)
        fast_rate, slow_rate = rows / fast, n_slow / slow_s
        slow_mb = nbytes * n_slow / rows / slow_s / 1e6
        print(
            f"{label:<8} {'arrow → numpy/CSR':<22} {rows:>9} {fast:>9.4f} {fast_rate:>12,.0f} "
            f"{nbytes / fast / 1e6:>9.0f} {fast_rate / slow_rate:>8.0f}x"
        )
        print(
            f"{label:<8} {'Row → toArray()':<22} {n_slow:>9} {slow_s:>9.4f} {slow_rate:>12,.0f} "
            f"{slow_mb:>9.1f} {'1':>8}x"
        )


def _spark_fast(iterator: Any) -> Any:
    data = channel_data_from_arrow(iterator, FEATURES)
    yield pa.RecordBatch.from_arrays([pa.array([data.num_rows], pa.int64())], ["n"])


def _spark_bridge(manifests: Any) -> Any:
    from sagespark.data.channels import channel_data_from_arrow
    from sagespark.data.training_shards import batches_from_shards

    yield channel_data_from_arrow(batches_from_shards(manifests), FEATURES).num_rows


def _spark_slow(rows: Any) -> Any:
    arrays = [r.features.toArray() for r in rows]
    yield len(np.stack(arrays)) if arrays else 0


def _generate(sparse: bool) -> Callable[[Any], Any]:
    def generate(iterator: Any) -> Any:
        for batch in iterator:
            ids = batch.column(0).to_numpy()
            rng = np.random.default_rng(int(ids[0]) if len(ids) else 0)
            if sparse:
                matrix: Any = sp.random(len(ids), DIM, density=0.01, format="csr", random_state=rng)
            else:
                matrix = rng.random((len(ids), DIM))
            yield pa.RecordBatch.from_arrays([matrix_to_vectors(matrix)], ["features"])

    return generate


def in_spark(rows: int) -> None:
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql import SparkSession
    from pyspark.sql.types import StructField, StructType

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "6g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    from pyspark.ml.functions import vector_to_array

    from sagespark.bridge import shard_manifests, training_shards

    bridge = training_shards(spark)
    schema = StructType([StructField("features", VectorUDT())])
    for label, sparse in (("dense", False), ("sparse", True)):
        df = spark.range(rows, numPartitions=2).mapInArrow(_generate(sparse), schema).cache()
        df.count()
        # What the launcher sends without the bridge: dense vectors as float32 arrays, sparse as vectors.
        arrow_input = df if sparse else df.select(vector_to_array("features", "float32").alias("features"))

        def count(frame: Any, fn: Callable[[Any], Any]) -> int:
            return int(frame.mapInArrow(fn, "n long").groupBy().sum("n").collect()[0][0])

        def count_shards(frame: Any) -> int:  # the launcher's stage over the bridge's shard manifests
            return sum(shard_manifests(bridge, frame, 2, reuse=True).mapPartitions(_spark_bridge).collect())

        fast, _ = best_of(3, count, arrow_input, _spark_fast)
        shards, _ = best_of(3, count_shards, df)
        start = time.perf_counter()
        n_slow = df.rdd.mapPartitions(_spark_slow).sum()
        slow = time.perf_counter() - start
        assert count(arrow_input, _spark_fast) == n_slow == rows
        print(
            f"spark {label:<7} bridge shards {shards:6.2f}s   mapInArrow {fast:6.2f}s   "
            f"Rows → toArray {slow:7.2f}s   bridge speed-up over Arrow {fast / shards:4.2f}x"
        )
        df.unpersist()
    spark.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=50_000, help="rows timed on the per-row path")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--spark", action="store_true", help="also compare end to end in local[2]")
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    print(f"{args.rows} rows x {DIM} features, Arrow batches of {BATCH_ROWS} rows")
    in_process(args.rows, min(args.naive_rows, args.rows), args.repeats)
    if args.spark:
        in_spark(args.rows)


if __name__ == "__main__":
    main()
