"""Benchmark: sagespark PCA (regular and randomized) against Spark MLlib's PCA.

Generates ``--rows`` x ``--dim`` correlated Gaussian rows (a decaying spectrum) as a Spark DataFrame of
ML vectors, fits ``sagespark.PCA`` in both modes and ``pyspark.ml.feature.PCA`` with ``--components``
components on the same cached DataFrame, and reports wall time per fit, the variance captured by the
projections of each model (the variance of every output column, measured by a Spark job, which is the
fair comparison since MLlib does not centre its output), and the ratios sagespark / MLlib.

Usage::

    python bench/bench_pca.py --rows 20000 --dim 50 --components 5
    python bench/bench_pca.py --rows 2000000 --dim 500 --components 20 --workers 8 --master local[8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import bench_session, best_of, driver_memory_mb, generated_vectors  # noqa: E402


def projected_variance(df: object, column: str) -> float:
    """Sum of the variances of the projection's columns (a Spark job over the output)."""
    from pyspark.ml.stat import Summarizer
    from pyspark.sql import functions as F

    row = df.select(Summarizer.variance(F.col(column)).alias("v")).first()  # type: ignore[attr-defined]
    return float(np.sum(row["v"].toArray()))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=50)
    parser.add_argument("--components", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="fits per contender; the fastest counts")
    args = parser.parse_args(argv)

    from pyspark.ml.feature import PCA as MLlibPCA

    import sagespark

    spark = bench_session("bench-pca", args.master)
    df = generated_vectors(spark, args.rows, args.dim, args.workers, kind="spectrum", seed=args.seed)
    # Untimed warm-up fits on a small slice: Python worker start-up, imports and JVM class loading
    # are one-time costs that would otherwise land on whichever fit runs first.
    warm = df.limit(max(200, 20 * args.workers)).repartition(args.workers).cache()
    MLlibPCA(k=args.components, inputCol="features", outputCol="pca").fit(warm)

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as store:
        sagespark.PCA(num_components=args.components, numWorkers=args.workers, storeUri=store).fit(warm)
        for mode in ("regular", "randomized"):
            estimator = sagespark.PCA(num_components=args.components, algorithm_mode=mode,
                                      numWorkers=args.workers, storeUri=store)
            out[f"sagespark_{mode}_fit_s"], model = best_of(args.repeats, estimator.fit, df)
            out[f"sagespark_{mode}_variance"] = projected_variance(model.transform(df), "projection")
        out.update(driver_memory_mb(spark))

    theirs = MLlibPCA(k=args.components, inputCol="features", outputCol="pca")
    out["mllib_fit_s"], mllib = best_of(args.repeats, lambda: theirs.fit(df))
    out["mllib_variance"] = projected_variance(mllib.transform(df), "pca")
    for mode in ("regular", "randomized"):
        out[f"time_ratio_{mode}_over_mllib"] = out[f"sagespark_{mode}_fit_s"] / out["mllib_fit_s"]
        out[f"variance_ratio_{mode}_over_mllib"] = out[f"sagespark_{mode}_variance"] / out["mllib_variance"]
    print(f"rows={args.rows} dim={args.dim} components={args.components} workers={args.workers} "
          f"master={args.master}")
    for key, value in out.items():
        print(f"{key:36s} {value:.6g}")
    spark.stop()
    return out


if __name__ == "__main__":
    main()
