"""Mini-batch access to dense or CSR feature matrices, and the input checks algorithms share.

Large CSR shards are never densified as a whole: every consumer walks ``iter_batches`` and densifies
(or keeps sparse) one mini-batch at a time.

Examples
--------
>>> import numpy as np
>>> x = np.arange(10, dtype=np.float32).reshape(5, 2)
>>> [(start, b.shape) for start, b in iter_batches(x, 2)]
[(0, (2, 2)), (2, (2, 2)), (4, (1, 2))]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Matrix
from sagespark.distributed.context import TrainContext
from sagespark.errors import DataFormatError

__all__ = [
    "as_matrix",
    "num_rows",
    "iter_batches",
    "check_finite",
    "resolve_feature_dim",
]


def as_matrix(features: Any, *, where: str = "features") -> Matrix:
    """Accept a dense 2-D array or a sparse matrix; anything else is a :class:`DataFormatError`."""
    if sp.issparse(features):
        return sp.csr_matrix(features)
    arr = np.asarray(features)
    if arr.ndim != 2:
        raise DataFormatError(f"Column '{where}' must be a 2-D matrix of feature rows; got an array of "
                              f"shape {arr.shape}.")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise DataFormatError(f"Column '{where}' must hold real numbers; got dtype {arr.dtype}.")
    return arr


def num_rows(features: Matrix | None) -> int:
    return 0 if features is None else int(features.shape[0])


def iter_batches(features: Matrix, batch_size: int, order: np.ndarray | None = None) -> Iterator[
        tuple[int, Matrix]]:
    """Yield ``(first_row, batch)`` with float64 batches of at most ``batch_size`` contiguous rows.

    ``order`` optionally permutes the batch start positions (shuffled epochs keep contiguous rows, so a
    CSR slice stays cheap). Dense batches are float64 arrays; CSR batches stay CSR (float64).
    """
    n = int(features.shape[0])
    starts = np.arange(0, n, max(1, batch_size))
    if order is not None:
        starts = starts[order]
    for start in starts:
        stop = min(n, int(start) + batch_size)
        part = features[int(start):stop]
        if sp.issparse(part):
            yield int(start), sp.csr_matrix(part, dtype=np.float64)
        else:
            yield int(start), np.asarray(part, dtype=np.float64)




def check_finite(batch: Matrix, first_row: int, *, column: str = "features") -> None:
    """Raise :class:`DataFormatError` naming the first row holding a NaN or infinity."""
    if isinstance(batch, np.ndarray):
        if np.isfinite(batch).all():
            return
        row = int(np.flatnonzero(~np.isfinite(batch).all(axis=1))[0])
    else:
        if np.isfinite(batch.data).all():
            return
        bad_value = int(np.flatnonzero(~np.isfinite(batch.data))[0])
        row = int(np.searchsorted(np.asarray(batch.indptr), bad_value, side="right")) - 1
    raise DataFormatError(
        f"Column '{column}' holds a NaN or infinite value in row {first_row + row} of this worker's "
        "partition; every feature must be a finite number."
    )


def resolve_feature_dim(ctx: TrainContext, features: Matrix | None, declared: int | None,
                        *, channel: str = "train") -> int:
    """Agree on ``feature_dim`` across ranks and check every rank's data against it.

    Ranks with no rows contribute nothing, so an empty partition (``features`` ``None`` or with zero
    rows) never decides the width.
    """
    local = -1 if features is None or features.shape[0] == 0 else int(features.shape[1])
    bounds = ctx.allreduce(np.array([local, -local if local >= 0 else -(1 << 40)], dtype=np.float64),
                           op="max")
    widest, narrowest = int(bounds[0]), int(-bounds[1])
    if widest < 0:
        if declared is None:
            raise DataFormatError(f"Channel '{channel}' has no rows on any worker; cannot infer feature_dim.")
        return int(declared)
    if widest != narrowest:
        raise DataFormatError(
            f"Column 'features' of channel '{channel}' has rows of different widths across partitions "
            f"({narrowest} and {widest} columns); every row must have the same number of features."
        )
    if declared is not None and int(declared) != widest:
        raise DataFormatError(
            f"Column 'features' of channel '{channel}' has {widest} columns but feature_dim is "
            f"{declared}; expected {declared} columns."
        )
    return widest
