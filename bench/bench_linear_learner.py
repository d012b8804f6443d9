"""Benchmark: sagespark Linear Learner (8 parallel models) against MLlib LogisticRegression (one model).

Generates ``--rows`` x ``--dim`` dense rows with a binary label from a fixed logistic model (features with
different scales and offsets, so normalisation matters) on the executors, plus a held-out set of
``--rows / 10`` rows. Fits ``sagespark.LinearLearner(predictor_type="binary_classifier", num_models=8)`` and
``pyspark.ml.classification.LogisticRegression`` on the same cached DataFrame with the same parallelism,
and reports the wall time of each fit, the held-out ROC AUC of each (one evaluator, Spark's
``BinaryClassificationEvaluator``), and the time ratio MLlib / sagespark (issue #5's target: at least 3x at
an AUC within +-0.002).

Usage::

    python bench/bench_linear_learner.py --rows 100000
    python bench/bench_linear_learner.py --rows 1000000 --workers 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import bench_session, best_of  # noqa: E402


def _truth(dim: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, 99])
    weights = rng.normal(size=dim) * (rng.random(dim) < 0.5)  # half the features carry signal
    return weights * 0.35, rng.uniform(0.2, 5.0, dim), rng.normal(scale=3.0, size=dim)


def _generate(batches: Iterator[pa.RecordBatch], dim: int, seed: int, truth: int) -> Iterator[pa.RecordBatch]:
    weights, scale, offset = _truth(dim, truth)
    for batch in batches:
        ids = batch.column(0).to_numpy()
        if len(ids) == 0:
            continue
        rng = np.random.default_rng([seed, int(ids[0])])
        z = rng.normal(size=(len(ids), dim))
        label = (rng.random(len(ids)) < 1.0 / (1.0 + np.exp(-(z @ weights)))).astype(np.float64)
        rows = z * scale + offset  # the model sees scaled, shifted features
        flat = pa.array(rows.ravel())
        offsets = pa.array(np.arange(0, rows.size + 1, dim, dtype=np.int32))
        yield pa.RecordBatch.from_arrays([pa.ListArray.from_arrays(offsets, flat), pa.array(label)],
                                         ["arr", "label"])


def labelled_rows(spark: Any, rows: int, dim: int, partitions: int, seed: int, truth: int) -> Any:
    """A cached DataFrame of ``rows`` (``features`` vector, ``label`` 0/1), generated on the executors.

    ``truth`` seeds the logistic model (shared by the training and held-out sets), ``seed`` the rows."""
    from pyspark.ml.functions import array_to_vector

    def gen(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return _generate(it, dim, seed, truth)

    df = (spark.range(0, rows, numPartitions=partitions)
          .mapInArrow(gen, "arr array<double>, label double")
          .select(array_to_vector("arr").alias("features"), "label")
          .cache())
    df.count()
    return df


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--num-models", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3, help="fits per contender; the fastest counts")
    parser.add_argument("--epochs", type=int, default=3,
                        help="3 passes reach MLlib's held-out AUC from 100k rows (the gap is printed)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from pyspark.ml.classification import LogisticRegression
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    import sagespark

    spark = bench_session("bench-linear-learner", args.master)
    train = labelled_rows(spark, args.rows, args.dim, args.workers, args.seed, args.seed)
    test = labelled_rows(spark, max(1000, args.rows // 10), args.dim, args.workers, args.seed + 1, args.seed)
    warm = train.limit(max(400, 50 * args.workers)).repartition(args.workers).cache()
    LogisticRegression().fit(warm)  # JVM warm-up, untimed
    auc = BinaryClassificationEvaluator(labelCol="label", metricName="areaUnderROC")

    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as store:
        params = {"predictor_type": "binary_classifier", "num_models": args.num_models,
                  "epochs": args.epochs, "numWorkers": args.workers, "storeUri": store}
        sagespark.LinearLearner(**params).fit(warm)  # Python worker start-up and imports, untimed
        ours = sagespark.LinearLearner(**params)
        out["sagespark_fit_s"], model = best_of(args.repeats, lambda: ours.fit(train))
        scored = model.transform(test)
        out["sagespark_test_auc"] = auc.setRawPredictionCol("score").evaluate(scored)

    theirs = LogisticRegression(featuresCol="features", labelCol="label")
    out["mllib_fit_s"], mllib = best_of(args.repeats, lambda: theirs.fit(train))
    out["mllib_iterations"] = float(mllib.summary.totalIterations)
    out["mllib_test_auc"] = auc.setRawPredictionCol("rawPrediction").evaluate(mllib.transform(test))

    out["speedup_mllib_over_sagespark"] = out["mllib_fit_s"] / out["sagespark_fit_s"]
    out["auc_difference_sagespark_minus_mllib"] = out["sagespark_test_auc"] - out["mllib_test_auc"]
    print(f"rows={args.rows} dim={args.dim} num_models={args.num_models} workers={args.workers} "
          f"master={args.master}")
    for key, value in out.items():
        print(f"{key:40s} {value:.6g}")
    spark.stop()
    return out


if __name__ == "__main__":
    main()
