"""A MovieLens-style rating set with a known low-rank structure plus Gaussian noise (fixed seed).

``rating = μ + b_user + b_item + <p_user, q_item> + ε`` with ``ε ~ N(0, noise²)``; every row is the
one-hot user × item encoding FM models consume, so the best possible held-out RMSE is ``noise``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp


@dataclass
class Ratings:
    train_x: sp.csr_matrix
    train_y: np.ndarray
    test_x: sp.csr_matrix
    test_y: np.ndarray
    noise: float
    users: int
    items: int


def one_hot(users: np.ndarray, items: np.ndarray, num_users: int, num_items: int) -> sp.csr_matrix:
    """Rows with a 1 in column ``user`` and one in column ``num_users + item``."""
    n = len(users)
    cols = np.stack([users, num_users + items], axis=1).ravel()
    return sp.csr_matrix((np.ones(2 * n, np.float32), cols, np.arange(0, 2 * n + 1, 2)),
                         shape=(n, num_users + num_items))


def make_ratings(seed: int = 0, *, users: int = 1000, items: int = 500, rank: int = 4,
                 train: int = 100_000, test: int = 10_000, noise: float = 0.5) -> Ratings:
    rng = np.random.default_rng(seed)
    p = rng.normal(0.0, 1.0 / rank ** 0.25, size=(users, rank))
    q = rng.normal(0.0, 1.0 / rank ** 0.25, size=(items, rank))
    b_user = rng.normal(0.0, 0.3, users)
    b_item = rng.normal(0.0, 0.3, items)
    pairs = rng.choice(users * items, size=train + test, replace=False)
    u, i = pairs // items, pairs % items
    y = 3.5 + b_user[u] + b_item[i] + np.einsum("nf,nf->n", p[u], q[i]) + rng.normal(0.0, noise, len(u))
    x = one_hot(u, i, users, items)
    return Ratings(x[:train], y[:train], x[train:], y[train:], noise, users, items)


def arrow_rows(batches: Iterator[pa.RecordBatch], split: str, params: dict[str, Any]
               ) -> Iterator[pa.RecordBatch]:
    """``mapInArrow`` body: each task regenerates the seeded set and emits the rows of its ids
    (``id``, ``onehot`` as a Spark ML sparse vector, ``rating``), so no data passes the driver."""
    from sagespark.data.vectors import matrix_to_vectors

    r = make_ratings(**params)
    x, y = (r.train_x, r.train_y) if split == "train" else (r.test_x, r.test_y)
    for batch in batches:
        ids = batch.column(0).to_numpy()
        yield pa.RecordBatch.from_arrays(
            [pa.array(ids), matrix_to_vectors(x[ids]), pa.array(y[ids])], ["id", "onehot", "rating"])
