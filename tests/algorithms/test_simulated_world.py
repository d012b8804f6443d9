"""The thread-based test world: collectives are correct and deterministic; failures do not hang."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from simulated_world import ThreadContext, ThreadWorld, run_ranks

from sagespark.algorithms.base import Algorithm, ChannelData, OutputField, Predictor, TrainResult
from sagespark.distributed.context import TrainContext
from sagespark.hyperparams import Hyperparameters, Int


def _on_ranks(n: int, fn: Callable[[ThreadContext], Any]) -> list[Any]:
    world = ThreadWorld(n)
    out: list[Any] = [None] * n

    def work(rank: int) -> None:
        out[rank] = fn(ThreadContext(world, rank))

    threads = [threading.Thread(target=work, args=(r,)) for r in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def test_collectives() -> None:
    def fn(ctx: ThreadContext) -> tuple[Any, ...]:
        mine = np.full(3, float(ctx.rank + 1))
        return (
            ctx.allreduce(mine),
            ctx.allreduce(mine, op="max"),
            ctx.allreduce(mine, op="min"),
            ctx.allgather(np.arange(ctx.rank)),
            ctx.broadcast(np.array([7.0]) if ctx.rank == 1 else None, src=1),
        )

    results = _on_ranks(3, fn)
    for total, high, low, gathered, bcast in results:
        np.testing.assert_array_equal(total, [6.0, 6.0, 6.0])
        np.testing.assert_array_equal(high, [3.0, 3.0, 3.0])
        np.testing.assert_array_equal(low, [1.0, 1.0, 1.0])
        assert [g.tolist() for g in gathered] == [[], [0], [0, 1]]
        np.testing.assert_array_equal(bcast, [7.0])


def test_allreduce_is_bitwise_identical_on_every_rank() -> None:
    values = np.random.default_rng(0).normal(size=(4, 1000)) * 1e8
    results = _on_ranks(4, lambda ctx: ctx.allreduce(values[ctx.rank]))
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


class _HP(Hyperparameters):
    display_name = "Failing"
    fail_rank = Int("Rank that raises.", 0, low=0)


class _Failing(Algorithm):
    name: ClassVar[str] = "failing-test-algorithm"
    hyperparameters: ClassVar[type[Hyperparameters]] = _HP
    outputs: ClassVar[tuple[OutputField, ...]] = ()

    @classmethod
    def train(cls, ctx: TrainContext, data: Mapping[str, ChannelData], hp: Hyperparameters) -> TrainResult:
        if ctx.rank == hp["fail_rank"]:
            raise RuntimeError(f"rank {ctx.rank} broke")
        ctx.allreduce(np.zeros(1))  # would wait forever for the failed rank without the abort
        return TrainResult(None)

    @classmethod
    def write_state(cls, state: Any, directory: Path) -> None:
        raise NotImplementedError

    @classmethod
    def load(cls, directory: Path, hp: Hyperparameters) -> Predictor:
        raise NotImplementedError


@pytest.mark.parametrize("fail_rank", [0, 1])
def test_a_failing_rank_aborts_its_peers_and_its_error_surfaces(fail_rank: int) -> None:
    shards = [ChannelData(np.zeros((1, 1))) for _ in range(3)]
    with pytest.raises(RuntimeError, match=f"rank {fail_rank} broke"):
        run_ranks(_Failing, shards, {"fail_rank": fail_rank})
