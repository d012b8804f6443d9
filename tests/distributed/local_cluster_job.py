"""Trains the toy algorithm on ``local-cluster[2,1,1024]`` (two executor JVMs); run as a script.

Its own process, because a JVM hosts one SparkContext: the shared ``local[2]`` session of the other
tests cannot coexist with this one. Prints one JSON line with the outcome.

Usage: ``python local_cluster_job.py STORE_DIR``
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ["PYSPARK_PYTHON"] = sys.executable
os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable


def main(store_dir: str) -> None:
    import numpy as np
    from dist_toy_algorithm import ToyAlgorithm, ToyHyperparameters, rows_per_rank, ship_to_spark_workers
    from pyspark.ml.linalg import Vectors
    from pyspark.sql import SparkSession

    from sagespark.distributed.launcher import train_on_spark
    from sagespark.distributed.store import Store

    spark = (
        SparkSession.builder.master("local-cluster[2,1,1024]")
        .appName("sagespark-local-cluster-test")
        .config("spark.ui.enabled", "false")
        .config("spark.executor.memory", "512m")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    try:
        ship_to_spark_workers()
        x = (np.arange(77 * 4, dtype=np.float64).reshape(77, 4)) % 13
        df = spark.createDataFrame([(Vectors.dense(r.tolist()),) for r in x], ["features"])
        outcome = train_on_spark(
            {"train": df},
            ToyAlgorithm,
            ToyHyperparameters.from_dict({}),
            num_workers=2,
            store=Store.from_uri(store_dir),
        )
        executors = spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1  # minus the driver
        print(
            json.dumps(
                {
                    "metrics": outcome.metrics,
                    "feature_sum": float(x.sum()),
                    "feature_dim": outcome.hyperparameters["feature_dim"],
                    "rows_per_rank": rows_per_rank(Path(outcome.artifact_uri)).tolist(),
                    "executors": executors,
                }
            )
        )
    finally:
        spark.stop()


if __name__ == "__main__":
    main(sys.argv[1])
