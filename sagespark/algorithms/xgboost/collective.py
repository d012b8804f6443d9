"""XGBoost's own collective inside a sagespark training world.

Rank 0 starts XGBoost's :class:`~xgboost.tracker.RabitTracker` on its own address; the tracker's host and
port reach the other ranks through the training context's ``broadcast`` (a JSON text as a uint8 array),
and every rank then joins with :class:`xgboost.collective.CommunicatorContext`, its sagespark rank as the
task id (the tracker sorts by task, so XGBoost's ranks are sagespark's). No data passes through this
channel: each rank builds its matrices from its own shard, and XGBoost's allreduce does the rest.

The ranks also tell each other their host names, which settles two things: the tracker address
(loopback when every rank shares one host; otherwise the interface through which rank 0 reaches the
others) and how many ranks share each host (so ``nthread="auto"`` splits the host's cores fairly).

Examples
--------
>>> from sagespark.distributed.context import LocalContext
>>> with xgboost_world(LocalContext()) as world:
...     world.ranks_on_host
1
"""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sagespark.distributed.context import TrainContext

__all__ = ["World", "xgboost_world", "tracker_host", "TRACKER_HOST_ENV"]

TRACKER_HOST_ENV = "SAGESPARK_XGBOOST_TRACKER_HOST"
"""Overrides the address rank 0's tracker listens on (for hosts with several networks)."""

DEFAULT_TIMEOUT_S = 1800
"""How long the tracker waits for every rank to join, and for them to leave."""


@dataclass(frozen=True)
class World:
    """What a rank knows about the XGBoost world it joined."""

    rank: int
    world_size: int
    ranks_on_host: int
    tracker: dict[str, Any]


def _text_array(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()


def _array_text(array: np.ndarray) -> str:
    return np.asarray(array, dtype=np.uint8).tobytes().decode("utf-8")


def _outgoing_address(peer: str) -> str | None:
    """The local address used to reach ``peer`` (a UDP socket connect sends no packet)."""
    try:
        target = socket.gethostbyname(peer)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect((target, 9))
            address = str(probe.getsockname()[0])
    except OSError:
        return None
    return None if address.startswith("0.") else address


def tracker_host(own_host: str, hosts: list[str]) -> str:
    """The address rank 0's tracker should listen on, given every rank's host name.

    Examples
    --------
    >>> tracker_host("node-a", ["node-a", "node-a"])
    '127.0.0.1'
    """
    override = os.environ.get(TRACKER_HOST_ENV, "").strip()
    if override:
        return override
    others = [h for h in hosts if h != own_host]
    if not others:
        return "127.0.0.1"  # one host: loopback always works, whatever the network looks like
    address = _outgoing_address(others[0])
    if address is not None:
        return address
    return socket.gethostbyname(own_host)


def _start_tracker(world_size: int, host: str, timeout_s: int) -> tuple[Any, dict[str, Any]]:
    from xgboost.tracker import RabitTracker

    tracker = RabitTracker(n_workers=world_size, host_ip=host, sortby="task", timeout=timeout_s)
    tracker.start()
    return tracker, dict(tracker.worker_args())


def _retire(tracker: Any, timeout_s: int) -> None:
    """Wait for the tracker to see every worker leave, off the training thread, then free it."""

    def wait() -> None:
        try:
            tracker.wait_for(timeout_s)
        except Exception:  # a tracker whose workers failed: nothing left to report to
            pass
        finally:
            tracker.free()

    threading.Thread(target=wait, name="xgboost-tracker", daemon=True).start()


@contextmanager
def xgboost_world(ctx: TrainContext, *, timeout_s: int = DEFAULT_TIMEOUT_S) -> Iterator[World]:
    """Join every rank of ``ctx`` in one XGBoost communicator for the duration of the block.

    A world of one needs no communicator. Must be entered by every rank of ``ctx`` together (it uses
    ``ctx``'s collectives).

    Examples
    --------
    >>> with xgboost_world(ctx) as world:                 # doctest: +SKIP
    ...     booster = xgboost.train(params, dtrain, 100)   # synchronised across ranks
    """
    own = socket.gethostname()
    if ctx.world_size == 1:
        yield World(ctx.rank, 1, 1, {})
        return
    hosts = [_array_text(a) for a in ctx.allgather(_text_array(own))]
    tracker = None
    message = None
    if ctx.rank == 0:
        tracker, args = _start_tracker(ctx.world_size, tracker_host(own, hosts), timeout_s)
        message = _text_array(json.dumps(args))
    try:
        args = json.loads(_array_text(ctx.broadcast(message, src=0)))
        ctx.log(f"joining the XGBoost collective at {args.get('dmlc_tracker_uri')}:"
                f"{args.get('dmlc_tracker_port')} as rank {ctx.rank} of {ctx.world_size}")
        from xgboost import collective

        with collective.CommunicatorContext(dmlc_task_id=str(ctx.rank), **args):
            yield World(ctx.rank, ctx.world_size, hosts.count(own), args)
    finally:
        if tracker is not None:
            _retire(tracker, timeout_s)
