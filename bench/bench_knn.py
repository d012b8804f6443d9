"""Benchmark: sagespark k-NN query throughput against scikit-learn brute force, in one run.

Builds a ``--rows`` × ``--dim`` index (default 100,000 × 64) with sagespark's k-NN training path
(``faiss.Flat`` and ``faiss.IVFFlat``, sample_size = rows) and times ``Predictor.predict`` (the whole
inference path: embedding, faiss search, majority vote) on ``--queries`` fresh queries, against
``sklearn.neighbors.NearestNeighbors(algorithm="brute").kneighbors`` on the same points. Reports queries
per second of each, the ratios, and the IVF index's recall@k against exact search.

Two data sets, both generated with a fixed seed (``--data``): ``gaussian`` (i.i.d. N(0, 1): no structure
at all, the worst case for an inverted-file index, whose calibrated nprobe must then visit most lists)
and ``clustered`` (points around 1,000 random centres, closer to real embeddings).

Usage::

    python bench/bench_knn.py --rows 20000 --queries 500        # reduced size
    python bench/bench_knn.py                                   # 100,000 × 64, 5,000 queries
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def make_data(kind: str, rows: int, queries: int, dim: int, seed: int) -> tuple[np.ndarray, ...]:
    """Index points, their labels (10 classes) and fresh queries from the same distribution."""
    rng = np.random.default_rng(seed)
    total = rows + queries
    if kind == "gaussian":
        points = rng.normal(size=(total, dim))
        labels = rng.integers(0, 10, total)
    else:
        centres = rng.normal(scale=3.0, size=(1000, dim))
        owner = rng.integers(0, 1000, total)
        points = centres[owner] + rng.normal(size=(total, dim))
        labels = owner % 10
    points = points.astype(np.float32)
    return points[:rows], labels[:rows].astype(np.float64), points[rows:]


def _qps(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else float("inf")


def run(kind: str, args: argparse.Namespace) -> dict[str, float]:
    from sklearn.neighbors import NearestNeighbors

    from sagespark.algorithms import ChannelData
    from sagespark.algorithms.knn import KNN, KNNPredictor
    from sagespark.distributed.context import LocalContext

    x, y, q = make_data(kind, args.rows, args.queries, args.dim, args.seed)
    out: dict[str, float] = {}

    start = time.perf_counter()
    brute = NearestNeighbors(n_neighbors=args.k, algorithm="brute").fit(x)
    out["sklearn_fit_s"] = time.perf_counter() - start
    brute.kneighbors(q[:10])  # warm-up
    start = time.perf_counter()
    _, truth = brute.kneighbors(q)
    out["sklearn_brute_qps"] = _qps(len(q), time.perf_counter() - start)

    for index_type in ("faiss.Flat", "faiss.IVFFlat"):
        tag = index_type.split(".")[1].lower()
        hp = KNN.hyperparameters.from_dict({"k": args.k, "predictor_type": "classifier",
                                            "sample_size": args.rows, "index_type": index_type})
        data = ChannelData(x, y)
        start = time.perf_counter()
        hp = KNN.infer_hyperparameters(hp, data)
        state = KNN.train(LocalContext(seed=args.seed), {"train": data}, hp).state
        out[f"{tag}_build_s"] = time.perf_counter() - start
        predictor = KNNPredictor(state)
        predictor.predict({"features": q[:10]})  # warm-up
        start = time.perf_counter()
        predictor.predict({"features": q})
        out[f"{tag}_qps"] = _qps(len(q), time.perf_counter() - start)
        out[f"{tag}_over_sklearn"] = out[f"{tag}_qps"] / out["sklearn_brute_qps"]
        _, found = predictor.neighbours(q)
        out[f"{tag}_recall_at_k"] = float(np.mean(
            [len(set(a) & set(b)) / args.k for a, b in zip(found.tolist(), truth.tolist())]))
        if state.nprobe is not None:
            out[f"{tag}_nprobe"] = float(state.nprobe)
            out[f"{tag}_nlist"] = float(state.index.nlist)
    return out


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--queries", type=int, default=5_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--data", choices=["gaussian", "clustered", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import faiss

    results: dict[str, dict[str, float]] = {}
    kinds = ["gaussian", "clustered"] if args.data == "both" else [args.data]
    print(f"rows={args.rows} dim={args.dim} queries={args.queries} k={args.k} "
          f"faiss_threads={faiss.omp_get_max_threads()}")
    for kind in kinds:
        results[kind] = run(kind, args)
        r = results[kind]
        print(f"[{kind}] sklearn brute: {r['sklearn_brute_qps']:.0f} q/s | "
              f"Flat: {r['flat_qps']:.0f} q/s ({r['flat_over_sklearn']:.2f}x, "
              f"recall {r['flat_recall_at_k']:.3f}) | "
              f"IVFFlat: {r['ivfflat_qps']:.0f} q/s ({r['ivfflat_over_sklearn']:.2f}x, recall "
              f"{r['ivfflat_recall_at_k']:.3f}, nprobe {r.get('ivfflat_nprobe', 0):.0f}/"
              f"{r.get('ivfflat_nlist', 0):.0f}, build {r['ivfflat_build_s']:.1f}s)")
    return results


if __name__ == "__main__":
    main()
