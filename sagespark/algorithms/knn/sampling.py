"""Sampling ``sample_size`` training rows across ranks, each rank in proportion to its row count.

Every rank learns every rank's row count (one small allgather), so all ranks compute the same quotas:
``sample_size · n_r / N`` rounded down, with the rows left over going to the largest remainders
(ties to the lower rank). Each rank then draws its quota uniformly without replacement. The union is a
stratified uniform sample of the whole data set, whatever the partition sizes; when ``sample_size`` is
at least the number of rows, every row is kept.

Examples
--------
>>> quotas(np.array([600, 300, 100]), 100).tolist()
[60, 30, 10]
>>> quotas(np.array([1, 1, 1]), 2).tolist()
[1, 1, 0]
>>> quotas(np.array([5, 0]), 10).tolist()
[5, 0]
"""

from __future__ import annotations

import numpy as np

__all__ = ["quotas", "sample_rows"]


def quotas(counts: np.ndarray, sample_size: int) -> np.ndarray:
    """Rows each rank samples: proportional to ``counts``, summing to ``min(sample_size, counts.sum())``."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total <= sample_size:
        return counts.copy()
    exact = counts * (sample_size / total)
    base = np.floor(exact).astype(np.int64)
    left = sample_size - int(base.sum())
    # Largest remainder first; np.lexsort sorts by the last key first, the rank breaks ties.
    order = np.lexsort((np.arange(len(counts)), -(exact - base)))
    base[order[:left]] += 1
    return np.minimum(base, counts)


def sample_rows(num_rows: int, quota: int, rng: np.random.Generator) -> np.ndarray:
    """``quota`` distinct row positions out of ``num_rows``, in increasing order.

    Examples
    --------
    >>> sample_rows(5, 5, np.random.default_rng(0)).tolist()
    [0, 1, 2, 3, 4]
    >>> len(set(sample_rows(100, 10, np.random.default_rng(0)).tolist()))
    10
    """
    if quota >= num_rows:
        return np.arange(num_rows)
    return np.sort(rng.choice(num_rows, size=quota, replace=False))
