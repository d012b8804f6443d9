"""Benchmark: sagespark XGBoost against ``xgboost.spark.SparkXGBClassifier`` on Higgs-like data.

Generates ``--rows`` × 28 Higgs-like rows on the executors (21 "low-level" kinematic features: momenta,
pseudo-rapidities and angles of seven objects; 7 "high-level" invariant-mass-like features derived from
them; a noisy non-linear signal/background label), plus a held-out set of ``--rows / 10`` rows. Both
trainers fit the same cached DataFrame with ``num_round`` / ``n_estimators`` = 100, tree_method hist,
XGBoost's default depth and learning rate, and the same number of workers, in the same Spark session.
Reports the fit times, their ratio (target ≤ 1.10) and the held-out AUC of each (target: within 0.001).

Usage::

    python bench/bench_xgboost.py --rows 100000
    python bench/bench_xgboost.py --rows 1000000 --workers 2 --master local[2]
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

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bench.common import bench_session, driver_memory_mb  # noqa: E402

OBJECTS = 7
FEATURES = 3 * OBJECTS + 7


def higgs_like(ids: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Features (n × 28) and 0/1 labels for row ids ``ids`` (deterministic per first id and seed)."""
    rng = np.random.default_rng([seed, int(ids[0])])
    n = len(ids)
    signal = rng.uniform(size=n) < 0.53
    pt = rng.lognormal(mean=0.0, sigma=0.6, size=(n, OBJECTS))
    pt[signal, :2] *= 1.3  # signal objects are harder ...
    eta = rng.normal(scale=1.1, size=(n, OBJECTS))
    eta[signal, :3] *= 0.8  # ... and more central
    phi = rng.uniform(-np.pi, np.pi, size=(n, OBJECTS))
    # Pairwise invariant masses m_ij^2 = 2 pt_i pt_j (cosh(d eta) - cos(d phi)), one resonance in signal.
    pairs = [(0, 1), (0, 2), (1, 2), (2, 3), (3, 4), (4, 5), (5, 6)]
    masses = np.empty((n, len(pairs)))
    for column, (i, j) in enumerate(pairs):
        m2 = 2 * pt[:, i] * pt[:, j] * (np.cosh(eta[:, i] - eta[:, j]) - np.cos(phi[:, i] - phi[:, j]))
        masses[:, column] = np.sqrt(np.maximum(m2, 0.0))
    peak = signal & (rng.uniform(size=n) < 0.6)
    masses[peak, 0] = rng.normal(loc=2.0, scale=0.15, size=int(peak.sum()))
    features = np.column_stack([np.stack([pt, eta, phi], axis=2).reshape(n, 3 * OBJECTS), masses])
    # Label noise keeps the problem hard (AUC well below 1), like the real Higgs data.
    flip = rng.uniform(size=n) < 0.1
    label = np.where(flip, ~signal, signal).astype(np.float64)
    return features, label


def _generate(batches: Iterator[pa.RecordBatch], seed: int) -> Iterator[pa.RecordBatch]:
    for batch in batches:
        ids = batch.column(0).to_numpy()
        if len(ids) == 0:
            continue
        features, label = higgs_like(ids, seed)
        flat = pa.array(features.ravel())
        offsets = pa.array(np.arange(0, features.size + 1, FEATURES, dtype=np.int32))
        yield pa.RecordBatch.from_arrays([pa.ListArray.from_arrays(offsets, flat), pa.array(label)],
                                         ["arr", "label"])


def generated(spark: Any, start: int, rows: int, partitions: int, seed: int) -> Any:
    """A cached DataFrame (``features`` vector, ``label`` double) made on the executors."""
    from pyspark.ml.functions import array_to_vector

    def gen(it: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return _generate(it, seed)

    df = (spark.range(start, start + rows, numPartitions=partitions)
          .mapInArrow(gen, "arr array<double>, label double")
          .select(array_to_vector("arr").alias("features"), "label")
          .cache())
    df.count()
    return df


def _auc(df: Any, column: str) -> float:
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    evaluator = BinaryClassificationEvaluator(rawPredictionCol=column, labelCol="label",
                                              metricName="areaUnderROC")
    return float(evaluator.evaluate(df))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--repeats", type=int, default=1, help="timed fits per trainer (the fastest counts)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from xgboost.spark import SparkXGBClassifier

    import sagespark

    spark = bench_session("bench-xgboost", args.master)
    train = generated(spark, 0, args.rows, args.workers, args.seed)
    test = generated(spark, args.rows, max(1000, args.rows // 10), args.workers, args.seed)
    common = {"max_depth": 6, "max_bin": 256}

    def ours(df: Any, store: str) -> Any:
        return sagespark.XGBoost(num_round=args.rounds, objective="binary:logistic", tree_method="hist",
                                 numWorkers=args.workers, storeUri=store, **common).fit(df)

    def theirs(df: Any) -> Any:
        return SparkXGBClassifier(num_workers=args.workers, n_estimators=args.rounds, tree_method="hist",
                                  features_col="features", label_col="label", **common).fit(df)

    # Untimed warm-up fits: Python worker start-up and imports are one-time costs for whichever runs first.
    warm = train.limit(2000).repartition(args.workers).cache()
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as store:
        ours(warm, store)
        theirs(warm)
        ours_s, theirs_s = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            model = ours(train, store)
            ours_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            peer = theirs(train)
            theirs_s.append(time.perf_counter() - start)
        out["sagespark_fit_s"] = min(ours_s)
        out["xgboost_spark_fit_s"] = min(theirs_s)
        out["sagespark_auc"] = _auc(model.transform(test), "score")
        out["xgboost_spark_auc"] = _auc(peer.transform(test), "probability")
        out["sagespark_train_logloss"] = float(model.metrics.get("train:logloss", float("nan")))
        out.update(driver_memory_mb(spark))
    out["time_ratio_sagespark_over_xgboost_spark"] = out["sagespark_fit_s"] / out["xgboost_spark_fit_s"]
    out["auc_difference_sagespark_minus_xgboost_spark"] = out["sagespark_auc"] - out["xgboost_spark_auc"]
    print(f"rows={args.rows} features={FEATURES} rounds={args.rounds} workers={args.workers} "
          f"master={args.master} repeats={args.repeats}")
    for key, value in out.items():
        print(f"{key:44s} {value:.6g}")
    spark.stop()
    return out


if __name__ == "__main__":
    main()
