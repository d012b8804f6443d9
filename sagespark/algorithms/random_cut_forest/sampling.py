"""Per-tree reservoir samples over the shards, merged into uniform samples of the whole data set.

SageMaker's RCF gives every tree ``num_samples_per_tree`` points drawn uniformly at random from the
training data, with reservoir sampling so that the data need not fit in memory. Across ranks the
draw is done in two exact steps:

1. **How many points each shard gives each tree.** For one uniform sample of size ``m`` without
   replacement from ``N = Σ n_r`` rows, the numbers that fall in each shard follow the multivariate
   hypergeometric distribution with colours ``n_r``. Every rank draws these counts from the same
   seeded stream (:func:`plan_sample_counts`), so all ranks agree without a message.
2. **Which points.** A reservoir of size ``k`` over a shard holds, at the end of a pass, a uniform
   sample of ``k`` rows without replacement; because the shard is already decoded in memory, each
   rank draws that reservoir state directly (:func:`draw_local_samples`), ``counts[t, rank]`` rows
   for tree ``t``. The union over ranks is a uniform sample of the whole data set, as if one
   reservoir had seen every row.

When the data set has fewer rows than ``num_samples_per_tree``, every tree gets all of it.

Examples
--------
>>> import numpy as np
>>> counts = plan_sample_counts(np.array([100, 300]), num_trees=3, sample_size=8,
...                             rng=np.random.default_rng(0))
>>> counts.shape, counts.sum(axis=1).tolist()
((3, 2), [8, 8, 8])
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Matrix

__all__ = ["plan_sample_counts", "draw_local_samples", "assemble_samples"]


def plan_sample_counts(shard_rows: np.ndarray, *, num_trees: int, sample_size: int,
                       rng: np.random.Generator) -> np.ndarray:
    """Rows each shard contributes to each tree: a ``num_trees × num_shards`` int64 array.

    Every row sums to ``min(sample_size, Σ shard_rows)``.

    Examples
    --------
    >>> plan_sample_counts(np.array([2, 3]), num_trees=2, sample_size=10,
    ...                    rng=np.random.default_rng(1)).tolist()
    [[2, 3], [2, 3]]
    """
    rows = np.asarray(shard_rows, dtype=np.int64)
    total = int(rows.sum())
    per_tree = min(int(sample_size), total)
    if per_tree == 0:
        return np.zeros((num_trees, rows.size), dtype=np.int64)
    if per_tree == total:
        return np.tile(rows, (num_trees, 1))
    counts = rng.multivariate_hypergeometric(rows, per_tree, size=num_trees)
    return np.asarray(counts, dtype=np.int64).reshape(num_trees, rows.size)


def draw_local_samples(features: Matrix | None, counts: np.ndarray, rng: np.random.Generator, *,
                       dim: int) -> np.ndarray:
    """This shard's rows for every tree, tree after tree: ``Σ counts × d`` float32.

    ``counts[t]`` distinct rows, uniformly at random, for tree ``t`` (the state of a size
    ``counts[t]`` reservoir after a pass over the shard). ``dim`` is the agreed feature width, so
    an empty shard still sends a ``0 × dim`` array (collectives need one trailing shape).
    """
    counts = np.asarray(counts, dtype=np.int64)
    if features is None or int(counts.sum()) == 0:
        return np.zeros((0, dim), dtype=np.float32)
    n = int(features.shape[0])
    # One draw per tree (never per row): numpy samples k of n without replacement in O(k) memory.
    index = np.concatenate([rng.choice(n, size=int(k), replace=False) for k in counts])
    rows = features[index]
    dense = rows.toarray() if sp.issparse(rows) else np.asarray(rows)
    return np.ascontiguousarray(dense, dtype=np.float32)


def assemble_samples(pieces: list[np.ndarray], counts: np.ndarray) -> np.ndarray:
    """Join every rank's :func:`draw_local_samples` output into ``num_trees × m × d`` samples.

    ``pieces[r]`` holds rank ``r``'s rows tree after tree, ``counts[t, r]`` rows for tree ``t``.
    """
    num_trees = counts.shape[0]
    per_tree = int(counts[0].sum()) if num_trees else 0
    points = np.concatenate(pieces, axis=0)
    dim = int(points.shape[1])
    trees = np.concatenate([np.repeat(np.arange(num_trees), counts[:, r]) for r in range(counts.shape[1])])
    order = np.argsort(trees, kind="stable")
    return points[order].reshape(num_trees, per_tree, dim)
