"""Benchmark: sagespark Factorization Machines against Spark MLlib's FMRegressor at equal epochs.

Generates ``--rows`` sparse rows on the executors (three one-hot fields, user × item × context, over
``--features`` columns with skewed popularity; label = a rank-4 factorization machine plus
N(0, 0.5²) noise), holds out 10 %, and fits ``sagespark.FactorizationMachines`` (regressor) and
``pyspark.ml.regression.FMRegressor`` with the same number of factors and ``maxIter = --epochs`` (one
full pass per MLlib iteration, one pass per sagespark epoch). Reports wall time per fit, held-out RMSE
of each model, and the ratios. MLlib takes one (full-batch) step per pass, sagespark one per
mini-batch, so at equal epochs MLlib is far from converged; ``--mllib-long-iters N`` adds an MLlib
fit with N iterations to show the time it needs to approach sagespark's RMSE.

Usage::

    python bench/bench_factorization_machines.py --rows 100000
    python bench/bench_factorization_machines.py --rows 1000000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402
import scipy.sparse as sp  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import bench_session, best_of  # noqa: E402

TRUE_RANK = 4
NOISE = 0.5


def _fields(features: int) -> tuple[int, int, int]:
    """Column ranges of the three one-hot fields: 60 % users, 35 % items, 5 % contexts."""
    users = int(features * 0.6)
    items = int(features * 0.35)
    return users, items, features - users - items


def _truth(features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 1])
    return rng.normal(0.0, 0.3, features), rng.normal(0.0, 0.5, size=(features, TRUE_RANK))


def _generate(batches: Iterator[pa.RecordBatch], features: int, seed: int) -> Iterator[pa.RecordBatch]:
    from sagespark.data.vectors import matrix_to_vectors

    users, items, contexts = _fields(features)
    w, v = _truth(features, seed)
    for batch in batches:
        ids = batch.column(0).to_numpy()
        if len(ids) == 0:
            continue
        rng = np.random.default_rng([seed, 2, int(ids[0])])
        n = len(ids)
        # Skewed popularity (u² of a uniform u): a head of frequent users/items and a long tail.
        cols = np.stack([
            (users * rng.random(n) ** 2).astype(np.int64),
            users + (items * rng.random(n) ** 2).astype(np.int64),
            users + items + rng.integers(0, contexts, n),
        ], axis=1)
        vs = v[cols]
        pair = (np.einsum("nf,nf->n", vs[:, 0], vs[:, 1]) + np.einsum("nf,nf->n", vs[:, 0], vs[:, 2])
                + np.einsum("nf,nf->n", vs[:, 1], vs[:, 2]))
        label = 3.0 + w[cols].sum(axis=1) + pair + rng.normal(0.0, NOISE, n)
        x = sp.csr_matrix((np.ones(3 * n), np.sort(cols, axis=1).ravel(), np.arange(0, 3 * n + 1, 3)),
                          shape=(n, features))
        yield pa.RecordBatch.from_arrays([matrix_to_vectors(x), pa.array(label)], ["features", "label"])


def generated_fm_rows(spark: Any, start: int, stop: int, features: int, partitions: int, seed: int) -> Any:
    """A cached DataFrame of sparse one-hot rows ``[start, stop)`` (``features``, ``label``)."""
    from pyspark.ml.linalg import VectorUDT
    from pyspark.sql.types import DoubleType, StructField, StructType

    schema = StructType([StructField("features", VectorUDT()), StructField("label", DoubleType())])

    def gen(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return _generate(it, features, seed)

    df = spark.range(start, stop, numPartitions=partitions).mapInArrow(gen, schema).cache()
    df.count()
    return df


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=100_000)
    parser.add_argument("--factors", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="fits per contender; the fastest counts")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--mini-batch-size", type=int, default=1000)
    parser.add_argument("--lr", type=float, default=0.005, help="linear_lr and factors_lr")
    parser.add_argument("--mllib-long-iters", type=int, default=0,
                        help="also fit FMRegressor with this many iterations (time to quality)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from pyspark.ml.evaluation import RegressionEvaluator
    from pyspark.ml.regression import FMRegressor

    import sagespark

    spark = bench_session("bench-factorization-machines", args.master)
    split = int(args.rows * 0.9)
    train = generated_fm_rows(spark, 0, split, args.features, args.workers, args.seed)
    test = generated_fm_rows(spark, split, args.rows, args.features, args.workers, args.seed)
    evaluator = RegressionEvaluator(labelCol="label", metricName="rmse")

    def ours(df: Any, store: str, epochs: int) -> Any:
        return sagespark.FactorizationMachines(
            num_factors=args.factors, predictor_type="regressor", epochs=epochs,
            mini_batch_size=args.mini_batch_size, linear_lr=args.lr, factors_lr=args.lr, linear_wd=1e-4,
            factors_wd=1e-4, bias_wd=0.0, numWorkers=args.workers, storeUri=store,
        ).fit(df)

    def theirs(df: Any, epochs: int) -> Any:
        return FMRegressor(factorSize=args.factors, maxIter=epochs, seed=args.seed).fit(df)

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as store:
        # Untimed warm-up fits on the held-out rows: worker start-up, imports, JVM class loading, and
        # enough rows that the JVM compiles each side's hot loops here rather than during timed fits.
        ours(test, store, 1)
        theirs(test, 1)
        out["sagespark_fit_s"], model = best_of(args.repeats, lambda: ours(train, store, args.epochs))
        out["sagespark_test_rmse"] = evaluator.setPredictionCol("score").evaluate(model.transform(test))

    out["mllib_fit_s"], mllib = best_of(args.repeats, lambda: theirs(train, args.epochs))
    out["mllib_test_rmse"] = evaluator.setPredictionCol("prediction").evaluate(mllib.transform(test))
    if args.mllib_long_iters:
        start = time.perf_counter()
        long = theirs(train, args.mllib_long_iters)
        out["mllib_long_fit_s"] = time.perf_counter() - start
        out["mllib_long_test_rmse"] = evaluator.setPredictionCol("prediction").evaluate(long.transform(test))
    out["noise_floor_rmse"] = NOISE
    out["speedup_mllib_over_sagespark"] = out["mllib_fit_s"] / out["sagespark_fit_s"]
    out["rmse_ratio_sagespark_over_mllib"] = out["sagespark_test_rmse"] / out["mllib_test_rmse"]
    print(f"rows={args.rows} features={args.features} factors={args.factors} epochs={args.epochs} "
          f"mini_batch_size={args.mini_batch_size} lr={args.lr} workers={args.workers} master={args.master}")
    for key, value in out.items():
        print(f"{key:36s} {value:.6g}")
    spark.stop()
    return out


if __name__ == "__main__":
    main()
