"""How the ranks of a training stage find each other: a TCP key-value store every rank connects to.

Two ways to reach the store, picked on the driver with ``spark.sagespark.rendezvous``:

``driver`` (the default)
    The driver opens the store before the stage starts and its address travels in the task spec, so a
    rank connects the moment it starts. Executors must be able to open a TCP connection to the driver
    on a port the OS picks.
``barrier``
    Rank 0 opens the store and the ranks swap its address with one ``BarrierTaskContext.allGather``.
    That works wherever Spark itself works, but a barrier call in Spark returns only after its task's
    next one-second poll of the coordinator, so it costs up to a second; the gather runs on a thread
    while the task reads its data, hiding what it can.

Everything else the ranks exchange before training (:func:`exchange`) goes through the store, in
milliseconds.

Examples
--------
>>> from sagespark.distributed.rendezvous import DriverStore
>>> with DriverStore.open(world_size=2, host="127.0.0.1") as store:      # doctest: +SKIP
...     store.address
'127.0.0.1:40123'
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from dataclasses import dataclass
from types import TracebackType
from typing import Any

__all__ = ["RENDEZVOUS_CONF", "DriverStore", "Rendezvous", "exchange"]

RENDEZVOUS_CONF = "spark.sagespark.rendezvous"
"""Spark conf: ``driver`` (default) or ``barrier``; see the module docstring."""
CONNECT_TIMEOUT = dt.timedelta(seconds=60)


@dataclass
class DriverStore:
    """The store the driver holds open for one training stage (a context manager)."""

    store: Any
    address: str

    @classmethod
    def open(cls, world_size: int, host: str, bind: str | None = None) -> DriverStore:
        """Listen on ``bind`` (default ``host``) at a port the OS picks; executors reach it at ``host``."""
        from sagespark.distributed.torch_context import create_master_store

        store = create_master_store(world_size, bind=bind or host)
        return cls(store, f"{host}:{store.port}")

    def close(self) -> None:
        self.store = None  # the server stops when the last reference goes

    def __enter__(self) -> DriverStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Rendezvous:
    """One rank's way to the store: the driver's address, or rank 0's through a barrier gather.

    Create it when the task starts and call :meth:`store` once the data is read.

    Parameters
    ----------
    task : pyspark.BarrierTaskContext
        This task's context: its attempt id claims the rank's seat in the driver's store; in
        ``barrier`` mode it also runs the gather.
    rank, world_size : int
        This rank and the number of ranks.
    address : str or None
        ``host:port`` of the driver's store; ``None`` for ``barrier`` mode.
    timeout : datetime.timedelta
        How long store operations wait for the other ranks.
    """

    def __init__(
        self, task: Any, rank: int, world_size: int, address: str | None, timeout: dt.timedelta
    ) -> None:
        self._task, self._rank, self._world_size = task, rank, world_size
        self._address, self._timeout = address, timeout
        self._store: Any = None
        self._gathered: list[str] = []
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        if world_size == 1 or address is not None:
            return
        if rank == 0:
            from sagespark.distributed.torch_context import create_master_store

            # Listen where Spark reaches this task (its own address), on a port the OS picks.
            host = task.getTaskInfos()[0].address.rsplit(":", 1)[0]
            self._store = create_master_store(world_size, timeout, bind=_bindable(host))
        # Daemon: a task that fails while reading must not wait for a gather that will never finish.
        self._thread = threading.Thread(target=self._gather, name="sagespark-rendezvous", daemon=True)
        self._thread.start()

    def _gather(self) -> None:
        try:
            address = ""
            if self._store is not None:
                host = self._task.getTaskInfos()[0].address.rsplit(":", 1)[0]
                address = f"{host}:{self._store.port}"
            message = json.dumps({"rank": self._rank, "address": address})
            self._gathered = list(self._task.allGather(message))
        except BaseException as err:  # re-raised on the task's own thread by store()
            self._error = err

    def store(self) -> Any:
        """The rendezvous store, connected (``None`` for a world of one)."""
        from sagespark.distributed.torch_context import connect_store

        if self._world_size == 1:
            return None
        if self._address is not None:
            if self._store is None:
                store = _connect_to_driver(self._address, self._world_size)
                store.set_timeout(self._timeout)
                _claim_rank(store, self._rank, str(self._task.taskAttemptId()))
                self._store = store
            return self._store
        assert self._thread is not None
        self._thread.join()
        if self._error is not None:
            raise self._error
        if self._store is None:
            found = [json.loads(m) for m in self._gathered]
            host, port = next(m["address"] for m in found if m["rank"] == 0).rsplit(":", 1)
            self._store = connect_store(host, int(port), self._world_size, self._timeout)
        return self._store


def _bindable(host: str) -> str:
    """``host`` as an address this machine can listen on: itself, or every interface if it is a name
    that resolves elsewhere (a NAT'd or aliased executor address)."""
    import socket

    try:
        probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        with probe:
            probe.bind((host, 0))
        return host
    except OSError:
        return "0.0.0.0"


def _connect_to_driver(address: str, world_size: int) -> Any:
    from sagespark.distributed.torch_context import connect_store

    host, port = address.rsplit(":", 1)
    try:
        # A short connect timeout: a driver the executors cannot reach should fail the fit in a minute
        # with advice, not after the collectives' half hour.
        return connect_store(host, int(port), world_size, CONNECT_TIMEOUT)
    except Exception as err:
        raise ConnectionError(
            f"Could not reach the driver's rendezvous store at {address} ({err}). If executors cannot "
            f"open connections to the driver, set {RENDEZVOUS_CONF}=barrier."
        ) from err


def _claim_rank(store: Any, rank: int, task_id: str) -> None:
    """Take this rank's seat in the driver's store, or fail if an earlier attempt of the stage took it.

    The driver's store serves one attempt of the stage: a retry (Spark re-runs a barrier stage whose
    task failed) would find the views and gloo addresses of the dead attempt and hang until the timeout.
    Python tasks cannot see the stage's attempt number, so the first task to sit in a rank's seat keeps
    it and a later one fails at once, leaving the first attempt's error as the job's cause.
    """
    seat = f"sagespark/seat/{rank}"
    holder = store.compare_set(seat, "", task_id).decode()
    if holder != task_id:
        raise RuntimeError(
            f"Rank {rank}'s seat in the driver's rendezvous store is held by task {holder} of an earlier "
            f"attempt of this stage; a retried training stage needs {RENDEZVOUS_CONF}=barrier."
        )


def exchange(store: Any, rank: int, world_size: int, message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every rank's ``message`` (JSON-able), in rank order, through the store (``None``: a world of one)."""
    if store is None:
        return [message]
    store.set(f"sagespark/view/{rank}", json.dumps(message))
    keys = [f"sagespark/view/{r}" for r in range(world_size)]
    store.wait(keys)
    return [json.loads(store.get(key)) for key in keys]
