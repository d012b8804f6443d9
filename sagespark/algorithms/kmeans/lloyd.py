"""Seeding (random, greedy k-means++) and weighted Lloyd on a small in-memory point set.

The streaming pass leaves every rank with ``k * extra_center_factor`` weighted centres; rank 0 reduces
the gathered set to ``k`` centres with :func:`best_weighted_lloyd`, exactly the "local Lloyd" step that
SageMaker's ``local_lloyd_*`` hyperparameters tune.

Examples
--------
>>> import numpy as np
>>> pts = np.array([[0.0], [0.1], [10.0], [10.2]])
>>> centers, loss = best_weighted_lloyd(pts, np.ones(4), 2, init="kmeans++", max_iter=50, tol=1e-4,
...                                     trials=2, rng=np.random.default_rng(0))
>>> np.sort(centers.ravel()).round(2).tolist()
[0.05, 10.1]
"""

from __future__ import annotations

import math

import numpy as np

from sagespark.algorithms.base import Matrix
from sagespark.algorithms.kmeans.geometry import cluster_sums, row_sq_norms, sq_distances

__all__ = ["kmeans_plus_plus", "random_init", "weighted_lloyd", "best_weighted_lloyd", "nearest"]


def nearest(points: Matrix, centers: np.ndarray, points_sq: np.ndarray | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """Index of the nearest centre and squared distance to it, for every row (dense or CSR)."""
    if points_sq is None:
        points_sq = row_sq_norms(points)
    d2 = sq_distances(points, points_sq, centers, row_sq_norms(centers))
    labels = d2.argmin(axis=1)
    return labels, d2[np.arange(points.shape[0]), labels]


def random_init(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct points drawn with probability proportional to their weight."""
    p = weights / weights.sum()
    idx = rng.choice(points.shape[0], size=k, replace=False, p=p)
    return points[np.sort(idx)].copy()


def kmeans_plus_plus(points: np.ndarray, weights: np.ndarray, k: int, rng: np.random.Generator
                     ) -> np.ndarray:
    """Weighted greedy k-means++ seeding (Arthur & Vassilvitskii; greedy variant as scikit-learn's).

    Each step draws ``2 + log(k)`` candidates with probability ∝ weight · D² and keeps the one that
    lowers the weighted potential most, which makes seeding markedly more robust than one draw.
    """
    m = points.shape[0]
    n_candidates = 2 + int(math.log(max(k, 1)))
    sq = row_sq_norms(points)
    centers = np.empty((k, points.shape[1]), dtype=np.float64)
    first = rng.choice(m, p=weights / weights.sum())
    centers[0] = points[first]
    closest = sq_distances(points, sq, centers[:1], sq[first:first + 1]).ravel()
    for i in range(1, k):
        potential = weights * closest
        total = potential.sum()
        if total <= 0.0:
            # Every point coincides with a centre: remaining centres repeat points (still valid centres).
            cand = rng.choice(m, size=1, p=weights / weights.sum())
        else:
            cand = np.searchsorted(np.cumsum(potential), rng.random(n_candidates) * total)
            cand = np.minimum(cand, m - 1)
        d_cand = sq_distances(points, sq, points[cand], sq[cand])          # m × candidates
        new_closest = np.minimum(closest[:, None], d_cand)
        best = int(np.argmin(weights @ new_closest))
        centers[i] = points[cand[best]]
        closest = new_closest[:, best]
    return centers


def weighted_lloyd(points: np.ndarray, weights: np.ndarray, centers: np.ndarray, *, max_iter: int,
                   tol: float) -> tuple[np.ndarray, float]:
    """Weighted Lloyd iterations from ``centers``; returns the centres and their weighted loss.

    Stops when the relative decrease of the loss falls to ``tol`` or below. An emptied cluster moves to
    the point with the largest weighted squared distance, so no centre is wasted.
    """
    centers = centers.copy()
    k = centers.shape[0]
    sq = row_sq_norms(points)
    previous = math.inf
    loss = math.inf
    for _ in range(max_iter):
        labels, d2 = nearest(points, centers, sq)
        loss = float(weights @ d2)
        if previous < math.inf and previous - loss <= tol * max(previous, 1e-300):
            break
        previous = loss
        mass = np.bincount(labels, weights=weights, minlength=k)
        sums = cluster_sums(points, labels, k, weights)
        filled = mass > 0
        centers[filled] = sums[filled] / mass[filled, None]
        for j in np.flatnonzero(~filled):
            far = int(np.argmax(weights * d2))
            centers[j] = points[far]
            d2[far] = 0.0
    labels, d2 = nearest(points, centers, sq)
    return centers, float(weights @ d2)


def best_weighted_lloyd(points: np.ndarray, weights: np.ndarray, k: int, *, init: str, max_iter: int,
                        tol: float, trials: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """Run ``trials`` seeded weighted-Lloyd procedures and keep the one with the lowest loss."""
    points = np.asarray(points, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    best_centers: np.ndarray | None = None
    best_loss = math.inf
    for _ in range(trials):
        seed = kmeans_plus_plus(points, weights, k, rng) if init == "kmeans++" else random_init(
            points, weights, k, rng)
        centers, loss = weighted_lloyd(points, weights, seed, max_iter=max_iter, tol=tol)
        if loss < best_loss:
            best_centers, best_loss = centers, loss
    assert best_centers is not None
    return best_centers, best_loss
