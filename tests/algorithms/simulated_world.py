"""N training ranks in N threads of one process, for testing distributed algorithms without Spark.

:class:`ThreadContext` implements :class:`~sagespark.distributed.context.TrainContext` with a shared
exchange guarded by a :class:`threading.Barrier`: every collective deposits each rank's array, waits
for all ranks, and reads them back in rank order, so reductions are deterministic (the same sum order
on every rank, every run). A failing rank aborts the barrier, so its peers stop instead of hanging,
and :func:`run_ranks` re-raises the first real error.

Examples
--------
>>> import numpy as np
>>> from sagespark.algorithms import ChannelData
>>> from sagespark.algorithms.kmeans import KMeans
>>> shards = [ChannelData(np.zeros((4, 2), np.float32)), ChannelData(np.ones((4, 2), np.float32))]
>>> result = run_ranks(KMeans, shards, {"k": 2})
>>> sorted(result.state.centers[:, 0].tolist())
[0.0, 1.0]
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sagespark.algorithms.base import Algorithm, ChannelData, TrainResult
from sagespark.distributed.context import TrainContext
from sagespark.hyperparams import Hyperparameters

__all__ = ["ThreadWorld", "ThreadContext", "run_ranks"]

_TIMEOUT_S = 120.0
_OPS = {"sum": np.add, "max": np.maximum, "min": np.minimum}


class ThreadWorld:
    """The state the ranks share: a barrier, one slot per rank, and every rank's log lines."""

    def __init__(self, world_size: int, *, share_memory: bool = True) -> None:
        self.world_size, self.share_memory = world_size, share_memory
        self.barrier = threading.Barrier(world_size, timeout=_TIMEOUT_S)
        self.slots: list[Any] = [None] * world_size
        self.logs: list[list[str]] = [[] for _ in range(world_size)]
        self.metrics: list[list[tuple[str, float, int | None]]] = [[] for _ in range(world_size)]

    def exchange(self, rank: int, value: Any) -> list[Any]:
        """Deposit ``value``, wait for every rank, return all deposits in rank order."""
        self.slots[rank] = value
        self.barrier.wait()
        out = list(self.slots)
        # The second wait keeps a fast rank from overwriting its slot before the slow ones read.
        self.barrier.wait()
        return out


class ThreadContext(TrainContext):
    """One rank of a :class:`ThreadWorld`."""

    def __init__(self, world: ThreadWorld, rank: int, seed: int = 0) -> None:
        self.world, self.rank, self.world_size = world, rank, world.world_size
        self.seed, self.device = seed, "cpu"

    def allreduce(self, array: np.ndarray, op: str = "sum") -> np.ndarray:
        parts = self.world.exchange(self.rank, np.array(array, copy=True))
        shapes = {p.shape for p in parts}
        if len(shapes) != 1:
            raise ValueError(f"allreduce of differently shaped arrays: {sorted(shapes)}")
        out = np.array(parts[0], copy=True)
        for part in parts[1:]:
            out = _OPS[op](out, part)
        return out

    def allgather(self, array: np.ndarray) -> list[np.ndarray]:
        return [np.array(p, copy=True) for p in self.world.exchange(self.rank, np.array(array, copy=True))]

    def broadcast(self, array: np.ndarray | None, src: int = 0) -> np.ndarray:
        value = None if array is None else np.array(array, copy=True)
        parts = self.world.exchange(self.rank, value)
        if parts[src] is None:
            raise ValueError(f"broadcast from rank {src} needs an array on rank {src}")
        return np.array(parts[src], copy=True)

    def shared_array(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray | None:
        """Threads share memory: rank 0's zero-filled array, unless the world was made without sharing."""
        mine = np.zeros(shape, dtype) if self.rank == 0 and self.world.share_memory else None
        return self.world.exchange(self.rank, mine)[0]

    def log(self, message: str) -> None:
        self.world.logs[self.rank].append(message)

    def log_metric(self, name: str, value: float, epoch: int | None = None) -> None:
        self.world.metrics[self.rank].append((name, float(value), epoch))
        super().log_metric(name, value, epoch)


def run_ranks(
    algorithm: type[Algorithm],
    shards: Sequence[ChannelData | Mapping[str, ChannelData]],
    hp: Hyperparameters | Mapping[str, Any],
    *,
    seed: int = 0,
    world: ThreadWorld | None = None,
) -> TrainResult:
    """Train ``algorithm`` with one thread per shard; return rank 0's result.

    Parameters
    ----------
    shards : sequence of ChannelData or of {channel: ChannelData}
        Rank ``r``'s data; a bare ChannelData is the ``"train"`` channel.
    hp : Hyperparameters or mapping
        Validated hyperparameters, or values for ``algorithm.hyperparameters.from_dict``.
    world : ThreadWorld, optional
        Pass one to inspect the ranks' logs and metrics afterwards.
    """
    params = hp if isinstance(hp, Hyperparameters) else algorithm.hyperparameters.from_dict(hp)
    world = world or ThreadWorld(len(shards))
    results: list[TrainResult | None] = [None] * len(shards)
    errors: list[BaseException | None] = [None] * len(shards)

    def work(rank: int) -> None:
        data = shards[rank]
        channels = {"train": data} if isinstance(data, ChannelData) else dict(data)
        try:
            local_hp = algorithm.infer_hyperparameters(params, channels["train"])
            results[rank] = algorithm.train(ThreadContext(world, rank, seed), channels, local_hp)
        except BaseException as err:  # noqa: BLE001 - reported to the caller below
            errors[rank] = err
            world.barrier.abort()

    threads = [threading.Thread(target=work, args=(r,), name=f"rank-{r}") for r in range(len(shards))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    real = [e for e in errors if e is not None and not isinstance(e, threading.BrokenBarrierError)]
    if real:
        raise real[0]
    if errors[0] is not None:
        raise errors[0]
    result = results[0]
    assert result is not None
    return result
