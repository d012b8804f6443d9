"""Benchmark: sagespark IP Insights fit and transform on a generated login population, on Spark.

Entities each use one to three home /24 networks; ``--rows`` training logins are generated on the
executors (never on the driver). The held-out set mixes normal logins (a new host of an entity's own
network) and anomalous ones (a uniformly random IPv4 address). Reports the fit time and throughput
(true pairs/s), ``validation:discriminator_auc``, the held-out anomaly AUC of ``-dot_product`` (Spark's
BinaryClassificationEvaluator, no collect), transform rows/s, and the IPv4 parse rate of the vectorised
parser against Python's ``ipaddress`` module (the peer a per-row implementation would use).

Usage::

    python bench/bench_ipinsights.py --rows 50000 --entities 2000 --workers 2
    python bench/bench_ipinsights.py --rows 20000000 --entities 1000000 --workers 8 --master local[8]
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
from bench.common import bench_session  # noqa: E402


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a deterministic pseudo-random uint64 per input."""
    with np.errstate(over="ignore"):
        x = (x + np.uint64(0x9E3779B97F4A7C15)).astype(np.uint64)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return x ^ (x >> np.uint64(31))


def _logins(batches: Iterator[pa.RecordBatch], entities: int, seed: int, anomalies: bool
            ) -> Iterator[pa.RecordBatch]:
    """``mapInArrow``: ids → (entity, ip[, anomalous]); an entity's networks depend only on its id."""
    from sagespark.algorithms.ipinsights.encoding import format_ipv4

    for batch in batches:
        ids = batch.column(0).to_numpy().astype(np.uint64)
        r = _mix(ids * np.uint64(3) + np.uint64(seed))
        who = (r % np.uint64(entities)).astype(np.uint64)
        count = (_mix(who ^ np.uint64(0xA5A5)) % np.uint64(3)) + np.uint64(1)
        which = (r >> np.uint64(20)) % count
        prefix = (_mix(who * np.uint64(4) + which) % np.uint64((1 << 24) - (1 << 8))) + np.uint64(1 << 8)
        host = (r >> np.uint64(40)) % np.uint64(254) + np.uint64(1)
        ips = (prefix << np.uint64(8)) + host
        columns = {"entity": pa.array(np.char.add("user-", who.astype(str)).astype(object), pa.string())}
        if anomalies:
            bad = ((r >> np.uint64(50)) & np.uint64(1)).astype(bool)
            random_ips = _mix(r ^ np.uint64(0x5DEECE66D)) % np.uint64(1 << 32)
            ips = np.where(bad, random_ips, ips)
            columns["label"] = pa.array(bad.astype(np.float64))
        columns["ip"] = pa.array(format_ipv4(ips.astype(np.int64)), pa.string())
        yield pa.RecordBatch.from_pydict(columns)


def generated_logins(spark: Any, rows: int, entities: int, partitions: int, *, seed: int,
                     anomalies: bool = False) -> Any:
    from pyspark.sql.types import DoubleType, StringType, StructField, StructType

    fields = [StructField("entity", StringType())]
    if anomalies:
        fields.append(StructField("label", DoubleType()))
    fields.append(StructField("ip", StringType()))
    return spark.range(0, rows, numPartitions=partitions).mapInArrow(
        lambda it: _logins(it, entities, seed, anomalies), StructType(fields))


def parse_rates(n: int) -> dict[str, float]:
    """IPv4 strings parsed per second: the vectorised parser against ``ipaddress`` row by row."""
    import ipaddress

    from sagespark.algorithms.ipinsights.encoding import format_ipv4, parse_ipv4

    text = pa.array(format_ipv4(np.random.default_rng(0).integers(0, 1 << 32, n)), pa.string())
    start = time.perf_counter()
    ours = parse_ipv4(text)
    ours_s = time.perf_counter() - start
    values = text.to_pylist()
    start = time.perf_counter()
    theirs = [int(ipaddress.IPv4Address(v)) for v in values]
    theirs_s = time.perf_counter() - start
    assert ours.tolist() == theirs
    return {"parse_rows_per_s": n / ours_s, "ipaddress_rows_per_s": n / theirs_s,
            "parse_speedup": theirs_s / ours_s}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--entities", type=int, default=2_000)
    parser.add_argument("--test-rows", type=int, default=20_000)
    parser.add_argument("--vector-dim", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.functions import array_to_vector
    from pyspark.sql import functions as F

    import sagespark

    spark = bench_session("bench-ipinsights", args.master)
    train = generated_logins(spark, args.rows, args.entities, args.workers, seed=args.seed).cache()
    validation = generated_logins(spark, args.test_rows, args.entities, args.workers, seed=args.seed + 1)
    test = generated_logins(spark, args.test_rows, args.entities, args.workers, seed=args.seed + 2,
                            anomalies=True).cache()
    train.count(), test.count()
    params = {"num_entity_vectors": 2 * args.entities, "vector_dim": args.vector_dim, "epochs": args.epochs,
              "mini_batch_size": 1000, "learning_rate": 0.01, "numWorkers": args.workers}
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as store:
        # Untimed warm-up: Python worker start-up and imports land here, not on the timed fit.
        sagespark.IPInsights(**{**params, "epochs": 1}, storeUri=store).fit(train.limit(2000))
        start = time.perf_counter()
        model = sagespark.IPInsights(**params, storeUri=store).setValidationData(validation).fit(train)
        fit_s = time.perf_counter() - start
        out.update(fit_s=fit_s, fit_pairs_per_s=args.rows * args.epochs / fit_s,
                   validation_discriminator_auc=model.metrics.get("validation:discriminator_auc",
                                                                  float("nan")))
        start = time.perf_counter()
        scored = model.transform(test).cache()
        scored.count()
        out["transform_rows_per_s"] = args.test_rows / (time.perf_counter() - start)
        score = F.array(F.col("dot_product"), -F.col("dot_product"))  # low dot product = anomalous
        raw = scored.select(array_to_vector(score).alias("raw"), "label")
        evaluator = BinaryClassificationEvaluator(rawPredictionCol="raw", labelCol="label")
        out["heldout_anomaly_auc"] = evaluator.evaluate(raw)
    out.update(parse_rates(min(args.rows, 1_000_000)))
    for key, value in out.items():
        print(f"{key}: {value:.4g}")
    return out


if __name__ == "__main__":
    main()
