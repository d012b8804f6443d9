"""Dimension reduction of SageMaker k-NN: random sign projection (``sign``) and the fast JL transform.

Both maps are linear, drawn once from a seed every rank shares (so every rank reduces its sample the
same way) and stored in the artifact as plain arrays, so inference applies exactly the map training
used. Both preserve squared L2 distances and inner products in expectation (Johnson-Lindenstrauss).

* ``sign``: ``x ↦ x R / √t`` with ``R`` a ``d × t`` matrix of random ±1; ``O(d t)`` per row, and CSR
  rows are projected without densifying.
* ``fjlt``: the subsampled randomized Hadamard transform (Ailon & Chazelle's fast JL transform in the
  form of Tropp 2011): pad to ``n = 2^⌈log2 d⌉``, flip signs with a random diagonal ``D``, apply the
  Walsh-Hadamard transform ``H`` by butterflies (``O(n log n)`` per row), keep ``t`` random coordinates
  and scale by ``1/√t``.

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(200, 256)).astype(np.float32)
>>> for kind in ("sign", "fjlt"):
...     proj = make_reduction(kind, 256, 128, np.random.default_rng(1))
...     y = proj.apply(x)
...     ratio = np.linalg.norm(y[:1] - y[1:], axis=1) / np.linalg.norm(x[:1] - x[1:], axis=1)
...     print(kind, y.shape, bool(abs(ratio.mean() - 1) < 0.05))
sign (200, 128) True
fjlt (200, 128) True
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod

import numpy as np
import scipy.sparse as sp

from sagespark.algorithms.base import Matrix
from sagespark.errors import ArtifactError

__all__ = ["Reduction", "SignProjection", "FastJLT", "make_reduction", "reduction_from_arrays",
           "walsh_hadamard"]


class Reduction(ABC):
    """A linear map from ``input_dim`` to ``output_dim`` features."""

    kind: str
    input_dim: int
    output_dim: int

    @abstractmethod
    def apply(self, batch: Matrix) -> np.ndarray:
        """Reduce a dense or CSR batch to a float32 ``rows × output_dim`` array."""

    @abstractmethod
    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays that define the map (saved as ``.npy`` files in the artifact)."""


class SignProjection(Reduction):
    """``x ↦ x R``, ``R`` a ``d × t`` matrix of ±1/√t."""

    kind = "sign"

    def __init__(self, matrix: np.ndarray) -> None:
        self.matrix = np.ascontiguousarray(matrix, dtype=np.float32)
        self.input_dim, self.output_dim = (int(s) for s in self.matrix.shape)

    @classmethod
    def draw(cls, input_dim: int, output_dim: int, rng: np.random.Generator) -> SignProjection:
        signs = rng.integers(0, 2, size=(input_dim, output_dim), dtype=np.int8) * 2 - 1
        return cls(signs.astype(np.float32) / np.float32(math.sqrt(output_dim)))

    def apply(self, batch: Matrix) -> np.ndarray:
        # A CSR batch times a dense matrix stays O(nnz · t); no densifying.
        out = batch @ self.matrix
        return np.ascontiguousarray(np.asarray(out), dtype=np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"projection": self.matrix}


def walsh_hadamard(x: np.ndarray) -> np.ndarray:
    """Unnormalised Walsh-Hadamard transform of every row (row length a power of two), by butterflies.

    Examples
    --------
    >>> walsh_hadamard(np.array([[1.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])).tolist()
    [[1.0, 1.0, 1.0, 1.0], [4.0, 0.0, 0.0, 0.0]]
    """
    rows, n = x.shape
    if n & (n - 1):
        raise ValueError(f"walsh_hadamard needs a power-of-two row length; got {n}.")
    out = np.array(x, copy=True)
    h = 1
    while h < n:
        view = out.reshape(rows, n // (2 * h), 2, h)
        top = view[:, :, 0, :].copy()
        view[:, :, 0, :] += view[:, :, 1, :]
        view[:, :, 1, :] = top - view[:, :, 1, :]
        h *= 2
    return out


class FastJLT(Reduction):
    """Subsampled randomized Hadamard transform: ``x ↦ (H D [x, 0])[idx] / √t``."""

    kind = "fjlt"

    def __init__(self, input_dim: int, signs: np.ndarray, indices: np.ndarray) -> None:
        self.input_dim = int(input_dim)
        self.signs = np.ascontiguousarray(signs, dtype=np.float32)
        self.indices = np.ascontiguousarray(indices, dtype=np.int64)
        self.output_dim = int(self.indices.shape[0])
        n = int(self.signs.shape[0])
        if n & (n - 1) or n < self.input_dim or (self.indices.size and int(self.indices.max()) >= n):
            raise ArtifactError(
                f"Inconsistent fast JL transform: {n} signs for {self.input_dim} inputs and indices up to "
                f"{int(self.indices.max()) if self.indices.size else -1}."
            )
        self._scale = np.float32(1.0 / math.sqrt(max(1, self.output_dim)))

    @classmethod
    def draw(cls, input_dim: int, output_dim: int, rng: np.random.Generator) -> FastJLT:
        n = 1 << max(0, math.ceil(math.log2(max(input_dim, output_dim, 1))))
        signs = (rng.integers(0, 2, size=n, dtype=np.int8) * 2 - 1).astype(np.float32)
        indices = np.sort(rng.choice(n, size=output_dim, replace=False))
        return cls(input_dim, signs, indices)

    def apply(self, batch: Matrix) -> np.ndarray:
        rows = int(batch.shape[0])
        padded = np.zeros((rows, self.signs.shape[0]), dtype=np.float32)
        padded[:, : self.input_dim] = sp.csr_matrix(batch).toarray() if sp.issparse(batch) else batch
        padded *= self.signs
        transformed = walsh_hadamard(padded)
        return np.ascontiguousarray(transformed[:, self.indices] * self._scale, dtype=np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        return {"fjlt_signs": self.signs, "fjlt_indices": self.indices}


def make_reduction(kind: str, input_dim: int, output_dim: int, rng: np.random.Generator) -> Reduction:
    """Draw a ``sign`` or ``fjlt`` map from ``rng``."""
    if kind == "sign":
        return SignProjection.draw(input_dim, output_dim, rng)
    if kind == "fjlt":
        return FastJLT.draw(input_dim, output_dim, rng)
    raise ValueError(f"Unknown dimension reduction {kind!r}; expected 'sign' or 'fjlt'.")


def reduction_from_arrays(kind: str, input_dim: int, arrays: dict[str, np.ndarray]) -> Reduction:
    """Rebuild a saved map from the arrays :meth:`Reduction.arrays` gave.

    Raises
    ------
    ArtifactError
        When an array is missing or does not fit ``input_dim``.
    """
    try:
        if kind == "sign":
            matrix = arrays["projection"]
            if matrix.ndim != 2 or matrix.shape[0] != input_dim:
                raise ArtifactError(
                    f"The sign projection has shape {matrix.shape}; expected {input_dim} rows."
                )
            return SignProjection(matrix)
        if kind == "fjlt":
            return FastJLT(input_dim, arrays["fjlt_signs"], arrays["fjlt_indices"])
    except KeyError as err:
        raise ArtifactError(f"The {kind} dimension reduction is missing its array {err}.") from None
    raise ArtifactError(f"Unknown dimension reduction {kind!r} in the artifact; expected 'sign' or 'fjlt'.")
