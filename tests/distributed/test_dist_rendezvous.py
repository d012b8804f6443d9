"""The rendezvous store: what ranks exchange through it, and a retried stage meeting a used store."""

from __future__ import annotations

import threading

import pytest

from sagespark.distributed.rendezvous import DriverStore, _claim_rank, exchange
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
