"""The map from a feature row to the vector the index holds: reduce, pad, normalise.

Training applies it to the sampled rows before indexing; inference applies the very same map to
every query, so the two never drift apart.

Examples
--------
>>> import numpy as np
>>> emb = Embedding(input_dim=2, index_dim=4, reduction=None, normalize=True)
>>> emb.apply(np.array([[3.0, 4.0]])).tolist()
[[0.6000000238418579, 0.800000011920929, 0.0, 0.0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Matrix
from sagespark.algorithms.knn.reduction import Reduction

__all__ = ["Embedding"]


@dataclass(frozen=True)
class Embedding:
    """``input_dim`` features → optional reduction → zero padding to ``index_dim`` → optional L2 norm.

    Padding with zeros changes no distance or inner product; it only makes the width a multiple of the
    PQ ``m``, as SageMaker does. ``normalize`` is set for the COSINE metric.
    """

    input_dim: int
    index_dim: int
    reduction: Reduction | None
    normalize: bool

    def apply(self, batch: Matrix) -> np.ndarray:
        """A float32, C-contiguous ``rows × index_dim`` array for faiss."""
        if self.reduction is not None:
            out = self.reduction.apply(batch)
        elif sp.issparse(batch):
            out = np.asarray(sp.csr_matrix(batch).toarray(), dtype=np.float32)
        else:
            out = np.asarray(batch, dtype=np.float32)
        if out.shape[1] < self.index_dim:
            out = np.pad(out, ((0, 0), (0, self.index_dim - out.shape[1])))
        out = np.ascontiguousarray(out, dtype=np.float32)
        if self.normalize:
            if out is batch:
                out = out.copy()  # normalize_L2 works in place; never touch the caller's array
            faiss.normalize_L2(out)
        return out
