"""Benchmark: sagespark Random Cut Forest scoring throughput against the rrcf library, in one run.

Both forests have ``--trees`` trees of ``--samples`` points each, drawn from the same ``--train-rows``
generated rows (Gaussian, ``--dim`` columns). Both then score the same ``--score-rows`` query rows (1 %
of them far-off anomalies):

* sagespark: ``RandomCutForestPredictor.predict`` on the whole batch (every point walks every tree
  together, one numpy step per depth level), SageMaker's anomaly score;
* rrcf: the library's documented way to score a new point, per tree ``insert_point`` → ``codisp`` →
  ``forget_point``, averaged over the trees. rrcf works one point at a time in Python, so only the
  first ``--rrcf-points`` query rows are timed and its rate is extrapolated to the full batch (the
  report says so).

The scores are different quantities (SageMaker's expected inverse insertion depth vs rrcf's collusive
displacement); the ROC AUC of each on the injected anomalies is printed as a sanity check that both
do the job. Tree building time is reported too. No Spark is involved: this measures the scoring
engine that the Spark transform and the endpoint both call.

Usage::

    python bench/bench_randomcutforest.py --score-rows 20000 --rrcf-points 20
    python bench/bench_randomcutforest.py --train-rows 1000000 --score-rows 1000000 --rrcf-points 100
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import sys
import time
import types

import numpy as np


def _import_rrcf() -> types.ModuleType:
    # rrcf 0.4.4's __init__ reads its version through pkg_resources (setuptools), which this
    # environment does not ship; give it the same answer through importlib.metadata.
    if "pkg_resources" not in sys.modules:
        try:
            import pkg_resources  # noqa: F401
        except ModuleNotFoundError:
            shim = types.ModuleType("pkg_resources")
            shim.get_distribution = lambda name: types.SimpleNamespace(  # type: ignore[attr-defined]
                version=importlib.metadata.version(name))
            sys.modules["pkg_resources"] = shim
    import rrcf

    return rrcf


def _data(rng: np.random.Generator, rows: int, dim: int, anomaly_rate: float
          ) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(rows, dim))
    label = rng.random(rows) < anomaly_rate
    x[label] = rng.uniform(-8.0, 8.0, size=(int(label.sum()), dim))
    return x.astype(np.float32), label.astype(np.float64)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-rows", type=int, default=20000)
    parser.add_argument("--score-rows", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=3)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--samples", type=int, default=256)
    parser.add_argument("--rrcf-points", type=int, default=20, help="query rows rrcf scores (timed subset)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from sklearn.metrics import roc_auc_score

    from sagespark.algorithms import ChannelData, get_algorithm
    from sagespark.algorithms.random_cut_forest import RandomCutForestPredictor
    from sagespark.distributed.context import LocalContext

    rrcf = _import_rrcf()
    rng = np.random.default_rng(args.seed)
    train, _ = _data(rng, args.train_rows, args.dim, 0.0)
    queries, labels = _data(rng, args.score_rows, args.dim, 0.01)

    algo = get_algorithm("randomcutforest")
    hp = algo.hyperparameters.from_dict({"num_trees": args.trees, "num_samples_per_tree": args.samples,
                                         "feature_dim": args.dim})
    start = time.perf_counter()
    forest = algo.train(LocalContext(seed=args.seed), {"train": ChannelData(train)}, hp).state
    ours_build = time.perf_counter() - start
    predictor = RandomCutForestPredictor(forest)
    predictor.predict({"features": queries[:100]})           # warm-up: per-forest tables, allocator
    start = time.perf_counter()
    ours = predictor.predict({"features": queries})["score"]
    ours_time = time.perf_counter() - start

    np.random.seed(args.seed)  # noqa: NPY002 - rrcf draws its cuts from numpy's global generator
    start = time.perf_counter()
    trees = []
    for _ in range(args.trees):
        index = rng.choice(args.train_rows, size=min(args.samples, args.train_rows), replace=False)
        trees.append(rrcf.RCTree(train[index].astype(np.float64), index_labels=index))
    theirs_build = time.perf_counter() - start
    subset = min(args.rrcf_points, args.score_rows)
    theirs = np.zeros(subset)
    start = time.perf_counter()
    for i in range(subset):
        point = queries[i].astype(np.float64)
        total = 0.0
        for tree in trees:
            tree.insert_point(point, index="query")
            total += tree.codisp("query")
            tree.forget_point("query")
        theirs[i] = total / len(trees)
    theirs_time = time.perf_counter() - start

    ours_rate = args.score_rows / ours_time
    theirs_rate = subset / theirs_time
    results = {
        "sagespark_build_s": ours_build,
        "rrcf_build_s": theirs_build,
        "sagespark_score_s": ours_time,
        "sagespark_points_per_s": ours_rate,
        "rrcf_timed_points": float(subset),
        "rrcf_timed_s": theirs_time,
        "rrcf_points_per_s": theirs_rate,
        "rrcf_extrapolated_full_batch_s": args.score_rows / theirs_rate,
        "speedup_points_per_s": ours_rate / theirs_rate,
    }
    if 0 < labels.sum() < len(labels):
        results["sagespark_roc_auc"] = float(roc_auc_score(labels, ours))
    sub_labels = labels[:subset]
    if 0 < sub_labels.sum() < subset:
        results["rrcf_roc_auc_on_subset"] = float(roc_auc_score(sub_labels, theirs))
        results["sagespark_roc_auc_on_subset"] = float(roc_auc_score(sub_labels, ours[:subset]))
    print(f"train_rows={args.train_rows} score_rows={args.score_rows} dim={args.dim} trees={args.trees} "
          f"samples={args.samples}; rrcf timed on the first {subset} query rows and extrapolated")
    for key, value in results.items():
        print(f"{key:36s} {value:.6g}")
    return results


if __name__ == "__main__":
    main()
