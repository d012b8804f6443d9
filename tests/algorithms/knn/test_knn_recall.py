"""IVF recall against exact search on 100,000 × 64 random (i.i.d. Gaussian) points, trained on 2 ranks.

I.i.d. Gaussian data has no cluster structure, the hardest case for an inverted-file index: recall
depends entirely on how many lists a query visits, which training calibrates.
"""

from __future__ import annotations

import sys
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulated_world import run_ranks  # noqa: E402

from sagespark.algorithms import ChannelData  # noqa: E402
from sagespark.algorithms.knn import KNN, KNNPredictor  # noqa: E402


def test_ivfflat_recall_at_10_is_at_least_095_on_100k_by_64_random_points() -> None:
    rng = np.random.default_rng(0)
    n = 100_000
    x = rng.normal(size=(n, 64)).astype(np.float32)
    y = rng.integers(0, 10, n).astype(np.float64)
    queries = rng.normal(size=(1000, 64)).astype(np.float32)  # fresh points, not in the index
    shards = [ChannelData(x[: n // 2], y[: n // 2]), ChannelData(x[n // 2 :], y[n // 2 :])]
    result = run_ranks(KNN, shards, {"k": 10, "predictor_type": "classifier", "sample_size": n,
                                     "index_type": "faiss.IVFFlat"})
    state = result.state
    assert state.index.ntotal == n and state.index.nlist == 316  # auto: sqrt(sample_size)
    assert state.nprobe is not None and state.nprobe < state.index.nlist  # not an exhaustive scan
    _, found = KNNPredictor(state).neighbours(queries)
    exact = faiss.IndexFlatL2(64)
    exact.add(x)  # every row sampled; the gathered order is rank 0's rows then rank 1's
    _, truth = exact.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found.tolist(), truth.tolist())])
    assert recall >= 0.95
