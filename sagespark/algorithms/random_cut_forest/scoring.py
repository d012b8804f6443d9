"""SageMaker's RCF anomaly score, computed for whole batches over every tree at once.

The developer guide ("How RCF Works") defines a tree's score for a point as the expected change in
the tree's complexity from inserting the point, roughly inversely proportional to the depth at
which the point would be inserted; the forest's score is the average over trees, scaled with
respect to the sample size. The reference implementation of that definition (AWS's
``randomcutforest`` library, ``AnomalyScoreVisitor``) computes, along the point's root-to-leaf path:

* at the leaf of depth ``D`` (root depth 0) with mass ``m``: ``1 / (D + 1)`` when the point differs
  from the leaf's point, ``(1 - m / 2M) / (D + log2(1 + m))`` when it equals it (``M`` = tree mass);
* at each ancestor of depth ``k`` (walking up), with ``p_k`` the probability that a random cut of the
  node's box grown to include the point separates the point (``p_k`` = added side length / total side
  length of the grown box): ``s_k = p_k / (k + 1) + (1 - p_k) s_{k+1}``;
* the tree score is ``s_0 · log2(1 + M)``; the forest score is the mean over trees.

Unrolled, ``s_0 = Σ_k p_k/(k+1) Π_{j<k}(1 - p_j) + Π_{j<D}(1 - p_j) · s_D``, which accumulates
top-down while descending. So every (point, tree) pair walks down together, one level per numpy step
(gathers by node index, no per-point Python), carrying the running sum and the product
``Π(1 - p_j)``. Typical scores are about 1 for inliers and grow for outliers.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms.random_cut_forest.forest import build_forest
>>> rng = np.random.default_rng(0)
>>> forest = build_forest(rng.normal(size=(50, 64, 2)).astype(np.float32), rng)
>>> s = anomaly_scores(forest, np.array([[0.0, 0.0], [8.0, 8.0]]))
>>> bool(s[1] > 2 * s[0])
True
"""

from __future__ import annotations

import numpy as np

from sagespark.algorithms.random_cut_forest.forest import Forest

__all__ = ["anomaly_scores", "ENTRIES_PER_CHUNK"]

ENTRIES_PER_CHUNK = 1 << 17
"""(point, tree) pairs walked together; bounds the working set to a few tens of MB for small d."""


def anomaly_scores(forest: Forest, x: np.ndarray) -> np.ndarray:
    """Forest anomaly score of every row of ``x`` (dense, ``n × d``), as float64.

    Examples
    --------
    >>> import numpy as np
    >>> from sagespark.algorithms.random_cut_forest.forest import build_forest
    >>> forest = build_forest(np.zeros((1, 4, 1), dtype=np.float32), np.random.default_rng(0))
    >>> anomaly_scores(forest, np.array([[0.0], [1.0]])).round(4).tolist()   # a single leaf of mass 4
    [0.5, 2.3219]
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    trees = forest.num_trees
    rows = max(1, ENTRIES_PER_CHUNK // max(1, trees))
    tree_mass = forest.mass[forest.roots].astype(np.float64)
    scale = np.log2(1.0 + tree_mass)
    for start in range(0, n, rows):
        part = x[start:start + rows]
        per_tree = _tree_scores(forest, part, tree_mass)          # rows × trees
        out[start:start + part.shape[0]] = (per_tree * scale).mean(axis=1)
    return out


def _tree_scores(forest: Forest, x: np.ndarray, tree_mass: np.ndarray) -> np.ndarray:
    """Un-normalised score ``s_0`` of every (row, tree) pair, shaped ``rows × trees``."""
    n, trees = x.shape[0], forest.num_trees
    entries = n * trees
    point = np.repeat(np.arange(n), trees)           # entry e = row * trees + tree
    tree = np.tile(np.arange(trees), n)
    node = forest.roots[tree]
    total = np.zeros(entries)
    survive = np.ones(entries)
    active = np.arange(entries)
    depth = 0
    while active.size:
        nd = node[active]
        feature = forest.feature[nd]
        at_leaf = feature < 0
        if at_leaf.any():
            done, leaf = active[at_leaf], nd[at_leaf]
            xs = x[point[done]]
            same = np.all(xs == forest.lower[leaf], axis=1)
            m = forest.mass[leaf].astype(np.float64)
            seen = (1.0 - m / (2.0 * tree_mass[tree[done]])) / (depth + np.log2(1.0 + m))
            total[done] += survive[done] * np.where(same, seen, 1.0 / (depth + 1))
            inner = ~at_leaf
            active, nd, feature = active[inner], nd[inner], feature[inner]
            if not active.size:
                break
        xs = x[point[active]]
        lo, hi = forest.lower[nd], forest.upper[nd]
        grown = np.maximum(hi, xs) - np.minimum(lo, xs)
        grown_sum = grown.sum(axis=1)
        # Internal nodes hold two distinct points, so the grown box always has a positive size.
        separate = (grown_sum - (hi.astype(np.float64) - lo).sum(axis=1)) / grown_sum
        total[active] += survive[active] * separate / (depth + 1)
        survive[active] *= 1.0 - separate
        goes_left = xs[np.arange(active.size), feature] <= forest.threshold[nd]
        node[active] = np.where(goes_left, forest.left[nd], forest.right[nd])
        depth += 1
    return total.reshape(n, trees)
