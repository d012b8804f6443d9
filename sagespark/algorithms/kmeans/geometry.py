"""Distance and per-cluster sum kernels of K-Means, vectorised for dense and CSR batches.

Examples
--------
>>> import numpy as np
>>> x = np.array([[0.0, 0.0], [3.0, 4.0]])
>>> c = np.array([[0.0, 0.0]])
>>> sq_distances(x, row_sq_norms(x), c, row_sq_norms(c)).ravel()
array([ 0., 25.])
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Matrix

__all__ = ["row_sq_norms", "sq_distances", "cluster_sums"]


def row_sq_norms(batch: Matrix) -> np.ndarray:
    """Squared Euclidean norm of every row, as float64."""
    if isinstance(batch, np.ndarray):
        return np.einsum("ij,ij->i", batch, batch)
    return np.asarray(batch.multiply(batch).sum(axis=1), dtype=np.float64).ravel()


def sq_distances(batch: Matrix, batch_sq: np.ndarray, centers: np.ndarray, centers_sq: np.ndarray
                 ) -> np.ndarray:
    """Squared distances ``||x||² - 2 x·c + ||c||²`` (rows × centres), clipped at zero.

    One matrix product does the work; the clip removes the small negatives of cancellation.
    """
    cross = np.asarray(batch @ centers.T)
    out = batch_sq[:, None] - 2.0 * cross + centers_sq[None, :]
    np.maximum(out, 0.0, out=out)
    return out


def cluster_sums(batch: Matrix, labels: np.ndarray, k: int, weights: np.ndarray | None = None
                 ) -> np.ndarray:
    """Per-cluster (weighted) sums of the rows of ``batch`` as a dense ``k × d`` float64 array.

    A sparse one-hot matrix times the batch does it in one product, for dense and CSR batches alike.
    """
    b = int(batch.shape[0])
    values = np.ones(b) if weights is None else weights
    onehot = sp.csr_matrix((values, (labels, np.arange(b))), shape=(k, b))
    out = onehot @ batch
    return out.toarray() if sp.issparse(out) else np.asarray(out, dtype=np.float64)
