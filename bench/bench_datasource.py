"""Writing RecordIO-protobuf through the ``sagemaker`` data source vs ``df.write.parquet``, same run.

Builds ``--rows`` rows of 100-dimensional dense vectors plus a label in ``local[2]``, caches them, then
writes the same cached DataFrame with ``df.write.parquet`` (Spark's own columnar writer, all JVM) and
with ``df.write.format("sagemaker")`` (Arrow to a Python worker, vectorised encoding). Each writer runs
``--repeats`` times, alternating; the best time counts. Target: the sagemaker write within 2x of
parquet's time. ``--sparse`` writes 1%-dense sparse vectors instead.

Usage::

    .venv/bin/python bench/bench_datasource.py --rows 200000
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

DIM = 100


def build_frame(spark: Any, rows: int, sparse: bool) -> Any:
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    df = spark.range(rows, numPartitions=2)
    if sparse:
        # About one non-zero per row, kept sparse by Spark's vector compression in VectorUDT form.
        from pyspark.ml.linalg import Vectors, VectorUDT

        to_vector = F.udf(lambda i: Vectors.sparse(DIM, [int(i) % DIM], [1.0 + (i % 7)]), VectorUDT())
        features = to_vector(F.col("id"))
    else:
        features = array_to_vector(F.array(*[F.rand(seed=j) for j in range(DIM)]))
    return df.select(features.alias("features"), (F.col("id") % 10).cast("double").alias("label"))


def timed(fn: Any) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--sparse", action="store_true")
    parser.add_argument("--driver-memory", default="6g")
    args = parser.parse_args()
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

    from pyspark.sql import SparkSession

    from sagespark.data.datasource import register

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("bench-datasource")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", args.driver_memory)
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    register(spark)
    df = build_frame(spark, args.rows, args.sparse).cache()
    assert df.count() == args.rows

    root = Path(tempfile.mkdtemp(prefix="bench-datasource-"))
    targets = {
        "parquet": lambda: df.write.mode("overwrite").parquet(str(root / "parquet")),
        "sagemaker": lambda: df.write.format("sagemaker").mode("overwrite").save(str(root / "sagemaker")),
    }
    # One untimed round warms the JVM code paths and the Python workers of both writers.
    for write in targets.values():
        write()
    best = {name: min(timed(write) for _ in range(args.repeats)) for name, write in targets.items()}
    check = spark.read.format("sagemaker").load(str(root / "sagemaker")).count()
    assert check == args.rows, check

    kind = "sparse (1%)" if args.sparse else "dense"
    print(f"{args.rows} rows x {DIM} {kind} features + label, local[2], best of {args.repeats}")
    for name, seconds in best.items():
        mb = size_of(root / name) / 1e6
        print(f"{name:<10} {seconds:8.2f} s {args.rows / seconds:>12,.0f} rows/s {mb:9.1f} MB on disk")
    ratio = best["sagemaker"] / best["parquet"]
    print(f"sagemaker / parquet time: {ratio:.2f}x (target <= 2x)")
    shutil.rmtree(root, ignore_errors=True)
    spark.stop()


if __name__ == "__main__":
    main()
