"""A :class:`TrainContext` backed by ``torch.distributed``: gloo on CPU, NCCL on CUDA devices.

The launcher creates one per barrier task. Collectives take and return numpy arrays, so algorithms stay
free of torch unless they want it; an algorithm that trains a torch module can also use the default
process group directly (``torch.nn.parallel.DistributedDataParallel``), which this context initialises.

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
from types import TracebackType
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from sagespark.distributed.context import TrainContext

__all__ = ["TorchContext", "create_master_store", "connect_store"]

DEFAULT_TIMEOUT = _dt.timedelta(minutes=30)
_MAX_DIMS = 8
# numpy dtypes that travel as themselves; bool travels as uint8 (gloo has no bool reductions).
_DTYPES: tuple[np.dtype[Any], ...] = tuple(
    np.dtype(t)
    for t in (np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_)
)
_OPS = {"sum": dist.ReduceOp.SUM, "max": dist.ReduceOp.MAX, "min": dist.ReduceOp.MIN}


def create_master_store(world_size: int, timeout: _dt.timedelta = DEFAULT_TIMEOUT) -> dist.TCPStore:
    """Rank 0's rendezvous store, listening on a port the OS picks (no race for a "free" port).

    Examples
    --------
    >>> store = create_master_store(world_size=2)      # doctest: +SKIP
    >>> store.port                                      # doctest: +SKIP
    41237
    """
    return dist.TCPStore("0.0.0.0", 0, world_size, True, timeout, wait_for_workers=False)


def connect_store(
    host: str, port: int, world_size: int, timeout: _dt.timedelta = DEFAULT_TIMEOUT
) -> dist.TCPStore:
    """A client of rank 0's rendezvous store at ``host:port``."""
    return dist.TCPStore(host, port, world_size, False, timeout)


def _check_dtype(array: np.ndarray) -> np.ndarray:
    # (np.ascontiguousarray would turn a 0-d array into a 1-d one.)
    array = array if array.flags.c_contiguous else np.array(array, order="C")
    if array.dtype not in _DTYPES:
        raise TypeError(
            f"Collectives take arrays of {sorted(str(d) for d in _DTYPES)}; got dtype {array.dtype}."
        )
    return array


class TorchContext(TrainContext):
    """One rank of a ``torch.distributed`` process group, with numpy collectives.

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
    ) -> None:
        if not 0 <= rank < world_size:
            raise ValueError(f"rank must be in [0, {world_size}); got {rank}.")
        self.rank, self.world_size, self.device, self.seed = rank, world_size, device, seed
        self.torch_device = torch.device(device)
        self.backend = "nccl" if self.torch_device.type == "cuda" else "gloo"
        self._owns_group = False
        if self.torch_device.type == "cuda":
            torch.cuda.set_device(self.torch_device)
        if world_size == 1:
            return
        if store is None:
            raise ValueError("A TorchContext with world_size > 1 needs a rendezvous store.")
        if dist.is_initialized():
            # A reused Spark Python worker may still hold the group of a task that was killed mid-way.
            dist.destroy_process_group()
        kwargs: dict[str, Any] = {}
        if self.backend == "nccl":
            kwargs["device_id"] = self.torch_device
        dist.init_process_group(
            self.backend, store=store, rank=rank, world_size=world_size, timeout=timeout, **kwargs
        )
        self._owns_group = True

    # -- lifecycle -------------------------------------------------------------------------
    def close(self) -> None:
        """Destroy the process group (safe to call twice, and after a failed collective)."""
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

    # -- helpers ---------------------------------------------------------------------------
    def _to_tensor(self, array: np.ndarray) -> torch.Tensor:
        tensor = torch.from_numpy(array.view(np.uint8) if array.dtype == np.bool_ else array)
        return tensor.to(self.torch_device) if self.torch_device.type != "cpu" else tensor

    def _to_numpy(self, tensor: torch.Tensor, dtype: np.dtype[Any]) -> np.ndarray:
        out = tensor.cpu().numpy()
        return out.view(np.bool_) if dtype == np.bool_ else out

    def _header(self, array: np.ndarray | None) -> np.ndarray:
        """``[ndim, dtype index, *shape]`` padded to a fixed length, so it can be gathered."""
        header = np.full(2 + _MAX_DIMS, -1, dtype=np.int64)
        if array is not None:
            if array.ndim > _MAX_DIMS:
                raise ValueError(f"Collectives take arrays of at most {_MAX_DIMS} dimensions.")
            header[0], header[1] = array.ndim, _DTYPES.index(array.dtype)
            header[2 : 2 + array.ndim] = array.shape
        return header

    @staticmethod
    def _unpack(header: np.ndarray) -> tuple[np.dtype[Any], tuple[int, ...]]:
        ndim = int(header[0])
        return _DTYPES[int(header[1])], tuple(int(n) for n in header[2 : 2 + ndim])

    # -- collectives -----------------------------------------------------------------------
    def allreduce(self, array: np.ndarray, op: str = "sum") -> np.ndarray:
        """Element-wise ``"sum"``, ``"max"`` or ``"min"`` over ranks; every rank passes the same shape.

        Booleans reduce as ``any`` (sum, max) or ``all`` (min).
        """
        if op not in _OPS:
            raise ValueError(f"op must be one of {sorted(_OPS)}; got {op!r}.")
        array = _check_dtype(np.asarray(array))
        if self.world_size == 1:
            return np.array(array, copy=True)
        reduce_op = dist.ReduceOp.MAX if array.dtype == np.bool_ and op == "sum" else _OPS[op]
        tensor = self._to_tensor(np.array(array, copy=True))
        dist.all_reduce(tensor, op=reduce_op)
        return self._to_numpy(tensor, array.dtype).reshape(array.shape)

    def allgather(self, array: np.ndarray) -> list[np.ndarray]:
        """Every rank's array in rank order; first dimensions may differ (other dimensions may not).

        The shapes are gathered first, every array is padded to the longest along axis 0 for the
        collective, and the padding is trimmed off again.

        Raises
        ------
        ValueError
            When ranks pass different dtypes or different trailing dimensions.
        """
        array = _check_dtype(np.asarray(array))
        if self.world_size == 1:
            return [np.array(array, copy=True)]
        if array.ndim == 0:
            array = array.reshape(1)
            scalar = True
        else:
            scalar = False
        headers = self._gather_equal(self._header(array))
        infos = [self._unpack(h) for h in headers]
        for rank, (dtype, shape) in enumerate(infos):
            if dtype != array.dtype or shape[1:] != array.shape[1:]:
                raise ValueError(
                    f"allgather needs one dtype and one trailing shape on every rank: rank {self.rank} has "
                    f"{array.dtype} {array.shape}, rank {rank} has {dtype} {shape}."
                )
        longest = max(shape[0] for _, shape in infos)
        padded = np.zeros((longest, *array.shape[1:]), dtype=array.dtype)
        padded[: array.shape[0]] = array
        gathered = self._gather_equal(padded)
        out = [g[: shape[0]] for g, (_, shape) in zip(gathered, infos)]
        return [o.reshape(()) for o in out] if scalar else out

    def _gather_equal(self, array: np.ndarray) -> list[np.ndarray]:
        tensor = self._to_tensor(array)
        parts = [torch.empty_like(tensor) for _ in range(self.world_size)]
        dist.all_gather(parts, tensor)
        return [self._to_numpy(p, array.dtype).reshape(array.shape) for p in parts]

    def broadcast(self, array: np.ndarray | None, src: int = 0) -> np.ndarray:
        """Rank ``src``'s array on every rank; the other ranks may pass ``None``."""
        if self.rank == src:
            if array is None:
                raise ValueError(f"broadcast from rank {src} needs an array on rank {src}.")
            array = _check_dtype(np.asarray(array))
        if self.world_size == 1:
            return np.array(array, copy=True)
        header = self._to_tensor(self._header(array if self.rank == src else None))
        dist.broadcast(header, src=src)
        dtype, shape = self._unpack(header.cpu().numpy())
        if self.rank == src:
            assert array is not None
            payload = self._to_tensor(np.array(array, copy=True))
        else:
            payload = self._to_tensor(np.empty(shape, dtype=dtype))
        dist.broadcast(payload, src=src)
        return self._to_numpy(payload, dtype).reshape(shape)
