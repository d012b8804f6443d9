"""Benchmark: sagespark K-Means against Spark MLlib's KMeans (and scikit-learn on the driver for quality).

Generates ``--rows`` x ``--dim`` Gaussian blobs (``--k`` of them) as a Spark DataFrame of ML vectors,
fits ``sagespark.KMeans`` and ``pyspark.ml.clustering.KMeans`` on the same DataFrame with the same
parallelism, and reports wall time per fit and the within-cluster sum of squares (WCSS) of each model,
plus the time and WCSS ratios sagespark / MLlib. With ``--sklearn`` it also fits scikit-learn's KMeans
(n_init=10) on a driver copy as the quality reference (small sizes only).

Usage::

    python bench/bench_kmeans.py --rows 20000 --dim 20 --k 10 --workers 2
    python bench/bench_kmeans.py --rows 5000000 --dim 50 --k 100 --workers 8 --master local[8]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import bench_session, best_of, driver_memory_mb, generated_vectors  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=20)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=3, help="fits per contender; the fastest counts")
    parser.add_argument("--sklearn", action="store_true", help="also fit scikit-learn on the driver")
    args = parser.parse_args(argv)

    from pyspark.ml.clustering import KMeans as MLlibKMeans
    from pyspark.sql import functions as F

    import sagespark

    spark = bench_session("bench-kmeans", args.master)
    df = generated_vectors(spark, args.rows, args.dim, args.workers, kind="blobs", k=args.k, seed=args.seed)
    # Untimed warm-up fits on a small slice: Python worker start-up, imports and JVM class loading
    # are one-time costs that would otherwise land on whichever fit runs first.
    warm = df.limit(max(200, 20 * args.workers)).repartition(args.workers).cache()
    MLlibKMeans(k=args.k, seed=args.seed, featuresCol="features").fit(warm)

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as store:
        sagespark.KMeans(k=args.k, numWorkers=args.workers, storeUri=store).fit(warm)
        ours = sagespark.KMeans(k=args.k, numWorkers=args.workers, storeUri=store,
                                eval_metrics=["msd", "ssd"])
        out["sagespark_fit_s"], model = best_of(args.repeats, lambda: ours.fit(df))
        out["sagespark_wcss"] = float(model.metrics["train:ssd"])
        scored = model.transform(df).select(F.sum(F.col("distance_to_cluster") ** 2)).first()[0]
        out["sagespark_wcss_from_transform"] = float(scored)
        out["sagespark_transform_s"], _ = best_of(
            args.repeats, lambda: model.transform(df).select(F.sum("closest_cluster")).first())
        # The driver holds only the model's URI and metrics: its memory must not grow with the rows.
        small = df.limit(max(1000, args.rows // 10)).repartition(args.workers).cache()
        small.count()
        sagespark.KMeans(k=args.k, numWorkers=args.workers, storeUri=store).fit(small)
        out.update({f"{key}_after_fit_rows/10": v for key, v in driver_memory_mb(spark).items()})
        sagespark.KMeans(k=args.k, numWorkers=args.workers, storeUri=store).fit(df)
        out.update({f"{key}_after_fit_rows": v for key, v in driver_memory_mb(spark).items()})

    theirs = MLlibKMeans(k=args.k, seed=args.seed, featuresCol="features")
    out["mllib_fit_s"], mllib = best_of(args.repeats, lambda: theirs.fit(df))
    out["mllib_wcss"] = float(mllib.summary.trainingCost)
    # Transform cost for reference: a full pass that reads each model's cluster output.
    out["mllib_transform_s"], _ = best_of(
        args.repeats, lambda: mllib.transform(df).select(F.sum("prediction")).first())

    if args.sklearn:
        from sklearn.cluster import KMeans as SklearnKMeans

        x = np.stack([r.features.toArray() for r in df.collect()])  # quality reference: small sizes only
        start = time.perf_counter()
        out["sklearn_wcss"] = float(SklearnKMeans(args.k, n_init=10, random_state=args.seed).fit(x).inertia_)
        out["sklearn_fit_s"] = time.perf_counter() - start
    out["time_ratio_sagespark_over_mllib"] = out["sagespark_fit_s"] / out["mllib_fit_s"]
    out["wcss_ratio_sagespark_over_mllib"] = out["sagespark_wcss"] / out["mllib_wcss"]
    print(f"rows={args.rows} dim={args.dim} k={args.k} workers={args.workers} master={args.master}")
    for key, value in out.items():
        print(f"{key:36s} {value:.6g}")
    spark.stop()
    return out


if __name__ == "__main__":
    main()
