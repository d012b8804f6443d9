"""Summing the ranks' row-sparse FM gradients each step, with one collective.

Each rank sends a header row ``[-1, bias grad, row count, 0…]`` and one row ``[feature id, grad…]``
per feature its batch touched; every rank gathers all of them and sums rows with the same id. The
sum runs in rank order on every rank, so all replicas apply bit-identical updates.

When the torch process group of :class:`~sagespark.distributed.torch_context.TorchContext` is up and
its collectives are NCCL or gloo across hosts, the rows travel in a fixed-capacity buffer (the largest
batch's row count, agreed once before training) through a single ``all_gather`` per step. Any other
context goes through :meth:`TrainContext.allgather`: a TorchContext whose ranks share one host sends
just the touched rows through shared memory (one copy in, one out, no padding), and threads in tests or
a custom backend use their own.

Examples
--------
>>> import torch
>>> from sagespark.distributed.context import LocalContext
>>> ex = GradientExchange.create(LocalContext(), width=2, capacity=3, device="cpu")
>>> bias, rows, ids, summed = ex(torch.tensor(1.5), torch.tensor([4]), torch.ones((1, 2)), 7)
>>> bias, rows, ids.tolist(), summed.tolist()
(1.5, 7.0, [4], [[1.0, 1.0]])
"""

from __future__ import annotations

import numpy as np
import torch
import torch.distributed as dist

from sagespark.distributed.context import TrainContext

__all__ = ["GradientExchange"]

_HEADER, _PADDING = -1.0, -2.0


class GradientExchange:
    """Sums ``(bias grad, feature ids, gradient rows, row count)`` over ranks.

    Parameters
    ----------
    ctx : TrainContext
        The ranks.
    width : int
        Gradient values per feature row (``1 + num_factors``).
    capacity : int
        The most feature rows any rank sends in one step (every rank must pass the same value).
    device : str
        Where the returned tensors live.
    """

    def __init__(self, ctx: TrainContext, width: int, capacity: int, device: str, *, direct: bool) -> None:
        self.ctx, self.width, self.capacity, self.device, self.direct = ctx, width, capacity, device, direct
        self._buffers: list[torch.Tensor] = []
        if direct:
            # NCCL gathers device tensors; gloo gathers CPU tensors.
            where = device if dist.get_backend() == "nccl" else "cpu"
            self._buffers = [torch.empty((1 + capacity, 1 + width), dtype=torch.float64, device=where)
                             for _ in range(ctx.world_size)]

    @classmethod
    def create(cls, ctx: TrainContext, *, width: int, capacity: int, device: str) -> GradientExchange:
        """Agree on the capacity across ranks and pick the transport."""
        capacity = int(ctx.allreduce(np.array([float(capacity)]), op="max")[0]) if ctx.world_size > 1 \
            else capacity
        direct = (ctx.world_size > 1 and dist.is_available() and dist.is_initialized()
                  and dist.get_world_size() == ctx.world_size
                  and not getattr(ctx, "shared_memory", False))
        return cls(ctx, width, capacity, device, direct=direct)

    def __call__(self, bias_grad: torch.Tensor, cols: torch.Tensor, rows: torch.Tensor, count: int
                 ) -> tuple[float, float, torch.Tensor, torch.Tensor]:
        """``(summed bias grad, global row count, sorted feature ids, their summed gradient rows)``."""
        if self.ctx.world_size == 1:
            return float(bias_grad), float(count), cols, rows
        local = torch.full((1 + self.capacity if self.direct else 1 + int(cols.shape[0]), 1 + self.width),
                           _PADDING, dtype=torch.float64, device=self._buffers[0].device if self.direct
                           else "cpu")
        local[0, :3] = torch.tensor([_HEADER, float(bias_grad), float(count)], dtype=torch.float64)
        local[0, 3:] = 0.0
        u = int(cols.shape[0])
        local[1:1 + u, 0] = cols.to(local.device, torch.float64)
        local[1:1 + u, 1:] = rows.to(local.device, torch.float64)
        if self.direct:
            dist.all_gather(self._buffers, local)
            stacked = torch.cat(self._buffers).cpu()
        else:
            stacked = torch.from_numpy(np.concatenate(self.ctx.allgather(local.numpy()), axis=0))
        ids_all = stacked[:, 0]
        head = stacked[ids_all == _HEADER]
        body = stacked[ids_all >= 0]
        ids, inverse = torch.unique(body[:, 0].to(torch.int64), return_inverse=True)
        summed = torch.zeros((int(ids.shape[0]), self.width), dtype=torch.float64).index_add_(
            0, inverse, body[:, 1:])
        return (float(head[:, 1].sum()), float(head[:, 2].sum()), ids.to(self.device),
                summed.to(device=self.device, dtype=torch.float32))
