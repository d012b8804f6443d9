"""Benchmark: shared-memory collectives against gloo, between processes on one host.

Two processes (``--ranks``) run ``--calls`` allreduces of 825 float32 (a Linear Learner step's gradient in
the Linear Learner benchmark) and ``--calls`` all_gathers of a 300 x 9 float64 block (a Factorization
Machines step's rows), first through :class:`TorchContext` on shared memory, then through the
``torch.distributed`` gloo calls the algorithms made before (``dist.all_reduce`` on the tensor, one
``dist.all_gather`` of equal-sized tensors). Times are rank 0's wall seconds after a warm-up.

Usage::

    python bench/bench_collectives.py --calls 2000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402

from sagespark.distributed.torch_context import TorchContext, connect_store, create_master_store  # noqa: E402

TIMEOUT = dt.timedelta(minutes=5)
WARMUP = 100


def _timed(fn: object, calls: int) -> float:
    assert callable(fn)
    for _ in range(WARMUP):
        fn()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return time.perf_counter() - start


def _shm(ctx: TorchContext, rank: int, calls: int) -> dict[str, float]:
    assert ctx.shared_memory, "the ranks did not get a shared-memory group"
    grad = np.full(825, rank + 1.0, dtype=np.float32)
    block = np.full((300, 9), float(rank))
    packet = np.full((2850, 10), float(rank), dtype=np.float32)
    ctx.barrier()
    reduce_s = _timed(lambda: ctx.allreduce(grad), calls)
    ctx.barrier()
    gather_s = _timed(lambda: ctx.allgather(block), calls)
    ctx.barrier()
    packet_s = _timed(lambda: ctx.allgather(packet), calls)
    barrier_s = _timed(ctx.barrier, calls)
    return {"allreduce": reduce_s, "allgather": gather_s, "allgather_fm_packet": packet_s,
            "barrier": barrier_s}


def _gloo(ctx: TorchContext, rank: int, calls: int) -> dict[str, float]:
    grad = torch.full((825,), rank + 1.0, dtype=torch.float32)
    block = torch.full((300, 9), float(rank), dtype=torch.float64)
    parts = [torch.empty_like(block) for _ in range(ctx.world_size)]
    packet = torch.full((2850, 10), float(rank), dtype=torch.float32)
    packets = [torch.empty_like(packet) for _ in range(ctx.world_size)]
    dist.barrier()
    reduce_s = _timed(lambda: dist.all_reduce(grad.clone()), calls)
    dist.barrier()
    gather_s = _timed(lambda: dist.all_gather(parts, block), calls)
    dist.barrier()
    packet_s = _timed(lambda: dist.all_gather(packets, packet), calls)
    barrier_s = _timed(dist.barrier, calls)
    return {"allreduce": reduce_s, "allgather": gather_s, "allgather_fm_packet": packet_s,
            "barrier": barrier_s}


def _rank_main(rank: int, port: int, ranks: int, calls: int, out: str) -> None:
    store = connect_store("127.0.0.1", port, ranks, TIMEOUT)
    results = {}
    for name, run in (("shm", _shm), ("gloo", _gloo)):
        # One process group per store prefix: a second group on the same keys would find stale addresses.
        prefixed = dist.PrefixStore(name, store)
        with TorchContext(rank, ranks, store=prefixed, timeout=TIMEOUT, shared_memory=name == "shm") as ctx:
            results[name] = run(ctx, rank, calls)
    if rank == 0:
        Path(out).write_text(json.dumps(results))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--ranks", type=int, default=2)
    args = parser.parse_args(argv)
    server = create_master_store(args.ranks, TIMEOUT)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "results.json")
        mp.start_processes(_rank_main, args=(server.port, args.ranks, args.calls, out), nprocs=args.ranks,
                           start_method="spawn")
        results = json.loads(Path(out).read_text())
    print(f"{args.ranks} processes on one host, {args.calls} calls each; rank 0 wall seconds")
    head = f"{'shm s':>9}{'gloo s':>9}{'shm µs/call':>13}{'gloo µs/call':>14}{'speed-up':>10}"
    print(f"{'collective':<28}{head}")
    labels = {"allreduce": "allreduce 825 float32", "allgather": "all_gather 300x9 float64",
              "allgather_fm_packet": "all_gather 2850x10 float32", "barrier": "barrier"}
    for key, label in labels.items():
        shm, gloo = results["shm"][key], results["gloo"][key]
        print(f"{label:<28}{shm:>9.3f}{gloo:>9.3f}{shm / args.calls * 1e6:>13.1f}"
              f"{gloo / args.calls * 1e6:>14.1f}{gloo / shm:>9.1f}x")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
