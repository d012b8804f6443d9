"""TorchContext collectives across two real processes (gloo), and the world of one without a group."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sagespark.distributed.torch_context import TorchContext, connect_store, create_master_store

TIMEOUT = dt.timedelta(seconds=60)


def _collectives(rank: int, port: int, out_dir: str) -> None:
    """Runs in each of two spawned processes; writes what every collective returned."""
    store = connect_store("127.0.0.1", port, 2, TIMEOUT)
    results: dict[str, np.ndarray] = {}
    with TorchContext(rank, 2, store=store, timeout=TIMEOUT, shared_memory=False) as ctx:
        assert dist.is_initialized() and dist.get_backend() == "gloo"
        base = np.arange(6, dtype=np.float64).reshape(2, 3) * (rank + 1)
        results["sum"] = ctx.allreduce(base)
        results["max"] = ctx.allreduce(base, op="max")
        results["min"] = ctx.allreduce(base, op="min")
        results["int_sum"] = ctx.allreduce(np.array([rank + 1, 10], dtype=np.int64))
        results["f32_sum"] = ctx.allreduce(np.array([0.5], dtype=np.float32))
        results["any"] = ctx.allreduce(np.array([rank == 1, False]))
        results["all"] = ctx.allreduce(np.array([True, rank == 1]), op="min")
        # Variable first dimension, including an empty share on rank 1.
        rows = np.arange(3 * 2, dtype=np.float32).reshape(3, 2) if rank == 0 else np.zeros((0, 2), np.float32)
        for i, part in enumerate(ctx.allgather(rows)):
            results[f"gather_rows_{i}"] = part
        for i, part in enumerate(ctx.allgather(np.full(rank + 4, rank, dtype=np.int32))):
            results[f"gather_vec_{i}"] = part
        for i, part in enumerate(ctx.allgather(np.array(rank * 1.5))):
            results[f"gather_scalar_{i}"] = part
        results["bcast"] = ctx.broadcast(np.array([[7, 8, 9]], dtype=np.int64) if rank == 0 else None)
        results["bcast_from_1"] = ctx.broadcast(np.array([2.5]) if rank == 1 else None, src=1)
        try:
            ctx.allgather(np.zeros((2, 3 + rank)))
        except ValueError as err:
            results["mismatch_error"] = np.array(str(err))
        ctx.barrier()
    assert not dist.is_initialized()
    np.savez(Path(out_dir) / f"rank{rank}.npz", **results)


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, np.ndarray]]:
    out_dir = tmp_path_factory.mktemp("collectives")
    server = create_master_store(2, TIMEOUT)  # the parent holds the rendezvous server
    mp.start_processes(_collectives, args=(server.port, str(out_dir)), nprocs=2, start_method="spawn")
    loaded = []
    for rank in range(2):
        with np.load(out_dir / f"rank{rank}.npz", allow_pickle=False) as npz:
            loaded.append({k: npz[k] for k in npz.files})
    return loaded


def _lazy_group(rank: int, port: int, out_dir: str) -> None:
    """Shared-memory collectives first; a payload over the capacity then makes the gloo group."""
    store = connect_store("127.0.0.1", port, 2, TIMEOUT)
    with TorchContext(rank, 2, store=store, timeout=TIMEOUT, shm_capacity=64) as ctx:
        assert ctx.shared_memory and not dist.is_initialized()
        small = ctx.allreduce(np.array([rank + 1.0]))
        made_before = dist.is_initialized()
        big = ctx.allreduce(np.full(100, rank + 1.0))  # 800 bytes: over the capacity, through gloo
        made_after = dist.is_initialized() and dist.get_backend() == "gloo"
    np.savez(Path(out_dir) / f"rank{rank}.npz", small=small, big=big,
             made=np.array([made_before, made_after, dist.is_initialized()]))


def test_gloo_group_is_made_only_when_shared_memory_needs_it(tmp_path: Path) -> None:
    server = create_master_store(2, TIMEOUT)
    mp.start_processes(_lazy_group, args=(server.port, str(tmp_path)), nprocs=2, start_method="spawn")
    for rank in range(2):
        with np.load(tmp_path / f"rank{rank}.npz", allow_pickle=False) as npz:
            assert npz["small"].tolist() == [3.0]
            assert npz["big"].tolist() == [3.0] * 100
            assert npz["made"].tolist() == [False, True, False]  # none, made on need, destroyed on close


def test_allreduce(two_ranks: list[dict[str, np.ndarray]]) -> None:
    base = np.arange(6, dtype=np.float64).reshape(2, 3)
    for r in two_ranks:
        np.testing.assert_array_equal(r["sum"], base * 3)
        np.testing.assert_array_equal(r["max"], base * 2)
        np.testing.assert_array_equal(r["min"], base)
        assert r["int_sum"].dtype == np.int64 and r["int_sum"].tolist() == [3, 20]
        assert r["f32_sum"].dtype == np.float32 and r["f32_sum"].tolist() == [1.0]
        assert r["any"].tolist() == [True, False]
        assert r["all"].tolist() == [True, False]


def test_allgather_with_variable_first_dimension(two_ranks: list[dict[str, np.ndarray]]) -> None:
    for r in two_ranks:
        np.testing.assert_array_equal(r["gather_rows_0"], np.arange(6, dtype=np.float32).reshape(3, 2))
        assert r["gather_rows_1"].shape == (0, 2) and r["gather_rows_1"].dtype == np.float32
        assert r["gather_vec_0"].tolist() == [0] * 4
        assert r["gather_vec_1"].tolist() == [1] * 5 and r["gather_vec_1"].dtype == np.int32
        assert r["gather_scalar_0"].shape == () and float(r["gather_scalar_1"]) == 1.5


def test_broadcast(two_ranks: list[dict[str, np.ndarray]]) -> None:
    for r in two_ranks:
        assert r["bcast"].tolist() == [[7, 8, 9]] and r["bcast"].dtype == np.int64
        assert r["bcast_from_1"].tolist() == [2.5]


def test_allgather_shape_mismatch_is_a_clear_error_on_every_rank(
    two_ranks: list[dict[str, np.ndarray]],
) -> None:
    for r in two_ranks:
        message = str(r["mismatch_error"])
        assert "trailing shape" in message and "(2, 3)" in message and "(2, 4)" in message


def test_world_of_one_needs_no_process_group() -> None:
    with TorchContext(0, 1) as ctx:
        assert not dist.is_initialized()
        x = np.array([[1.0, 2.0]])
        np.testing.assert_array_equal(ctx.allreduce(x, op="max"), x)
        assert [a.tolist() for a in ctx.allgather(x)] == [[[1.0, 2.0]]]
        np.testing.assert_array_equal(ctx.broadcast(x), x)
        assert ctx.torch_device == torch.device("cpu") and ctx.backend == "gloo"


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="rank must be in"):
        TorchContext(2, 2)
    with pytest.raises(ValueError, match="rendezvous store"):
        TorchContext(0, 2)
    ctx = TorchContext(0, 1)
    with pytest.raises(ValueError, match="op must be one of"):
        ctx.allreduce(np.zeros(1), op="mean")
    with pytest.raises(TypeError, match="dtype object"):
        ctx.allreduce(np.array(["a"], dtype=object))
    with pytest.raises(ValueError, match="needs an array on rank 0"):
        ctx.broadcast(None)


def test_master_store_listens_on_a_port_the_os_picked() -> None:
    server = create_master_store(2, TIMEOUT)
    assert server.port > 0
    client = connect_store("127.0.0.1", server.port, 2, TIMEOUT)
    client.set("address", "10.0.0.1:1234")
    assert server.get("address") == b"10.0.0.1:1234"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_device_uses_nccl_backend() -> None:
    with TorchContext(0, 1, device="cuda:0") as ctx:
        assert ctx.backend == "nccl" and ctx.torch_device == torch.device("cuda:0")
        np.testing.assert_array_equal(ctx.allreduce(np.ones(3)), np.ones(3))
