"""The rendezvous store: what ranks exchange through it, and a retried stage meeting a used store."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from sagespark.distributed.rendezvous import DriverStore, _bindable, _claim_rank, exchange
from sagespark.distributed.torch_context import connect_store


def test_exchange_returns_every_rank_message_in_rank_order() -> None:
    with DriverStore.open(world_size=3, host="127.0.0.1") as driver:
        host, port = driver.address.rsplit(":", 1)
        results: dict[int, list[dict[str, int]]] = {}

        def rank(r: int) -> None:
            results[r] = exchange(connect_store(host, int(port), 3), r, 3, {"rank": r, "rows": 10 * r})

        threads = [threading.Thread(target=rank, args=(r,)) for r in (2, 0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
    expected = [{"rank": r, "rows": 10 * r} for r in range(3)]
    assert results == {0: expected, 1: expected, 2: expected}


def test_a_world_of_one_exchanges_nothing() -> None:
    assert exchange(None, 0, 1, {"rank": 0}) == [{"rank": 0}]


def test_a_retried_attempt_cannot_take_a_seat_of_the_first() -> None:
    with DriverStore.open(world_size=2, host="127.0.0.1") as driver:
        host, port = driver.address.rsplit(":", 1)
        store = connect_store(host, int(port), 2)
        _claim_rank(store, 0, "41")
        _claim_rank(store, 0, "41")  # the same task asking again keeps its seat
        _claim_rank(store, 1, "42")
        with pytest.raises(RuntimeError, match=r"held by task 41 .*spark.sagespark.rendezvous=barrier"):
            _claim_rank(store, 0, "57")


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of the IPv4 sockets listening on ``port`` (from /proc/net/tcp, state 0A)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:
            found.add(".".join(str(b) for b in reversed(bytes.fromhex(address))))
    return found


def test_the_driver_store_of_a_local_master_listens_on_loopback_only() -> None:
    with DriverStore.open(world_size=2, host="127.0.0.1") as driver:
        assert driver.address == f"127.0.0.1:{driver.store.port}"
        assert _listening_addresses(driver.store.port) == {"127.0.0.1"}


def test_a_store_listens_on_the_task_address_when_it_is_this_machines() -> None:
    assert _bindable("127.0.0.1") == "127.0.0.1"
    # An address of another machine (TEST-NET-3) cannot be bound: every interface instead.
    assert _bindable("203.0.113.7") == "0.0.0.0"
