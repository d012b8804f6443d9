"""Shared pieces of the Spark benchmarks: the session, data generated on the executors, driver memory.

Data is generated inside Spark tasks (never on the driver), so a benchmark's driver memory reflects the
library under test, not the test data.

Examples
--------
>>> from bench.common import bench_session, generated_vectors   # doctest: +SKIP
>>> spark = bench_session("demo")                                 # doctest: +SKIP
>>> df = generated_vectors(spark, rows=1000, dim=10, partitions=2, kind="blobs", k=5)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402


def bench_session(app: str, master: str = "local[2]", driver_memory: str = "6g") -> Any:
    """A SparkSession sized for benchmarks (the 1 GiB default runs out at about 1M × 100 cached rows)."""
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master(master).appName(app)
        .config("spark.driver.memory", driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _centres(k: int, dim: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-10, 10, size=(k, dim))


def _spectrum_basis(dim: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(dim, dim)))
    return basis, 0.9 ** np.arange(dim) * 10, rng.normal(size=dim) * 3


def _generate(batches: Iterator[pa.RecordBatch], dim: int, kind: str, k: int, seed: int
              ) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        ids = batch.column(0).to_numpy()
        if len(ids) == 0:
            continue
        rng = np.random.default_rng([seed, int(ids[0])])
        noise = rng.normal(size=(len(ids), dim))
        if kind == "blobs":
            rows = _centres(k, dim, seed)[ids % k] + noise
        else:
            basis, scales, mean = _spectrum_basis(dim, seed)
            rows = (noise * scales) @ basis.T + mean
        flat = pa.array(rows.astype(np.float64).ravel())
        offsets = pa.array(np.arange(0, rows.size + 1, dim, dtype=np.int32))
        yield pa.RecordBatch.from_arrays([pa.ListArray.from_arrays(offsets, flat)], ["arr"])


def generated_vectors(spark: Any, rows: int, dim: int, partitions: int, *, kind: str = "blobs",
                      k: int = 10, seed: int = 0) -> Any:
    """A cached DataFrame of ``rows`` dense ML vectors (column ``features``), made on the executors.

    ``kind="blobs"``: ``k`` Gaussian blobs around centres in [-10, 10]^dim; ``kind="spectrum"``: rows
    with a geometrically decaying covariance spectrum and a non-zero mean (for PCA).
    """
    from pyspark.ml.functions import array_to_vector

    def gen(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return _generate(it, dim, kind, k, seed)

    df = (spark.range(0, rows, numPartitions=partitions)
          .mapInArrow(gen, "arr array<double>")
          .select(array_to_vector("arr").alias("features"))
          .cache())
    df.count()
    return df


def driver_memory_mb(spark: Any) -> dict[str, float]:
    """The driver's JVM heap in use after a GC, and the driver Python process's peak RSS, in MiB."""
    jvm = spark.sparkContext._jvm
    jvm.java.lang.System.gc()
    runtime = jvm.java.lang.Runtime.getRuntime()
    heap = (runtime.totalMemory() - runtime.freeMemory()) / 2**20
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"driver_jvm_heap_mb": heap, "driver_python_peak_rss_mb": peak_rss}


def best_of(repeats: int, fit: Any, *args: Any) -> tuple[float, Any]:
    """The fastest of ``repeats`` runs of ``fit(*args)`` in seconds, and the last run's result.

    Every contender of a benchmark gets the same number of runs, so JIT warm-up of the JVM and page-cache
    state favour neither; the minimum is the least noisy estimate of what a run costs on a busy machine.
    """
    import time

    best, result = float("inf"), None
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        result = fit(*args)
        best = min(best, time.perf_counter() - start)
    return best, result
