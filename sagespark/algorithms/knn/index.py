"""The faiss index of a k-NN model: building it from the gathered sample, and tuning IVF search.

SageMaker exposes the index type, the metric, ``nlist`` and the PQ ``m``, but not how many inverted
lists a query visits (faiss' ``nprobe``). With ``nprobe = 1`` (faiss' default) an IVF index finds only a
small share of the true neighbours, so sagespark calibrates ``nprobe`` when the index is built: it
searches a few hundred sampled points with growing ``nprobe`` and keeps the smallest value whose
recall@k against exact search reaches :data:`TARGET_RECALL` (or where recall stops improving, which
is where IVFPQ's quantisation error takes over). The value travels in the artifact.

Examples
--------
>>> import numpy as np
>>> x = np.random.default_rng(0).normal(size=(2000, 8)).astype(np.float32)
>>> index = build_index(x, index_type="faiss.IVFFlat", metric="L2", nlist=16, pq_m=None)
>>> index.ntotal, index.nlist
(2000, 16)
>>> nprobe, recall = calibrate_nprobe(index, x, k=5, rng=np.random.default_rng(0))
>>> 1 <= nprobe <= 16 and recall >= TARGET_RECALL
True
"""

from __future__ import annotations

import math
from typing import Any

import faiss
import numpy as np

__all__ = ["TARGET_RECALL", "build_index", "calibrate_nprobe", "faiss_metric", "search"]

TARGET_RECALL = 0.97
"""Recall@k against exact search that the calibrated ``nprobe`` must reach on sampled queries."""

_CALIBRATION_QUERIES = 512
_PLATEAU_GAIN = 0.003  # a doubling of nprobe that gains less recall than this is not worth its cost


def faiss_metric(metric: str) -> int:
    """faiss' metric constant for ``index_metric`` (COSINE is inner product on normalised vectors)."""
    return faiss.METRIC_L2 if metric == "L2" else faiss.METRIC_INNER_PRODUCT


def build_index(vectors: np.ndarray, *, index_type: str, metric: str, nlist: int,
                pq_m: int | None) -> faiss.Index:
    """Build (and for IVF, train) a faiss index over ``vectors`` (float32, already reduced/normalised).

    Parameters
    ----------
    vectors : ndarray of shape (n, d)
        The sampled points, float32 and C-contiguous.
    index_type : {"faiss.Flat", "faiss.IVFFlat", "faiss.IVFPQ"}
    metric : {"L2", "INNER_PRODUCT", "COSINE"}
    nlist : int
        Inverted lists of an IVF index (ignored for Flat).
    pq_m : int or None
        Sub-quantizers of an IVFPQ index; ``d`` must be a multiple of it.
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, d = vectors.shape
    kind = faiss_metric(metric)
    if index_type == "faiss.Flat":
        index: faiss.Index = faiss.IndexFlat(d, kind)
    else:
        quantizer = faiss.IndexFlat(d, kind)
        if index_type == "faiss.IVFFlat":
            index = faiss.IndexIVFFlat(quantizer, d, nlist, kind)
        elif index_type == "faiss.IVFPQ":
            assert pq_m is not None and d % pq_m == 0
            # 8-bit codes need 256 training points per sub-quantizer; small samples get fewer bits.
            nbits = max(1, min(8, int(math.floor(math.log2(max(n, 2))))))
            index = faiss.IndexIVFPQ(quantizer, d, nlist, pq_m, nbits, kind)
        else:
            raise ValueError(f"Unknown index_type {index_type!r}.")
        index.cp.seed = 1234  # faiss' default, stated: the same sample always gives the same index
        # faiss prints a warning to stderr below 39 points per centroid; a small sample is the user's
        # choice (sample_size), and the training log already states the sizes.
        index.cp.min_points_per_centroid = 1
        if index_type == "faiss.IVFPQ":
            ivfpq: Any = index
            ivfpq.pq.cp.min_points_per_centroid = 1
        index.train(vectors)
    index.add(vectors)
    return index


def _ivf_params(nprobe: int) -> Any:
    params: Any = faiss.SearchParametersIVF()
    params.nprobe = int(nprobe)
    return params


def search(index: faiss.Index, queries: np.ndarray, k: int, nprobe: int | None
           ) -> tuple[np.ndarray, np.ndarray]:
    """``index.search`` with a per-call ``nprobe`` (thread-safe: the shared index is never modified).

    Rows for which the visited lists hold fewer than ``k`` points are searched again over every list,
    so every returned id is a real point (faiss marks missing neighbours with id -1).
    """
    if nprobe is None or not hasattr(index, "nlist"):
        return index.search(queries, k)
    ivf: Any = index
    distances, ids = ivf.search(queries, k, params=_ivf_params(nprobe))
    short = np.flatnonzero((ids < 0).any(axis=1))
    if short.size and nprobe < ivf.nlist:
        again_d, again_i = ivf.search(np.ascontiguousarray(queries[short]), k, params=_ivf_params(ivf.nlist))
        distances[short], ids[short] = again_d, again_i
    return distances, ids


def _recall(truth: np.ndarray, found: np.ndarray, own: np.ndarray) -> float:
    """Mean share of each row's true neighbours found, not counting the query point itself."""
    truth = np.where(truth == own[:, None], -2, truth)
    found = np.where(found == own[:, None], -3, found)
    valid = truth >= 0
    hits = (truth[:, :, None] == found[:, None, :]).any(axis=2) & valid
    return float(hits.sum() / max(1, valid.sum()))


def calibrate_nprobe(index: faiss.Index, vectors: np.ndarray, *, k: int, rng: np.random.Generator,
                     target: float = TARGET_RECALL) -> tuple[int, float]:
    """The smallest ``nprobe`` whose recall@k against exact search reaches ``target``.

    Queries are sampled points; each query's own entry is ignored on both sides. Doubling finds a
    bracket, bisection the smallest sufficient value. Where recall plateaus below ``target`` (product
    quantisation) the plateau's start is returned.

    Returns
    -------
    (nprobe, recall) : tuple of int and float
    """
    ivf: Any = index
    nlist = int(ivf.nlist)
    n, d = vectors.shape
    kk = min(k + 1, n)
    count = min(n, _CALIBRATION_QUERIES, max(16, 4_000_000 // (kk * kk)))
    own = np.sort(rng.choice(n, size=count, replace=False))
    queries = np.ascontiguousarray(vectors[own])
    exact = faiss.IndexFlat(d, index.metric_type)
    exact.add(vectors)
    _, truth = exact.search(queries, kk)

    def recall_at(nprobe: int) -> float:
        return _recall(truth, search(index, queries, kk, nprobe)[1], own)

    low, low_recall = 0, 0.0
    nprobe = 1
    while True:
        current = recall_at(nprobe)
        if current >= target:
            break
        if low and current - low_recall < _PLATEAU_GAIN:
            return low, low_recall  # doubling no longer pays: the plateau starts at the previous value
        if nprobe >= nlist:
            return nprobe, current
        low, low_recall = nprobe, current
        nprobe = min(nlist, nprobe * 2)
    high, high_recall = nprobe, current
    # Bisection down to ~6% of nprobe: the smallest (near enough) value in (low, high] reaching the target.
    while high - low > max(1, high // 16):
        middle = (low + high) // 2
        value = recall_at(middle)
        if value >= target:
            high, high_recall = middle, value
        else:
            low = middle
    return high, high_recall
