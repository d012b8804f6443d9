"""The per-rank streaming pass: web-scale mini-batch k-means over ``k * extra_center_factor`` centres.

Each mini-batch is assigned to its nearest centres in one vectorised step; every centre then moves to
the weighted mean of its old position (weight = points absorbed so far, decayed by
``half_life_time_size``) and the batch rows it won (Sculley, "Web-scale k-means clustering", 2010,
with per-centre learning rate 1 / weight). The centres and their weights summarise the shard for the
final reduction to ``k``.

Examples
--------
>>> import numpy as np
>>> from sagespark.distributed.context import LocalContext
>>> x = np.vstack([np.zeros((50, 2)), np.full((50, 2), 5.0)]).astype(np.float32)
>>> centers, weights = stream_centers(LocalContext(), x, n_centers=4, mini_batch_size=16, epochs=1,
...                                   init_method="kmeans++", half_life=0,
...                                   rng=np.random.default_rng(0))
>>> int(weights.sum())
100
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Matrix
from sagespark.algorithms.kmeans.geometry import cluster_sums
from sagespark.algorithms.kmeans.lloyd import kmeans_plus_plus, nearest
from sagespark.algorithms.matrix import check_finite, iter_batches, num_rows
from sagespark.distributed.context import TrainContext

__all__ = ["stream_centers", "initial_centers"]


def _dense_rows(features: Matrix, rows: np.ndarray) -> np.ndarray:
    part = features[rows]
    return part.toarray().astype(np.float64) if sp.issparse(part) else np.asarray(part, dtype=np.float64)


def initial_centers(features: Matrix, n_centers: int, *, init_method: str, sample_size: int,
                    rng: np.random.Generator) -> np.ndarray:
    """Seed ``n_centers`` (≤ rows) centres: random rows, or k-means++ over a random row sample."""
    n = int(features.shape[0])
    if init_method == "random":
        return _dense_rows(features, np.sort(rng.choice(n, size=n_centers, replace=False)))
    size = min(n, max(sample_size, 3 * n_centers))
    sample = _dense_rows(features, np.sort(rng.choice(n, size=size, replace=False)))
    if not np.isfinite(sample).all():
        # Report the bad row with its position; the streaming pass would find it anyway.
        for start, batch in iter_batches(features, 4096):
            check_finite(batch, start)
    return kmeans_plus_plus(sample, np.ones(size), n_centers, rng)


def stream_centers(ctx: TrainContext, features: Matrix | None, *, n_centers: int, mini_batch_size: int,
                   epochs: int, init_method: str, half_life: int, rng: np.random.Generator
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Run the streaming pass over this rank's shard; every rank must call it (it logs collectively).

    Returns
    -------
    centers : numpy.ndarray
        ``min(n_centers, rows) × d`` float64 centres of this shard (``0 × d`` for an empty shard).
    weights : numpy.ndarray
        Each centre's (decayed) number of absorbed points.
    """
    n = num_rows(features)
    width = 0 if features is None else int(features.shape[1])
    local_k = min(n_centers, n)
    centers = np.zeros((0, width))
    weights = np.zeros(0)
    if local_k > 0:
        assert features is not None
        centers = initial_centers(features, local_k, init_method=init_method,
                                  sample_size=mini_batch_size, rng=rng)
        weights = np.zeros(local_k)
    # A point's weight halves after half_life further points: per-point decay 2^(-1/half_life).
    log_decay = -np.log(2.0) / half_life if half_life > 0 else 0.0
    n_batches = -(-n // mini_batch_size) if n else 0
    for epoch in range(1, epochs + 1):
        sse = 0.0
        if local_k > 0:
            assert features is not None
            for start, batch in iter_batches(features, mini_batch_size, rng.permutation(n_batches)):
                if epoch == 1:
                    check_finite(batch, start)
                labels, d2 = nearest(batch, centers)
                sse += float(d2.sum())
                counts = np.bincount(labels, minlength=local_k).astype(np.float64)
                sums = cluster_sums(batch, labels, local_k)
                if log_decay:
                    weights *= np.exp(log_decay * batch.shape[0])
                grown = weights + counts
                won = counts > 0
                centers[won] = (weights[won, None] * centers[won] + sums[won]) / grown[won, None]
                weights = grown
        total = ctx.allreduce(np.array([sse, float(n)]))
        if total[1] > 0:
            ctx.log_metric("train:msd", float(total[0] / total[1]), epoch=epoch)
    return centers, weights
