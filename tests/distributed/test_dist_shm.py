"""SharedMemoryGroup across three real processes, TorchContext on top of it, and its failure modes."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch.distributed as dist
import torch.multiprocessing as mp

from sagespark.distributed.shm import CollectiveError, SharedMemoryGroup
from sagespark.distributed.torch_context import TorchContext, connect_store, create_master_store

TIMEOUT = dt.timedelta(seconds=60)
WORLD = 3
CAPACITY = 4096
MANY = 2000


def _inputs(rank: int) -> dict[str, np.ndarray]:
    """This rank's arrays for the allreduce checks (the parent rebuilds every rank's)."""
    rng = np.random.default_rng(rank)
    return {
        "f64": rng.standard_normal((4, 5)),
        "f32": rng.standard_normal(7).astype(np.float32),
        "i64": rng.integers(-1000, 1000, size=(3, 2)),
        "bool": rng.random(6) < 0.5,
        "scalar": np.array(rank + 0.25),
        "empty": np.zeros((0, 3), np.float32),
    }


def _battery(group: SharedMemoryGroup | TorchContext, rank: int, prefix: str) -> dict[str, np.ndarray]:
    """The same collectives through any group; returns what each gave, keyed by ``prefix``."""
    out: dict[str, np.ndarray] = {}
    for name, array in _inputs(rank).items():
        for op in ("sum", "max", "min"):
            out[f"{prefix}{name}_{op}"] = group.allreduce(array, op)
    rows = np.arange((rank + 1) * 2, dtype=np.float32).reshape(rank + 1, 2) if rank != 1 else np.zeros((0, 2))
    for i, part in enumerate(group.allgather(rows.astype(np.float32))):
        out[f"{prefix}gather_rows_{i}"] = part
    for i, part in enumerate(group.allgather(np.array(rank * 1.5))):
        out[f"{prefix}gather_scalar_{i}"] = part
    out[f"{prefix}bcast_from_2"] = group.broadcast(np.array([[7, 8, 9]]) if rank == 2 else None, src=2)
    out[f"{prefix}bcast_from_0"] = group.broadcast(np.array(True) if rank == 0 else None, src=0)
    try:
        group.allgather(np.zeros((2, 3 + rank)))
    except ValueError as err:
        out[f"{prefix}mismatch_error"] = np.array(str(err))
    return out


def _many_calls(group: SharedMemoryGroup, rank: int) -> dict[str, np.ndarray]:
    """MANY small allreduces with a gather or broadcast now and then: both buffers, every parity."""
    digest, wrong = hashlib.sha256(), 0
    base = np.linspace(0.0, 1.0, 825, dtype=np.float32)
    for i in range(MANY):
        got = group.allreduce(base * np.float32(i % 13) + np.float32(rank))
        expected = functools.reduce(np.add, [base * np.float32(i % 13) + np.float32(r) for r in range(WORLD)])
        wrong += int(not np.array_equal(got, expected))
        digest.update(got.tobytes())
        if i % 97 == 0:
            parts = group.allgather(np.full(rank + i % 3, i, dtype=np.int64))
            wrong += int([p.tolist() for p in parts] != [[i] * (r + i % 3) for r in range(WORLD)])
            wrong += int(group.broadcast(np.array([i]) if rank == i % WORLD else None, src=i % WORLD)[0] != i)
    return {"many_wrong": np.array(wrong), "many_digest": np.array(digest.hexdigest())}


def _capacity_checks(group: SharedMemoryGroup, rank: int) -> dict[str, np.ndarray]:
    """Over capacity on one rank only: every rank must take the same branch."""
    out: dict[str, np.ndarray] = {}
    size = CAPACITY // 8 + (10 if rank == 1 else -10)
    try:
        group.allgather(np.zeros(size))
    except ValueError as err:
        out["no_fallback_error"] = np.array(str(err))
    try:
        group.allreduce(np.zeros((2, 2 + rank)))
    except ValueError as err:
        out["shape_error"] = np.array(str(err))
    return out


def _shared_array_checks(group: SharedMemoryGroup, rank: int) -> dict[str, np.ndarray]:
    """One array for all ranks: each writes its row, and after a barrier every rank reads all rows."""
    before = set(os.listdir("/dev/shm"))
    table = group.shared_array((WORLD, 5), np.float32)
    assert table is not None
    out = {"shared_zeros": np.array(not table.any())}
    group.barrier()  # nobody writes before every rank has checked the zeros
    table[rank] = rank + 1.0
    group.barrier()
    out["shared_rows"] = table.copy()
    out["shared_files_left"] = np.array(len(set(os.listdir("/dev/shm")) - before))
    return out


def _torch_context_checks(store: Any, rank: int) -> dict[str, np.ndarray]:
    """TorchContext on shared memory (a small capacity: big payloads fall back to gloo), and on gloo."""
    out: dict[str, np.ndarray] = {}
    # One process group per store: a second group on the same keys would find the first one's addresses.
    shm_store, gloo_store = dist.PrefixStore("shm", store), dist.PrefixStore("gloo", store)
    with TorchContext(rank, WORLD, store=shm_store, timeout=TIMEOUT, shm_capacity=CAPACITY) as ctx:
        out["ctx_shared_memory"] = np.array(ctx.shared_memory)
        out.update(_battery(ctx, rank, "ctx_"))
        big = np.random.default_rng(rank).standard_normal(3 * CAPACITY // 8)  # over capacity on every rank
        out["big_sum"] = ctx.allreduce(big)
        out["big_max"] = ctx.allreduce(big, op="max")
        tall = np.full((CAPACITY // 8 + 1 if rank == 0 else 2, 1), rank + 0.5)  # over capacity on rank 0
        for i, part in enumerate(ctx.allgather(tall)):
            out[f"big_gather_{i}"] = part
        out["big_bcast"] = ctx.broadcast(np.arange(CAPACITY, dtype=np.int32) if rank == 1 else None, src=1)
        ctx.barrier()
    with TorchContext(rank, WORLD, store=gloo_store, timeout=TIMEOUT, shared_memory=False) as ctx:
        out["gloo_shared_memory"] = np.array(ctx.shared_memory)
        out["gloo_shared_array"] = np.array(ctx.shared_array((2, 2), np.float32) is not None)
        out.update(_battery(ctx, rank, "gloo_"))
        ctx.barrier()
    return out


def _failures(store: Any, rank: int, out: dict[str, np.ndarray], out_dir: str) -> None:
    """A late peer times the call out; a dead peer fails it (rank 2 exits while the others wait)."""
    late = SharedMemoryGroup.create(store, rank, WORLD, dt.timedelta(seconds=1))
    assert late is not None
    if rank == 0:
        try:
            late.allreduce(np.zeros(1))
        except CollectiveError as err:
            out["timeout_error"] = np.array(str(err))
        store.set("timed_out", "1")
    else:
        store.wait(["timed_out"], TIMEOUT)
    late.close()
    dying = SharedMemoryGroup.create(store, rank, WORLD, TIMEOUT)
    assert dying is not None
    out["pid"] = np.array(os.getpid())
    if rank == 2:
        np.savez(Path(out_dir) / f"rank{rank}.npz", **out)
        os._exit(0)
    try:
        dying.allreduce(np.ones(3))
    except CollectiveError as err:
        out["dead_peer_error"] = np.array(str(err))


def _rank_main(rank: int, port: int, out_dir: str) -> None:
    store = connect_store("127.0.0.1", port, WORLD, TIMEOUT)
    group = SharedMemoryGroup.create(store, rank, WORLD, TIMEOUT, capacity=CAPACITY)
    assert group is not None
    out = _battery(group, rank, "")
    out.update(_many_calls(group, rank))
    out.update(_capacity_checks(group, rank))
    out.update(_shared_array_checks(group, rank))
    group.close()
    group.close()
    try:
        group.barrier()
    except CollectiveError as err:
        out["closed_error"] = np.array(str(err))
    out.update(_torch_context_checks(store, rank))
    _failures(store, rank, out, out_dir)
    np.savez(Path(out_dir) / f"rank{rank}.npz", **out)


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, np.ndarray]]:
    out_dir = tmp_path_factory.mktemp("shm")
    server = create_master_store(WORLD, TIMEOUT)  # the parent holds the rendezvous server
    mp.start_processes(_rank_main, args=(server.port, str(out_dir)), nprocs=WORLD, start_method="spawn")
    loaded = []
    for rank in range(WORLD):
        with np.load(out_dir / f"rank{rank}.npz", allow_pickle=False) as npz:
            loaded.append({k: npz[k] for k in npz.files})
    return loaded


def _expected(name: str, op: str) -> np.ndarray:
    parts = [_inputs(r)[name] for r in range(WORLD)]
    if parts[0].dtype == np.bool_:
        return functools.reduce(np.logical_and if op == "min" else np.logical_or, parts)
    return functools.reduce({"sum": np.add, "max": np.maximum, "min": np.minimum}[op], parts)


@pytest.mark.parametrize("prefix", ["", "ctx_", "gloo_"])
def test_allreduce_matches_numpy_on_every_rank(ranks: list[dict[str, np.ndarray]], prefix: str) -> None:
    for name in _inputs(0):
        for op in ("sum", "max", "min"):
            expected = _expected(name, op)
            for r in ranks:
                got = r[f"{prefix}{name}_{op}"]
                assert got.dtype == expected.dtype and got.shape == expected.shape, (name, op)
                if prefix == "gloo_" and op == "sum" and expected.dtype.kind == "f":
                    # gloo adds in its own order; shared memory adds in rank order, like numpy here.
                    rtol = 1e-6 if expected.dtype == np.float32 else 1e-14
                    np.testing.assert_allclose(got, expected, rtol=rtol, err_msg=f"{prefix}{name} {op}")
                else:
                    np.testing.assert_array_equal(got, expected, err_msg=f"{prefix}{name} {op}")


def test_every_rank_gets_identical_bits(ranks: list[dict[str, np.ndarray]]) -> None:
    shared = [k for k in ranks[0] if "error" not in k and k != "pid"]
    for key in shared:
        assert all(r[key].tobytes() == ranks[0][key].tobytes() for r in ranks), key


@pytest.mark.parametrize("prefix", ["", "ctx_", "gloo_"])
def test_allgather_and_broadcast(ranks: list[dict[str, np.ndarray]], prefix: str) -> None:
    for r in ranks:
        np.testing.assert_array_equal(r[f"{prefix}gather_rows_0"], [[0.0, 1.0]])
        assert r[f"{prefix}gather_rows_1"].shape == (0, 2) and r[f"{prefix}gather_rows_1"].dtype == np.float32
        np.testing.assert_array_equal(r[f"{prefix}gather_rows_2"], np.arange(6).reshape(3, 2))
        assert [float(r[f"{prefix}gather_scalar_{i}"]) for i in range(WORLD)] == [0.0, 1.5, 3.0]
        assert r[f"{prefix}gather_scalar_0"].shape == ()
        bcast = r[f"{prefix}bcast_from_2"]
        assert bcast.tolist() == [[7, 8, 9]] and bcast.dtype == np.int64
        assert r[f"{prefix}bcast_from_0"].shape == () and bool(r[f"{prefix}bcast_from_0"])
        message = str(r[f"{prefix}mismatch_error"])
        assert "trailing shape" in message and "(2, 3)" in message


def test_many_consecutive_calls(ranks: list[dict[str, np.ndarray]]) -> None:
    assert [int(r["many_wrong"]) for r in ranks] == [0] * WORLD
    assert len({str(r["many_digest"]) for r in ranks}) == 1


def test_every_rank_decides_capacity_and_shape_errors_alike(ranks: list[dict[str, np.ndarray]]) -> None:
    for r in ranks:
        assert "capacity" in str(r["no_fallback_error"])
        assert "one dtype and shape" in str(r["shape_error"])
        assert "closed" in str(r["closed_error"])


def test_torch_context_falls_back_to_gloo_over_capacity(ranks: list[dict[str, np.ndarray]]) -> None:
    bigs = [np.random.default_rng(rank).standard_normal(3 * CAPACITY // 8) for rank in range(WORLD)]
    for r in ranks:
        assert bool(r["ctx_shared_memory"]) and not bool(r["gloo_shared_memory"])
        np.testing.assert_allclose(r["big_sum"], sum(bigs), rtol=1e-12)
        np.testing.assert_array_equal(r["big_max"], np.maximum.reduce(bigs))
        assert r["big_gather_0"].shape == (CAPACITY // 8 + 1, 1) and (r["big_gather_0"] == 0.5).all()
        assert r["big_gather_2"].tolist() == [[2.5], [2.5]]
        np.testing.assert_array_equal(r["big_bcast"], np.arange(CAPACITY, dtype=np.int32))


def test_a_late_peer_times_out_and_a_dead_peer_fails_the_call(ranks: list[dict[str, np.ndarray]]) -> None:
    assert "timed out" in str(ranks[0]["timeout_error"]) and "[1, 2]" in str(ranks[0]["timeout_error"])
    dead_pid = int(ranks[2]["pid"])
    for r in ranks[:2]:
        message = str(r["dead_peer_error"])
        assert f"Rank 2 (pid {dead_pid}) exited" in message


def test_a_shared_array_is_one_memory_for_every_rank(ranks: list[dict[str, np.ndarray]]) -> None:
    expected = np.repeat(np.arange(1.0, WORLD + 1.0, dtype=np.float32)[:, None], 5, axis=1)
    for out in ranks:
        assert out["shared_zeros"]
        np.testing.assert_array_equal(out["shared_rows"], expected)
        assert out["shared_files_left"] == 0  # unlinked once every rank mapped it
        assert not out["gloo_shared_array"]  # without shared-memory collectives there is no shared array


def test_no_group_for_one_rank_or_ranks_on_other_hosts() -> None:
    assert SharedMemoryGroup.create(_DictStore(), 0, 1, TIMEOUT) is None
    store = _DictStore()
    store.set("sagespark/shm/0/who/1", json.dumps(["elsewhere|x86_64|boot|ns|ns", 1]))
    assert SharedMemoryGroup.create(store, 0, 2, TIMEOUT) is None
    assert not store.keys_with("/file")  # decided before any file was made


def test_collective_error_counts_as_a_peer_failure() -> None:
    from sagespark.distributed.worker import _is_peer_failure

    assert _is_peer_failure(CollectiveError("Rank 1 (pid 42) exited"))
    assert issubclass(CollectiveError, RuntimeError)


class _DictStore:
    """Just enough of a torch Store for the factory's single-process paths."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def set(self, key: str, value: str) -> None:
        self.data[key] = value.encode()

    def get(self, key: str) -> bytes:
        return self.data[key]

    def add(self, key: str, amount: int) -> int:
        value = int(self.data.get(key, b"0")) + amount
        self.data[key] = str(value).encode()
        return value

    def wait(self, keys: list[str], timeout: dt.timedelta) -> None:
        missing = [k for k in keys if k not in self.data]
        if missing:
            raise TimeoutError(f"keys {missing} never set")

    def keys_with(self, part: str) -> list[str]:
        return [k for k in self.data if part in k]
