"""The sagespark demo: RecordIO-protobuf round trip, K-Means in a barrier stage, deploy, predict.

Run it with ``bash scripts/demo.sh`` on a fresh machine, or ``.venv/bin/python examples/demo.py``.
Everything happens on this machine: a ``local[2]`` Spark session, a local model store and a local
SageMaker-compatible endpoint on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000, help="rows in the generated DataFrame")
    parser.add_argument("--workers", type=int, default=2, help="training workers (barrier tasks)")
    args = parser.parse_args()

    import numpy as np
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    import sagespark

    spark = (
        SparkSession.builder.master("local[2]")
        .appName("sagespark-demo")
        .config("spark.ui.showConsoleProgress", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    sagespark.register(spark)

    # 1. A generated DataFrame: 8 well-separated Gaussian blobs in 16 dimensions.
    rng = np.random.default_rng(7)
    centers = rng.normal(scale=10.0, size=(8, 16))
    blob = rng.integers(0, 8, size=args.rows)
    points = centers[blob] + rng.normal(size=(args.rows, 16))
    from pyspark.ml.linalg import Vectors

    rows = [(Vectors.dense(p), float(b)) for p, b in zip(points.tolist(), blob.tolist())]
    df = spark.createDataFrame(rows, ["features", "label"]).repartition(4)

    with tempfile.TemporaryDirectory(prefix="sagespark-demo-") as tmp:
        data_dir = str(Path(tmp) / "train")

        # 2. Write RecordIO-protobuf shards and read them back.
        t0 = time.perf_counter()
        df.write.format("sagemaker").mode("overwrite").save(data_dir)
        shards = sorted(p.name for p in Path(data_dir).glob("*.pbr"))
        back = spark.read.format("sagemaker").load(data_dir)
        n_back = back.count()
        print(f"\n[1] wrote {len(shards)} RecordIO-protobuf shards, read back {n_back} rows "
              f"in {time.perf_counter() - t0:.1f}s; schema: {back.schema.simpleString()}")
        back.select(F.col("label")).groupBy("label").count().orderBy("label").show(8)

        # 3. Train K-Means (one barrier stage, torch.distributed gloo between the workers).
        t0 = time.perf_counter()
        kmeans = sagespark.KMeans(k=8, numWorkers=args.workers, storeUri=str(Path(tmp) / "store"))
        model = kmeans.fitWithChannels(back, test=back.limit(2000))
        print(f"[2] K-Means trained in {time.perf_counter() - t0:.1f}s; metrics: {model.metrics}")
        scored = model.transform(back)
        scored.select("label", "closest_cluster", "distance_to_cluster").show(5)
        purity = (
            scored.groupBy("closest_cluster", "label").count()
            .groupBy("closest_cluster").agg(F.max("count").alias("majority"))
            .agg(F.sum("majority")).first()[0] / n_back
        )
        print(f"    cluster purity against the generating blobs: {purity:.3f}")

        # 4. Deploy to a local SageMaker-compatible endpoint and predict through it.
        with model.deploy() as endpoint:
            sample = points[:3].astype(np.float32)
            answer = endpoint.predict(sample, content_type="text/csv", accept="application/json")
            print(f"[3] endpoint {endpoint.url}/invocations answered: {answer}")
            # The same call as any HTTP client makes it: SageMaker's /invocations contract.
            csv_row = ",".join(f"{v:.3f}" for v in sample[0])
            request = urllib.request.Request(
                f"{endpoint.url}/invocations", data=csv_row.encode(),
                headers={"Content-Type": "text/csv", "Accept": "application/json"},
            )
            with urllib.request.urlopen(request) as response:
                print(f"    curl -H 'Content-Type: text/csv' --data '{csv_row}' {endpoint.url}/invocations")
                print(f"    -> {response.status} {response.read().decode()}")
    spark.stop()


if __name__ == "__main__":
    main()
