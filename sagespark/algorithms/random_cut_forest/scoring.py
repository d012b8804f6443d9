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

__all__ = ["anomaly_scores", "ScoringTables", "ENTRIES_PER_CHUNK"]

ENTRIES_PER_CHUNK = 1 << 17
"""(point, tree) pairs walked together for narrow rows (d ≤ 8); wider rows walk proportionally fewer,
so a chunk's gathered rows and boxes stay within a few tens of MB."""


class ScoringTables:
    """Per-node arrays in the layout the walk reads.

    Boxes are float32 (the training rows are float32, so box corners are exact) and packed as one
    ``nodes × 2d`` array so each level gathers them in one step; children are one ``nodes × 2`` array
    indexed by the direction taken.
    """

    def __init__(self, forest: Forest) -> None:
        dim = forest.feature_dim
        self.dim = dim
        self.feature = forest.feature.astype(np.intp)
        self.threshold = forest.threshold
        self.children = np.stack([forest.left, forest.right], axis=1).astype(np.intp).ravel()
        self.box = np.hstack([forest.lower, forest.upper]).astype(np.float32)
        self.side_sum = (forest.upper.astype(np.float64) - forest.lower).sum(axis=1).astype(np.float32)
        self.mass = forest.mass.astype(np.float64)
        self.roots = forest.roots.astype(np.intp)
        self.tree_mass = self.mass[self.roots]
        self.ones = np.ones(dim, dtype=np.float32)


def anomaly_scores(forest: Forest, x: np.ndarray, tables: ScoringTables | None = None) -> np.ndarray:
    """Forest anomaly score of every row of ``x`` (dense, ``n × d``), as float64.

    Rows are read as float32, the precision the model was trained in (and SageMaker's
    Float32Tensor); cuts compare them exactly against float64 thresholds. A caller scoring many
    batches with one forest passes its :class:`ScoringTables` to derive them once.

    Examples
    --------
    >>> import numpy as np
    >>> from sagespark.algorithms.random_cut_forest.forest import build_forest
    >>> forest = build_forest(np.zeros((1, 4, 1), dtype=np.float32), np.random.default_rng(0))
    >>> anomaly_scores(forest, np.array([[0.0], [1.0]])).round(4).tolist()   # a single leaf of mass 4
    [0.5, 2.3219]
    """
    x = np.ascontiguousarray(x, dtype=np.float32)
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    tables = ScoringTables(forest) if tables is None else tables
    trees = forest.num_trees
    entries = ENTRIES_PER_CHUNK * 8 // max(8, forest.feature_dim)
    rows = max(1, entries // max(1, trees))
    scale = np.log2(1.0 + tables.tree_mass)
    for start in range(0, n, rows):
        part = x[start:start + rows]
        per_tree = _tree_scores(tables, part)          # rows × trees
        out[start:start + part.shape[0]] = (per_tree * scale).mean(axis=1)
    return out


def _tree_scores(t: ScoringTables, x: np.ndarray) -> np.ndarray:
    """Un-normalised score ``s_0`` of every (row, tree) pair, shaped ``rows × trees``."""
    n, trees, dim = x.shape[0], t.roots.shape[0], t.dim
    flat = x.ravel()
    result = np.empty(n * trees)
    # The walking state is compacted as pairs reach their leaf: entry e = row * trees + tree.
    entry = np.arange(n * trees)
    row = np.repeat(np.arange(n), trees)
    node = np.tile(t.roots, n)
    total = np.zeros(n * trees, dtype=np.float32)
    survive = np.ones(n * trees, dtype=np.float32)
    depth = 0
    while entry.size:
        feature = t.feature[node]
        at_leaf = feature < 0
        if at_leaf.any():
            leaf, xs = node[at_leaf], x[row[at_leaf]]
            same = np.all(xs == t.box[leaf, :dim], axis=1)
            m = t.mass[leaf]
            seen = (1.0 - m / (2.0 * t.tree_mass[entry[at_leaf] % trees])) / (depth + np.log2(1.0 + m))
            leaf_score = np.where(same, seen, 1.0 / (depth + 1))
            result[entry[at_leaf]] = total[at_leaf] + survive[at_leaf] * leaf_score
            inner = ~at_leaf
            entry, row, node, total, survive, feature = (
                entry[inner], row[inner], node[inner], total[inner], survive[inner], feature[inner])
            if not entry.size:
                break
        xs = x[row]
        box = t.box[node]
        # Side length the box gains by growing to include the point; zero when the point is inside.
        added = (np.maximum(xs - box[:, dim:], 0.0) + np.maximum(box[:, :dim] - xs, 0.0)) @ t.ones
        separate = added / (t.side_sum[node] + added)
        total += survive * separate * np.float32(1.0 / (depth + 1))
        survive *= 1.0 - separate
        goes_right = flat[row * dim + feature] > t.threshold[node]
        node = t.children[2 * node + goes_right]
        depth += 1
    return result.reshape(n, trees)
