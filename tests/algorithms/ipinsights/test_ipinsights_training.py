"""IP Insights training without Spark: quality on a generated population, data parallelism, errors."""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ipinsights_population import Population, population  # noqa: E402
from simulated_world import ThreadContext, ThreadWorld, run_ranks  # noqa: E402

from sagespark.algorithms import ChannelData, get_algorithm  # noqa: E402
from sagespark.algorithms.ipinsights.evaluation import roc_auc  # noqa: E402
from sagespark.algorithms.ipinsights.predict import IPInsightsPredictor  # noqa: E402
from sagespark.algorithms.ipinsights.sampling import with_negatives  # noqa: E402
from sagespark.algorithms.ipinsights.train import _Discriminator, _step  # noqa: E402
from sagespark.distributed.context import LocalContext  # noqa: E402
from sagespark.errors import DataFormatError  # noqa: E402

ALGO = get_algorithm("ipinsights")
PARAMS = {"num_entity_vectors": 600, "vector_dim": 16, "epochs": 4, "mini_batch_size": 500,
          "learning_rate": 0.02}


def _channel(entity: np.ndarray, ip: np.ndarray) -> ChannelData:
    return ChannelData(None, columns={"entity": entity, "ip": ip})


@pytest.fixture(scope="module")
def pop() -> Population:
    return population(np.random.default_rng(0))


def _held_out_auc(state: Any, pop: Population) -> float:
    scores = IPInsightsPredictor(state).predict({"entity": pop.test_entity, "ip": pop.test_ip})
    return roc_auc(-scores["dot_product"], pop.test_anomalous)  # low dot product = anomalous


def test_detects_logins_from_outside_the_home_networks(pop: Population) -> None:
    normal = pop.test_anomalous == 0
    channels = {"train": _channel(pop.train_entity, pop.train_ip),
                "validation": _channel(pop.test_entity[normal], pop.test_ip[normal])}
    hp = ALGO.hyperparameters.from_dict(PARAMS)
    result = ALGO.train(LocalContext(), channels, hp)
    assert _held_out_auc(result.state, pop) >= 0.95
    assert result.metrics["validation:discriminator_auc"] >= 0.95


def test_two_ranks_reach_the_same_quality_and_stay_identical(pop: Population) -> None:
    world = ThreadWorld(2)
    half = len(pop.train_entity) * 2 // 5  # unequal shards: rank 1 draws extra batches
    shards = [_channel(pop.train_entity[:half], pop.train_ip[:half]),
              _channel(pop.train_entity[half:], pop.train_ip[half:])]
    hp = ALGO.hyperparameters.from_dict({**PARAMS, "mini_batch_size": 250})
    states: list[Any] = [None, None]

    def work(rank: int) -> None:
        states[rank] = ALGO.train(ThreadContext(world, rank), {"train": shards[rank]}, hp).state

    threads = [threading.Thread(target=work, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert states[0] is not None and states[1] is not None
    np.testing.assert_array_equal(states[0].entity_vectors, states[1].entity_vectors)
    np.testing.assert_array_equal(states[0].octet_embeddings, states[1].octet_embeddings)
    assert _held_out_auc(states[0], pop) >= 0.95


def test_a_synchronised_step_equals_one_large_batch_step() -> None:
    """Two ranks stepping on the halves of a batch make exactly the update of one rank on all of it."""
    hp = ALGO.hyperparameters.from_dict({"num_entity_vectors": 50, "vector_dim": 8, "learning_rate": 0.01,
                                         "num_ip_encoder_layers": 2})
    g = torch.Generator().manual_seed(1)
    entities, ips, labels = with_negatives(torch.randint(0, 50, (40,), generator=g),
                                           torch.randint(0, 1 << 32, (40,), generator=g),
                                           random_rate=1, shuffled_rate=1, generator=g)
    single = _Discriminator(LocalContext(), hp, torch.device("cpu"))
    loss, count = _step(LocalContext(), single, entities, ips, labels)

    world = ThreadWorld(2)
    models = [_Discriminator(LocalContext(), hp, torch.device("cpu")) for _ in range(2)]
    parts = [slice(0, 50), slice(50, 120)]
    results: list[Any] = [None, None]

    def work(rank: int) -> None:
        p = parts[rank]
        results[rank] = _step(ThreadContext(world, rank), models[rank], entities[p], ips[p], labels[p])

    threads = [threading.Thread(target=work, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == pytest.approx((loss, count)) and results[1] == results[0]
    for model in models:
        torch.testing.assert_close(model.entity_vectors, single.entity_vectors, rtol=1e-5, atol=1e-6)
        for a, b in zip(model.encoder.parameters(), single.encoder.parameters()):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_an_empty_shard_takes_part_without_failing(pop: Population) -> None:
    empty = _channel(np.empty(0, dtype=object), np.empty(0, dtype=object))
    hp = {**PARAMS, "epochs": 1}
    result = run_ranks(ALGO, [_channel(pop.train_entity, pop.train_ip), empty], hp)
    assert result.state.entity_vectors.shape == (600, 16)


def test_invalid_ip_in_training_names_channel_and_row() -> None:
    entity = np.array(["a", "b", "c"], dtype=object)
    ip = np.array(["1.2.3.4", "1.2.3.4", "1.2.3.400"], dtype=object)
    hp = ALGO.hyperparameters.from_dict({"num_entity_vectors": 4, "vector_dim": 4})
    with pytest.raises(DataFormatError, match=r"'ip \(train channel\)', row 2: '1.2.3.400'"):
        ALGO.train(LocalContext(), {"train": _channel(entity, ip)}, hp)
    with pytest.raises(DataFormatError, match=r"validation channel\)', row 2"):
        ALGO.train(LocalContext(), {"train": _channel(entity, ip[[0, 1, 0]]),
                                    "validation": _channel(entity, ip)}, hp)


def test_missing_input_column_is_a_clear_error() -> None:
    hp = ALGO.hyperparameters.from_dict({"num_entity_vectors": 4, "vector_dim": 4})
    data = ChannelData(None, columns={"entity": np.array(["a"], dtype=object)})
    with pytest.raises(DataFormatError, match="needs the string input 'ip'"):
        ALGO.train(LocalContext(), {"train": data}, hp)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_trains_on_a_cuda_device(pop: Population) -> None:
    hp = ALGO.hyperparameters.from_dict(PARAMS)
    train = _channel(pop.train_entity, pop.train_ip)
    result = ALGO.train(LocalContext(device="cuda:0"), {"train": train}, hp)
    assert _held_out_auc(result.state, pop) >= 0.95
