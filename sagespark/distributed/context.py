"""The training context an algorithm sees: its rank, the collectives, and logging.

Algorithms code against :class:`TrainContext` only, so the same ``train`` runs in a Spark barrier stage
(torch.distributed underneath), in a single-process training job, and in unit tests.

Examples
--------
>>> import numpy as np
>>> from sagespark.distributed.context import LocalContext
>>> ctx = LocalContext()
>>> ctx.allreduce(np.array([1.0, 2.0]))
array([1., 2.])
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from typing import Any

import numpy as np

__all__ = ["TrainContext", "LocalContext"]

logger = logging.getLogger("sagespark.train")


class TrainContext(ABC):
    """Rank, world size, device and collectives of one training worker.

    Attributes
    ----------
    rank : int
        This worker's rank in ``[0, world_size)``; rank 0 saves the model.
    world_size : int
        Number of workers.
    device : str
        ``"cpu"`` or ``"cuda:N"``: where torch work of this rank should run.
    seed : int
        Base random seed; algorithms derive per-rank streams with ``seed + rank``.
    """

    rank: int = 0
    world_size: int = 1
    device: str = "cpu"
    seed: int = 0

    @abstractmethod
    def allreduce(self, array: np.ndarray, op: str = "sum") -> np.ndarray:
        """Element-wise reduction (``"sum"``, ``"max"``, ``"min"``) of same-shaped arrays over ranks."""

    @abstractmethod
    def allgather(self, array: np.ndarray) -> list[np.ndarray]:
        """Every rank's array (shapes may differ along the first axis), in rank order."""

    @abstractmethod
    def broadcast(self, array: np.ndarray | None, src: int = 0) -> np.ndarray:
        """Rank ``src``'s array on every rank (other ranks may pass ``None``)."""

    def barrier(self) -> None:
        """Wait for every rank."""
        self.allreduce(np.zeros(1))

    def shared_array(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray | None:
        """A zero-filled array all ranks share, or ``None`` (on every rank) where ranks cannot share memory.

        Every rank must call it. A rank's writes reach the others through the next collective (a
        :meth:`barrier`, say). Algorithms use it to keep one copy of a large table per host instead of
        one per rank.
        """
        return None

    def log(self, message: str) -> None:
        """A progress line, prefixed with the rank; shown in the driver's log and kept for errors."""
        logger.info("[rank %d/%d] %s", self.rank, self.world_size, message)

    def log_metric(self, name: str, value: float, epoch: int | None = None) -> None:
        """A metric line in SageMaker's ``#metric`` style, e.g. ``#metric: train:msd=0.12 epoch=3``."""
        suffix = "" if epoch is None else f" epoch={epoch}"
        shown = value if math.isfinite(value) else str(value)
        self.log(f"#metric: {name}={shown}{suffix}")


class LocalContext(TrainContext):
    """A single worker with no communication: the training-job CLI and unit tests use it."""

    def __init__(self, seed: int = 0, device: str = "cpu") -> None:
        self.rank, self.world_size, self.seed, self.device = 0, 1, seed, device

    def allreduce(self, array: np.ndarray, op: str = "sum") -> np.ndarray:
        return np.array(array, copy=True)

    def allgather(self, array: np.ndarray) -> list[np.ndarray]:
        return [np.array(array, copy=True)]

    def broadcast(self, array: np.ndarray | None, src: int = 0) -> np.ndarray:
        if array is None:
            raise ValueError("broadcast from rank 0 needs an array on rank 0")
        return np.array(array, copy=True)


