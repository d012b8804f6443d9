"""How the ranks' packets (:mod:`.fused`) reach every rank each step.

Ranks that keep one table in shared memory (:attr:`.FMParameters.shared`) also keep one *board* there:
a packet buffer per rank. A rank's compiled batch step writes its packet straight into its buffer,
a barrier publishes it, and every rank merges all packets from the board where they lie. Through the
collectives each packet would be copied in and copied out again (~100 KB each way per step at
SageMaker's default batch) and pay a collective's per-call work; the board costs one barrier. A
second barrier ends the step, once every owner has updated its rows and read the board, so that the
next step may overwrite it. Other ranks (one rank, or ranks on several hosts) exchange packets with
``allgather``.

Examples
--------
>>> import numpy as np
>>> from sagespark.distributed.context import LocalContext
>>> exchange = PacketExchange.create(LocalContext(), capacity=10, width=5, shared=False)
>>> exchange.packet.shape               # the header row and up to 10 feature rows
(11, 5)
>>> [p.shape for p in exchange.exchange(2)]   # this step's packet held 2 feature rows
[(3, 5)]
"""

from __future__ import annotations

import numpy as np

from sagespark.algorithms.factorization_machines.fused import COUNT_COLUMN
from sagespark.distributed.context import TrainContext

__all__ = ["PacketExchange"]


class PacketExchange:
    """This rank's packet buffer, and the step's packets of every rank in rank order.

    Use :meth:`create`; per step, let the batch step write :attr:`packet`, then call :meth:`exchange`
    with its feature rows, merge, and call :meth:`done`.
    """

    def __init__(self, ctx: TrainContext, board: np.ndarray | None, packet: np.ndarray, *,
                 shared: bool) -> None:
        self._ctx = ctx
        self._shared = shared
        self._board = board
        self.packet = packet
        self.packet_ids = packet.view(np.int32)

    @classmethod
    def create(cls, ctx: TrainContext, *, capacity: int, width: int, shared: bool) -> PacketExchange:
        """Buffers for packets of up to ``capacity`` feature rows of ``width`` values.

        ``shared``: the ranks share memory (their table is shared); every rank must then call this, as
        the board's size is agreed with the others.
        """
        board = None
        if shared:
            most = int(ctx.allreduce(np.array([float(capacity)]), op="max")[0])
            board = ctx.shared_array((ctx.world_size, 1 + most, width), np.float32)
        if board is None:  # (also when /dev/shm has no room left for a board)
            return cls(ctx, None, np.zeros((1 + capacity, width), dtype=np.float32), shared=shared)
        return cls(ctx, board, board[ctx.rank], shared=shared)

    def exchange(self, rows: int) -> list[np.ndarray]:
        """Every rank's packet of this step, in rank order (``rows``: this rank's feature rows)."""
        if self._board is None:
            mine = self.packet[:1 + rows]
            return [mine] if self._ctx.world_size == 1 else self._ctx.allgather(mine)
        self._ctx.barrier()  # every rank's packet is on the board
        counts = self._board[:, 0, COUNT_COLUMN].view(np.int32).tolist()  # int32 in a float32 column
        return [self._board[r, :1 + counts[r]] for r in range(len(counts))]

    def done(self) -> None:
        """End the step: with a shared table, wait until every rank has updated its rows (and read the
        board), so that no rank reads the table, or overwrites the board, too early."""
        if self._shared:
            self._ctx.barrier()
