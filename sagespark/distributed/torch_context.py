"""A :class:`TrainContext` backed by ``torch.distributed``: gloo on CPU, NCCL on CUDA devices.

The launcher creates one per barrier task. Collectives take and return numpy arrays, so algorithms stay
free of torch unless they want it; an algorithm that trains a torch module can also use the default
process group directly (``torch.nn.parallel.DistributedDataParallel``) after
:meth:`TorchContext.require_process_group`. When every rank runs on one host (Spark ``local[*]``,
``local-cluster``), the CPU collectives of this context go through shared memory instead
(:mod:`sagespark.distributed.shm`), about 10-50× faster than gloo for the small arrays algorithms
exchange every step, and the gloo group is only made when something needs it (a payload over the
shared-memory capacity, or :meth:`~TorchContext.require_process_group`): making and destroying it cost
30-50 ms per fit.

A world of one needs no process group at all: the collectives are local copies.

Examples
--------
>>> import numpy as np
>>> from sagespark.distributed.torch_context import TorchContext
>>> with TorchContext(rank=0, world_size=1) as ctx:
...     ctx.allreduce(np.array([1.0, 2.0]))
array([1., 2.])
"""

from __future__ import annotations

import datetime as _dt
import os
import socket
from collections.abc import Callable
from types import TracebackType
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from sagespark.distributed.context import TrainContext
from sagespark.distributed.shm import (
    DEFAULT_CAPACITY,
    DTYPES,
    MAX_DIMS,
    Collectives,
    SharedMemoryGroup,
    check_array,
)

__all__ = ["TorchContext", "create_master_store", "connect_store"]

DEFAULT_TIMEOUT = _dt.timedelta(minutes=30)
_OPS = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX, "min": dist.ReduceOp.MIN}


def create_master_store(
    world_size: int, timeout: _dt.timedelta = DEFAULT_TIMEOUT, *, bind: str = "127.0.0.1"
) -> dist.TCPStore:
    """A rendezvous store listening on ``bind`` (loopback unless told otherwise), on a port the OS picks.

    The listening socket is bound here and handed over to the store (which owns it from then on),
    because ``TCPStore`` itself listens on every interface; binding to port 0 also leaves no race for a
    "free" port.

    Examples
    --------
    >>> store = create_master_store(world_size=2)      # doctest: +SKIP
    >>> store.port                                      # doctest: +SKIP
    41237
    """
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.bind((bind, 0))
        listener.listen(1024)
        port = listener.getsockname()[1]
        fd = listener.detach()  # the store closes it
    try:
        return dist.TCPStore(
            bind, port, world_size, True, timeout, wait_for_workers=False, master_listen_fd=fd
        )
    except BaseException:
        os.close(fd)
        raise


def connect_store(
    host: str, port: int, world_size: int, timeout: _dt.timedelta = DEFAULT_TIMEOUT
) -> dist.TCPStore:
    """A client of rank 0's rendezvous store at ``host:port``."""
    return dist.TCPStore(host, port, world_size, False, timeout)


class TorchContext(TrainContext):
    """One rank of a ``torch.distributed`` process group, with numpy collectives.

    On the CPU, when every rank runs on this host (Spark ``local[*]``), the collectives go through a
    :class:`~sagespark.distributed.shm.SharedMemoryGroup` (tens of microseconds instead of gloo's
    millisecond); gloo is still initialised for DDP and carries payloads over the shared-memory capacity.

    Parameters
    ----------
    rank, world_size : int
        This worker's rank and the number of workers.
    store : torch.distributed.Store, optional
        The rendezvous store (from :func:`create_master_store` on rank 0, :func:`connect_store` elsewhere).
        Required when ``world_size > 1``.
    device : str
        ``"cpu"`` or ``"cuda:N"``. CUDA devices use the NCCL backend, the CPU uses gloo.
    seed : int
        Base random seed (algorithms derive ``seed + rank``).
    timeout : datetime.timedelta
        How long a collective waits for the other ranks before failing.
    shared_memory : bool
        Use shared memory for CPU collectives when all ranks share this host (every rank must pass the
        same value).
    shm_capacity : int
        Payload bytes per rank and call that travel through shared memory; larger ones use gloo.

    Examples
    --------
    >>> ctx = TorchContext(rank=0, world_size=1, device="cpu")
    >>> [a.tolist() for a in ctx.allgather(np.arange(3))]
    [[0, 1, 2]]
    >>> ctx.close()
    """

    def __init__(
        self,
        rank: int,
        world_size: int,
        *,
        store: dist.Store | None = None,
        device: str = "cpu",
        seed: int = 0,
        timeout: _dt.timedelta = DEFAULT_TIMEOUT,
        shared_memory: bool = True,
        shm_capacity: int = DEFAULT_CAPACITY,
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}); got {rank}.")
        self.rank, self.world_size, self.device, self.seed = rank, world_size, device, seed
        self.torch_device = torch.device(device)
        self.backend = "nccl" if self.torch_device.type == "cuda" else "gloo"
        self._owns_group = False
        self._group = _ProcessGroup(self.torch_device, self.require_process_group)
        self._shm: SharedMemoryGroup | None = None
        self._store, self._timeout = store, timeout
        if self.torch_device.type == "cuda":
            torch.cuda.set_device(self.torch_device)
        if world_size == 1:
            return
        if store is None:
            raise ValueError("A TorchContext with world_size > 1 needs a rendezvous store.")
        if dist.is_initialized():
            # A reused Spark Python worker may still hold the group of a task that was killed mid-way.
            dist.destroy_process_group()
        if shared_memory and self.backend == "gloo":
            self._shm = SharedMemoryGroup.create(
                store, rank, world_size, timeout, capacity=shm_capacity, fallback=self._group
            )
        if self._shm is None:
            self.require_process_group()
        self.log(f"collectives through {'shared memory' if self._shm else self.backend}")

    def require_process_group(self) -> None:
        """Make ``torch.distributed``'s default group, if this context has not yet; every rank must call it.

        Needed before an algorithm uses ``torch.distributed`` itself; the context's own collectives make
        it when they need it.
        """
        if self._owns_group or self.world_size == 1:
            return
        kwargs: dict[str, Any] = {}
        if self.backend == "nccl":
            kwargs["device_id"] = self.torch_device
        dist.init_process_group(self.backend, store=self._store, rank=self.rank, world_size=self.world_size,
                                timeout=self._timeout, **kwargs)
        self._owns_group = True

    @property
    def shared_memory(self) -> bool:
        """Whether the collectives go through shared memory (all ranks on this host, CPU, x86-64)."""
        return self._shm is not None

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Destroy the process group (safe to call twice, and after a failed collective)."""
        if self._shm is not None:
            self._shm.close()
            self._shm = None
        if self._owns_group:
            self._owns_group = False
            if dist.is_initialized():
                dist.destroy_process_group()

    def __enter__(self) -> TorchContext:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- collectives -----------------------------------------------------------------------
    def _collectives(self) -> Collectives:
        return self._group if self._shm is None else self._shm

    def allreduce(self, array: np.ndarray, op: str = "sum") -> np.ndarray:
        """Element-wise ``"sum"``, ``"max"`` or ``"min"`` over ranks; every rank passes the same shape.

        Booleans reduce as ``any`` (sum, max) or ``all`` (min).
        """
        if op not in _OPS:
            raise ValueError(f"op must be one of {sorted(_OPS)}; got {op!r}.")
        array = check_array(array)
        if self.world_size == 1:
            return np.array(array, copy=True)
        return self._collectives().allreduce(array, op)

    def allgather(self, array: np.ndarray) -> list[np.ndarray]:
        """Every rank's array in rank order; first dimensions may differ (other dimensions may not).

        Raises
        ------
        ValueError
            When ranks pass different dtypes or different trailing dimensions.
        """
        array = check_array(array)
        if self.world_size == 1:
            return [np.array(array, copy=True)]
        return self._collectives().allgather(array)

    def broadcast(self, array: np.ndarray | None, src: int = 0) -> np.ndarray:
        """Rank ``src``'s array on every rank; the other ranks may pass ``None``."""
        if self.rank == src:
            if array is None:
                raise ValueError(f"broadcast from rank {src} needs an array on rank {src}.")
            array = check_array(array)
        if self.world_size == 1:
            return np.array(array, copy=True)
        return self._collectives().broadcast(array, src)

    def shared_array(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray | None:
        """A zero-filled array in shared memory when the collectives go through it, else ``None``."""
        return None if self._shm is None else self._shm.shared_array(shape, dtype)

    def barrier(self) -> None:
        """Wait for every rank."""
        if self._shm is not None:
            self._shm.barrier()
        elif self.world_size > 1:
            super().barrier()


class _ProcessGroup:
    """The collectives of the default ``torch.distributed`` group, on arrays :func:`check_array` passed.

    ``require`` makes the group if it does not exist yet; every collective calls it first. (Ranks reach a
    collective together, so they make the group together.)
    """

    def __init__(self, device: torch.device, require: Callable[[], None]) -> None:
        self.device = device
        self._require = require

    def _to_tensor(self, array: np.ndarray) -> torch.Tensor:
        # bool travels as uint8 (gloo has no bool reductions).
        tensor = torch.from_numpy(array.view(np.uint8) if array.dtype == np.bool_ else array)
        return tensor.to(self.device) if self.device.type != "cpu" else tensor

    def _to_numpy(self, tensor: torch.Tensor, dtype: np.dtype[Any]) -> np.ndarray:
        out = tensor.cpu().numpy()
        return out.view(np.bool_) if dtype == np.bool_ else out

    @staticmethod
    def _header(array: np.ndarray | None) -> np.ndarray:
        """``[ndim, dtype index, *shape]`` padded to a fixed length, so it can be gathered."""
        header = np.full(2 + MAX_DIMS, -1, dtype=np.int64)
        if array is not None:
            header[0], header[1] = array.ndim, DTYPES.index(array.dtype)
            header[2 : 2 + array.ndim] = array.shape
        return header

    @staticmethod
    def _unpack(header: np.ndarray) -> tuple[np.dtype[Any], tuple[int, ...]]:
        ndim = int(header[0])
        return DTYPES[int(header[1])], tuple(int(n) for n in header[2 : 2 + ndim])

    def allreduce(self, array: np.ndarray, op: str = "sum") -> np.ndarray:
        self._require()
        reduce_op = dist.ReduceOp.MAX if array.dtype == np.bool_ and op == "sum" else _OPS[op]
        tensor = self._to_tensor(np.array(array, copy=True))
        dist.all_reduce(tensor, op=reduce_op)
        return self._to_numpy(tensor, array.dtype).reshape(array.shape)

    def allgather(self, array: np.ndarray) -> list[np.ndarray]:
        """The shapes are gathered first, every array is padded to the longest along axis 0 for the
        collective, and the padding is trimmed off again."""
        self._require()
        scalar = array.ndim == 0
        if scalar:
            array = array.reshape(1)
        headers = self._gather_equal(self._header(array))
        infos = [self._unpack(h) for h in headers]
        for rank, (dtype, shape) in enumerate(infos):
            if dtype != array.dtype or shape[1:] != array.shape[1:]:
                raise ValueError(
                    f"allgather needs one dtype and one trailing shape on every rank: rank {dist.get_rank()} "
                    f"has {array.dtype} {array.shape}, rank {rank} has {dtype} {shape}."
                )
        longest = max(shape[0] for _, shape in infos)
        padded = np.zeros((longest, *array.shape[1:]), dtype=array.dtype)
        padded[: array.shape[0]] = array
        gathered = self._gather_equal(padded)
        out = [g[: shape[0]] for g, (_, shape) in zip(gathered, infos)]
        return [o.reshape(()) for o in out] if scalar else out

    def _gather_equal(self, array: np.ndarray) -> list[np.ndarray]:
        tensor = self._to_tensor(array)
        parts = [torch.empty_like(tensor) for _ in range(dist.get_world_size())]
        dist.all_gather(parts, tensor)
        return [self._to_numpy(p, array.dtype).reshape(array.shape) for p in parts]

    def broadcast(self, array: np.ndarray | None, src: int = 0) -> np.ndarray:
        self._require()
        header = self._to_tensor(self._header(array if dist.get_rank() == src else None))
        dist.broadcast(header, src=src)
        dtype, shape = self._unpack(header.cpu().numpy())
        if dist.get_rank() == src:
            assert array is not None
            payload = self._to_tensor(np.array(array, copy=True))
        else:
            payload = self._to_tensor(np.empty(shape, dtype=dtype))
        dist.broadcast(payload, src=src)
        return self._to_numpy(payload, dtype).reshape(shape)
