"""Collectives through shared memory, for ranks that all run on one host (Spark ``local[*]``).

A gloo collective between two processes on one machine costs about a millisecond, which dominates
algorithms that synchronise every mini-batch. Here the ranks map one file in ``/dev/shm`` and exchange
payloads by copying into it: a small allreduce costs tens of microseconds.

Layout: a 64-byte token, one 64-byte line per rank holding its int64 call counter, then per call parity
(0, 1) and rank a slot of a 128-byte header (payload bytes, ndim, dtype, shape) and ``capacity`` bytes.

Protocol of call ``c`` (parity ``c % 2``): a rank writes header and payload into its slot of that parity,
then stores ``c`` in its counter; it waits until every counter is ``>= c``, reads every slot and computes
the result itself (reductions run in rank order, so every rank gets the same bits). No second barrier is
needed: a rank writes call ``c + 2`` into the buffers of call ``c`` only after it saw every peer publish
``c + 1``, and a peer publishes ``c + 1`` only after it finished reading call ``c``.

This relies on x86-64's memory order (TSO: stores are not reordered with other stores, loads not with other
loads), so a peer that sees a counter also sees the payload written before it (and the C compiler cannot
move numpy's copy past the counter store: they are separate calls from the interpreter); elsewhere
:meth:`SharedMemoryGroup.create` returns ``None`` and the caller keeps gloo. Waiting spins for a few tens
of microseconds (peers usually arrive that soon), then yields the core, then sleeps, checking that the
peers are alive every half second.

Examples
--------
>>> import datetime as dt, numpy as np
>>> group = SharedMemoryGroup.create(store, rank, 2, dt.timedelta(minutes=1))   # doctest: +SKIP
>>> group.allreduce(np.array([1.0, 2.0]) * (rank + 1))                            # doctest: +SKIP
array([3., 6.])
"""

from __future__ import annotations

import datetime as _dt
import json
import mmap
import os
import platform
import secrets
import socket
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from torch.distributed import Store

__all__ = ["SharedMemoryGroup", "CollectiveError", "DTYPES", "DEFAULT_CAPACITY"]

DEFAULT_CAPACITY = 4 << 20
"""Payload bytes per slot (4 MiB); larger payloads go through the fallback (gloo)."""
# numpy dtypes collectives take (the same list as TorchContext's); headers store an index into it.
DTYPES: tuple[np.dtype[Any], ...] = tuple(
    np.dtype(t)
    for t in (np.float32, np.float64, np.float16, np.int64, np.int32, np.int16, np.int8, np.uint8, np.bool_)
)
_DTYPE_INDEX = {dtype: index for index, dtype in enumerate(DTYPES)}
MAX_DIMS = 8
_LINE, _HEAD = 64, 128  # cache line (one counter each: no false sharing), slot header bytes
_SPIN_S, _YIELD_S, _SLEEP_S, _CHECK_S = 50e-6, 5e-3, 100e-6, 0.5
_REDUCE = {"sum": np.add, "max": np.maximum, "min": np.minimum}
_REDUCE_BOOL = {"sum": np.logical_or, "max": np.logical_or, "min": np.logical_and}


class CollectiveError(RuntimeError):
    """A shared-memory collective failed: a peer process died, or the peers did not arrive in time."""


class Collectives(Protocol):
    """What the group falls back to for payloads over its capacity (TorchContext's gloo collectives)."""

    def allreduce(self, array: np.ndarray, op: str = "sum") -> np.ndarray: ...
    def allgather(self, array: np.ndarray) -> list[np.ndarray]: ...
    def broadcast(self, array: np.ndarray | None, src: int = 0) -> np.ndarray: ...


@dataclass
class _Layout:
    seq: np.ndarray  # (world,) int64 counters, 64 bytes apart
    heads: tuple[np.ndarray, np.ndarray]  # per parity, (world, 16) int64 headers
    data: tuple[np.ndarray, np.ndarray]  # per parity, (world, capacity) uint8 payloads


def _views(mm: mmap.mmap, world: int, capacity: int) -> _Layout:
    slot = _HEAD + capacity
    seq = np.ndarray((world,), np.int64, buffer=mm, offset=_LINE, strides=(_LINE,))
    base = _LINE * (1 + world)
    heads, data = [], []
    for parity in (0, 1):
        offset = base + parity * world * slot
        heads.append(np.ndarray((world, _HEAD // 8), np.int64, mm, offset, (slot, 8)))
        data.append(np.ndarray((world, capacity), np.uint8, mm, offset + _HEAD, (slot, 1)))
    return _Layout(seq, (heads[0], heads[1]), (data[0], data[1]))


def _identity() -> str:
    """Host name and boot id, plus the pid and mount namespaces: containers on one host share the boot id,
    and only ranks that see each other's processes and /dev/shm can use this group."""
    parts = [socket.gethostname(), platform.machine()]
    for read, path in ((_read_text, "/proc/sys/kernel/random/boot_id"), (os.readlink, "/proc/self/ns/pid"),
                       (os.readlink, "/proc/self/ns/mnt")):
        try:
            parts.append(read(path))
        except OSError:
            parts.append("")
    return "|".join(parts)


def _read_text(path: str) -> str:
    with open(path) as f:
        return f.read().strip()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # an exited child its parent has not reaped yet still answers kill(pid, 0)
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def _create_file(size: int, token: bytes, folders: tuple[str, ...] | None = None
                 ) -> tuple[str, mmap.mmap] | None:
    """Rank 0: a new file of ``size`` bytes in /dev/shm (or the temp dir when /dev/shm cannot hold it)."""
    for folder in folders or ("/dev/shm", tempfile.gettempdir()):
        path = os.path.join(folder, f"sagespark-shm-{os.getpid()}-{secrets.token_hex(8)}")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError:
            continue
        try:
            os.ftruncate(fd, size)
            # Reserve the pages now: a full tmpfs would otherwise kill us with SIGBUS on first write.
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, size)
            mm = mmap.mmap(fd, size)
        except OSError:
            os.unlink(path)
            continue
        finally:
            os.close(fd)
        mm[: len(token)] = token
        return path, mm
    return None


def _offer_file(size: int, folders: tuple[str, ...] | None = None
                ) -> tuple[tuple[str, mmap.mmap] | None, str]:
    """Rank 0: a new file (or ``None``) and the note that tells the peers where it is."""
    token = secrets.token_bytes(16)  # proves a peer mapped this file, not a namesake elsewhere
    made = _create_file(size, token, folders)
    return made, json.dumps(["", ""] if made is None else [made[0], token.hex()])


def _map_offered(note: str | bytes, size: int, made: tuple[str, mmap.mmap] | None
                 ) -> tuple[str, mmap.mmap | None]:
    """Every rank: the offered file's path and this rank's mapping (rank 0 passes what it ``made``)."""
    path, token_hex = json.loads(note)
    if not path:
        return "", None
    return path, made[1] if made is not None else _attach(path, size, bytes.fromhex(token_hex))


def _settle(rank: int, path: str, mm: mmap.mmap | None, everyone_mapped: bool) -> mmap.mmap | None:
    """Once every rank has tried to map the file: rank 0 unlinks it; the mapping, unless a rank failed."""
    if rank == 0 and path:
        os.unlink(path)
    if everyone_mapped:
        return mm
    if mm is not None:
        mm.close()
    return None


def _attach(path: str, size: int, token: bytes) -> mmap.mmap | None:
    try:
        fd = os.open(path, os.O_RDWR)
        try:
            mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
    except (OSError, ValueError):  # e.g. another mount namespace, whose /dev/shm is not ours
        return None
    if mm[: len(token)] != token:
        mm.close()
        return None
    return mm


class SharedMemoryGroup:
    """Numpy collectives over a shared-memory file; build it with :meth:`create`.

    Parameters
    ----------
    mm : mmap.mmap
        The mapped file (already unlinked).
    rank, world_size : int
        This rank and the number of ranks.
    capacity : int
        Payload bytes per slot.
    timeout : datetime.timedelta
        How long a call waits for the peers.
    pids : list of int
        Every rank's process id, to notice a peer that died.
    fallback : Collectives, optional
        Takes calls whose payload exceeds ``capacity`` on some rank; without one they raise ValueError.

    Examples
    --------
    >>> group = SharedMemoryGroup.create(store, rank, world_size, timeout)   # doctest: +SKIP
    >>> [a.shape for a in group.allgather(np.zeros((rank + 1, 3)))]         # doctest: +SKIP
    [(1, 3), (2, 3)]
    """

    def __init__(self, mm: mmap.mmap, rank: int, world_size: int, capacity: int, timeout: _dt.timedelta,
                 pids: list[int], fallback: Collectives | None = None) -> None:
        self.rank, self.world_size, self.capacity = rank, world_size, capacity
        self._mm, self._timeout_s, self._pids, self._fallback = mm, timeout.total_seconds(), pids, fallback
        self._lay: _Layout | None = _views(mm, world_size, capacity)
        self._calls = int(self._lay.seq[rank])

    @classmethod
    def create(cls, store: Store, rank: int, world_size: int, timeout: _dt.timedelta, *,
               capacity: int = DEFAULT_CAPACITY, fallback: Collectives | None = None,
               prefix: str = "sagespark/shm") -> SharedMemoryGroup | None:
        """A group when every rank runs on this host (on x86-64), else ``None``; every rank must call it.

        Every rank reaches the same answer. Rank 0 creates the file, publishes its name through ``store``
        and unlinks it once every rank has mapped it, so nothing is left behind if processes die.

        Parameters
        ----------
        store : torch.distributed.Store
            The rendezvous store every rank shares (only ``set``, ``get``, ``add`` and ``wait`` are used).
        rank, world_size : int
            This rank and the number of ranks.
        timeout : datetime.timedelta
            How long setting up, and then each call, waits for the peers.
        capacity : int
            Payload bytes per rank and call (rounded up to 64); the file holds ``2 × world_size`` slots.
        fallback : Collectives, optional
            Carries the calls with a payload over ``capacity``.
        prefix : str
            Namespace of this factory's keys in ``store``.
        """
        if world_size == 1:
            return None
        capacity = -(-capacity // _LINE) * _LINE
        # Ranks call create in the same order, so a shared counter numbers the groups made on one store.
        key = f"{prefix}/{(store.add(f'{prefix}/joins', 1) - 1) // world_size}"
        store.set(f"{key}/who/{rank}", json.dumps([_identity(), os.getpid()]))
        peers = [json.loads(v) for v in _gather(store, f"{key}/who", world_size, timeout)]
        if any(ident != peers[0][0] for ident, _ in peers) or platform.machine() != "x86_64":
            return None
        size, made = _LINE * (1 + world_size) + 2 * world_size * (_HEAD + capacity), None
        if rank == 0:
            made, note = _offer_file(size)
            store.set(f"{key}/file", note)
        store.wait([f"{key}/file"], timeout)
        path, mm = _map_offered(store.get(f"{key}/file"), size, made)
        store.set(f"{key}/mapped/{rank}", "1" if mm is not None else "0")
        mapped = all(m == b"1" for m in _gather(store, f"{key}/mapped", world_size, timeout))
        mm = _settle(rank, path, mm, mapped)
        if mm is None:
            return None
        return cls(mm, rank, world_size, capacity, timeout, [pid for _, pid in peers], fallback)

    # -- collectives -----------------------------------------------------------------------
    def allreduce(self, array: np.ndarray, op: str = "sum") -> np.ndarray:
        """Element-wise ``"sum"``, ``"max"`` or ``"min"``, added in rank order; bools as any/all."""
        table = _REDUCE_BOOL if np.asarray(array).dtype == np.bool_ else _REDUCE
        if op not in table:
            raise ValueError(f"op must be one of {sorted(table)}; got {op!r}.")
        array = check_array(array)
        parity, heads = self._exchange(array)
        if (fallback := self._over(heads)) is not None:
            return fallback.allreduce(array, op)
        differ = (heads[:, 1 : 3 + MAX_DIMS] != heads[self.rank, 1 : 3 + MAX_DIMS]).any(axis=1)
        if differ.any():
            other = int(np.argmax(differ))
            dtype, shape = _unpack(heads[other])
            raise ValueError(f"allreduce needs one dtype and shape on every rank: rank {self.rank} has "
                             f"{array.dtype} {array.shape}, rank {other} has {dtype} {shape}.")
        # Every rank's payload has this rank's dtype and shape (checked above).
        out = self._read(parity, 0, array.nbytes, array.dtype, array.shape).copy()
        for rank in range(1, self.world_size):
            table[op](out, self._read(parity, rank, array.nbytes, array.dtype, array.shape), out=out)
        return out

    def allgather(self, array: np.ndarray) -> list[np.ndarray]:
        """Every rank's array in rank order; first dimensions may differ, dtype and the rest may not."""
        array = check_array(array)
        parity, heads = self._exchange(array)
        if (fallback := self._over(heads)) is not None:
            return fallback.allgather(array)
        parts = []
        for rank, head in enumerate(heads):
            dtype, shape = _unpack(head)
            if dtype != array.dtype or shape[1:] != array.shape[1:] or len(shape) != array.ndim:
                raise ValueError(
                    f"allgather needs one dtype and one trailing shape on every rank: rank {self.rank} has "
                    f"{array.dtype} {array.shape}, rank {rank} has {dtype} {shape}."
                )
            parts.append(self._read(parity, rank, int(head[0]), dtype, shape).copy())
        return parts

    def broadcast(self, array: np.ndarray | None, src: int = 0) -> np.ndarray:
        """Rank ``src``'s array on every rank; the other ranks may pass ``None``."""
        if self.rank == src:
            if array is None:
                raise ValueError(f"broadcast from rank {src} needs an array on rank {src}.")
            array = check_array(array)
        parity, heads = self._exchange(array if self.rank == src else None)
        if (fallback := self._over(heads)) is not None:
            return fallback.broadcast(array, src)
        dtype, shape = _unpack(heads[src])
        return self._read(parity, src, int(heads[src, 0]), dtype, shape).copy()

    def barrier(self) -> None:
        """Wait until every rank has called ``barrier``."""
        self._exchange(None)

    def shared_array(self, shape: tuple[int, ...], dtype: Any) -> np.ndarray | None:
        """A zero-filled array that every rank maps, or ``None`` on every rank; every rank must call it.

        Rank 0 creates the file in /dev/shm and unlinks it once every rank has mapped it, so the memory
        goes with the last array that uses it. A rank's writes are visible to the others after the next
        collective (which publishes them, as the module notes explain). ``None`` when /dev/shm cannot hold
        the array: a disk-backed file would write the pages out as they change.
        """
        dtype = np.dtype(dtype)
        size = _LINE + max(1, int(np.prod(shape)) * dtype.itemsize)  # the token's line, then the data
        made, note = _offer_file(size, folders=("/dev/shm",)) if self.rank == 0 else (None, "")
        sent = self.broadcast(np.frombuffer(note.encode(), np.uint8) if self.rank == 0 else None, src=0)
        path, mm = _map_offered(sent.tobytes(), size, made)
        mapped = bool(self.allreduce(np.array([mm is not None]), op="min")[0])
        mm = _settle(self.rank, path, mm, mapped)
        return None if mm is None else np.ndarray(tuple(shape), dtype, buffer=mm, offset=_LINE)

    def close(self) -> None:
        """Unmap the file (safe to call twice); the group cannot be used afterwards."""
        self._lay = None  # drop the numpy views first: a mapping with live views cannot close
        try:
            self._mm.close()
        except BufferError:  # a view escaped; the mapping goes with its last reference
            pass

    # -- protocol --------------------------------------------------------------------------
    def _exchange(self, array: np.ndarray | None) -> tuple[int, np.ndarray]:
        """Publish this rank's part of the next call, wait for every rank's; ``(parity, headers)``."""
        lay = self._lay
        if lay is None:
            raise CollectiveError("The shared-memory group is closed.")
        self._calls += 1
        call, parity = self._calls, self._calls & 1
        head = lay.heads[parity][self.rank]
        if array is None:
            head[0] = -1
        else:
            pad = (-1,) * (MAX_DIMS - array.ndim)
            head[: 3 + MAX_DIMS] = (array.nbytes, array.ndim, _DTYPE_INDEX[array.dtype], *array.shape, *pad)
            if array.nbytes <= self.capacity:
                lay.data[parity][self.rank, : array.nbytes] = array.reshape(-1).view(np.uint8)
        lay.seq[self.rank] = call  # publish: on x86-64 no peer sees this before the stores above
        self._wait(lay.seq, call)
        return parity, lay.heads[parity].copy()

    def _wait(self, seq: np.ndarray, call: int) -> None:
        """Spin briefly, then yield the core, then sleep; notice dead peers and the timeout."""
        if seq.min() >= call:
            return
        start = time.monotonic()
        check_at, deadline = start + _CHECK_S, start + self._timeout_s
        while seq.min() < call:
            now = time.monotonic()
            if now - start < _SPIN_S:
                continue
            if now - start < _YIELD_S:
                os.sched_yield()
                continue
            if now >= check_at:
                check_at = now + _CHECK_S
                for rank in np.flatnonzero(seq < call).tolist():
                    if not _alive(self._pids[rank]):
                        raise CollectiveError(f"Rank {rank} (pid {self._pids[rank]}) exited before joining "
                                              f"shared-memory collective call {call} on rank {self.rank}.")
            if now >= deadline:
                late = np.flatnonzero(seq < call).tolist()
                raise CollectiveError(f"Shared-memory collective call {call} on rank {self.rank} timed out "
                                      f"after {self._timeout_s:g} s waiting for ranks {late}.")
            time.sleep(_SLEEP_S)

    def _over(self, heads: np.ndarray) -> Collectives | None:
        """The fallback when some rank's payload exceeds the capacity. Every rank reads the same headers,
        so every rank takes the same branch."""
        if max(heads[:, 0].tolist()) <= self.capacity:  # plain ints: this runs on every call
            return None
        if self._fallback is None:
            raise ValueError(f"A payload exceeds the shared-memory slot capacity ({self.capacity} bytes) "
                             "and the group has no fallback.")
        return self._fallback

    def _read(self, parity: int, rank: int, nbytes: int, dtype: np.dtype[Any], shape: tuple[int, ...]
              ) -> np.ndarray:
        assert self._lay is not None
        return self._lay.data[parity][rank, :nbytes].view(dtype).reshape(shape)


def check_array(array: Any) -> np.ndarray:
    """``array`` as a C-contiguous ndarray of a dtype collectives take, with at most 8 dimensions."""
    array = np.asarray(array)
    # (np.ascontiguousarray would turn a 0-d array into a 1-d one.)
    array = array if array.flags.c_contiguous else np.array(array, order="C")
    if array.dtype not in DTYPES:
        kinds = sorted(str(d) for d in DTYPES)
        raise TypeError(f"Collectives take arrays of {kinds}; got dtype {array.dtype}.")
    if array.ndim > MAX_DIMS:
        raise ValueError(f"Collectives take arrays of at most {MAX_DIMS} dimensions.")
    return array


def _unpack(head: np.ndarray) -> tuple[np.dtype[Any], tuple[int, ...]]:
    ndim, dtype = int(head[1]), int(head[2])  # one conversion of the shape, not one per dimension:
    return DTYPES[dtype], tuple(head[3 : 3 + ndim].tolist())  # collectives run every training step


def _gather(store: Store, key: str, world_size: int, timeout: _dt.timedelta) -> list[bytes]:
    keys = [f"{key}/{rank}" for rank in range(world_size)]
    store.wait(keys, timeout)
    return [store.get(k) for k in keys]
