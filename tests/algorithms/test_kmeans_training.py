"""K-Means training: quality against scikit-learn, ranks, sparse input, metrics and data errors."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment
from simulated_world import ThreadContext, ThreadWorld, run_ranks
from sklearn.cluster import KMeans as SklearnKMeans
from sklearn.datasets import load_digits, make_blobs

from sagespark.algorithms import ChannelData
from sagespark.algorithms.kmeans import KMeans
from sagespark.distributed.context import LocalContext
from sagespark.errors import DataFormatError, InvalidHyperparameterError


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_digits().data.astype(np.float32)


@pytest.fixture(scope="module")
def sklearn_inertia(digits: np.ndarray) -> float:
    return float(SklearnKMeans(n_clusters=10, n_init=10, random_state=0).fit(digits).inertia_)


def _wcss(x: np.ndarray, centers: np.ndarray) -> float:
    d2 = ((x[:, None, :].astype(np.float64) - centers[None, :, :]) ** 2).sum(axis=2)
    return float(d2.min(axis=1).sum())


def _shards(x: np.ndarray | sp.csr_matrix, n: int) -> list[ChannelData]:
    bounds = np.linspace(0, x.shape[0], n + 1).astype(int)
    return [ChannelData(x[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


@pytest.mark.parametrize("ranks", [1, 2])
def test_digits_within_two_percent_of_sklearn(digits: np.ndarray, sklearn_inertia: float, ranks: int) -> None:
    for seed in (0, 1, 2):
        hp = {"k": 10, "eval_metrics": '["msd","ssd"]'}
        result = run_ranks(KMeans, _shards(digits, ranks), hp, seed=seed)
        centers = result.state.centers
        assert centers.shape == (10, 64)
        wcss = _wcss(digits, centers)
        assert wcss <= 1.02 * sklearn_inertia, (seed, wcss / sklearn_inertia)
        # The reported metrics are the model's real train error.
        assert result.metrics["train:ssd"] == pytest.approx(wcss, rel=1e-9)
        assert result.metrics["train:msd"] == pytest.approx(wcss / digits.shape[0], rel=1e-9)


def test_one_and_two_ranks_agree(digits: np.ndarray) -> None:
    one = run_ranks(KMeans, _shards(digits, 1), {"k": 10})
    two = run_ranks(KMeans, _shards(digits, 2), {"k": 10})
    assert two.metrics["train:msd"] == pytest.approx(one.metrics["train:msd"], rel=0.01)

    blobs, _ = make_blobs(n_samples=3000, centers=6, n_features=5, cluster_std=0.5, random_state=3)
    blobs = blobs.astype(np.float32)
    a = run_ranks(KMeans, _shards(blobs, 1), {"k": 6}).state.centers
    b = run_ranks(KMeans, _shards(blobs, 2), {"k": 6}).state.centers
    cost = ((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)
    rows, cols = linear_sum_assignment(cost)
    assert np.sqrt(cost[rows, cols]).max() < 0.05


def test_every_rank_returns_the_same_model(digits: np.ndarray) -> None:
    world = ThreadWorld(2)
    shards = _shards(digits, 2)
    states: list[np.ndarray] = [np.empty(0), np.empty(0)]

    def work(rank: int) -> None:
        hp = KMeans.hyperparameters.from_dict({"k": 10})
        states[rank] = KMeans.train(ThreadContext(world, rank), {"train": shards[rank]}, hp).state.centers

    threads = [threading.Thread(target=work, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(states[0], states[1])


def test_sparse_input_matches_dense(digits: np.ndarray) -> None:
    dense = run_ranks(KMeans, _shards(digits, 2), {"k": 10, "mini_batch_size": 300})
    sparse = run_ranks(KMeans, _shards(sp.csr_matrix(digits), 2), {"k": 10, "mini_batch_size": 300})
    np.testing.assert_allclose(sparse.state.centers, dense.state.centers, rtol=1e-9, atol=1e-9)
    assert sparse.metrics["train:msd"] == pytest.approx(dense.metrics["train:msd"], rel=1e-9)


def test_empty_shard_on_one_rank(digits: np.ndarray, sklearn_inertia: float) -> None:
    shards = [ChannelData(digits), ChannelData(np.zeros((0, 64), np.float32)), ChannelData(None)]
    result = run_ranks(KMeans, shards, {"k": 10})
    assert _wcss(digits, result.state.centers) <= 1.02 * sklearn_inertia
    # Rank 0 may be the empty one, too.
    result = run_ranks(KMeans, [ChannelData(None), ChannelData(digits)], {"k": 10})
    assert result.state.centers.shape == (10, 64)
    assert _wcss(digits, result.state.centers) <= 1.02 * sklearn_inertia


def test_test_channel_metrics_and_per_epoch_logging(digits: np.ndarray) -> None:
    train, test = digits[:1500], digits[1500:]
    world = ThreadWorld(2)
    shards = [{"train": ChannelData(train[:700]), "test": ChannelData(test[:100])},
              {"train": ChannelData(train[700:]), "test": ChannelData(test[100:])}]
    result = run_ranks(KMeans, shards, {"k": 10, "epochs": 3, "mini_batch_size": 256,
                                        "eval_metrics": ["msd", "ssd"]}, world=world)
    ssd = _wcss(test, result.state.centers)
    assert result.metrics["test:ssd"] == pytest.approx(ssd, rel=1e-9)
    assert result.metrics["test:msd"] == pytest.approx(ssd / test.shape[0], rel=1e-9)
    assert set(result.metrics) == {"train:msd", "train:ssd", "test:msd", "test:ssd"}
    epochs = [e for name, _, e in world.metrics[0] if name == "train:msd" and e is not None]
    assert epochs == [1, 2, 3]
    logged = {name for name, _, e in world.metrics[0] if e is None}
    assert logged == set(result.metrics)


def test_default_metrics_are_msd_only(digits: np.ndarray) -> None:
    result = KMeans.train(LocalContext(), {"train": ChannelData(digits), "test": ChannelData(digits[:50])},
                          KMeans.hyperparameters.from_dict({"k": 5}))
    assert set(result.metrics) == {"train:msd", "test:msd"}


@pytest.mark.parametrize("options", [
    {"init_method": "kmeans++", "local_lloyd_init_method": "random"},
    {"half_life_time_size": 200, "mini_batch_size": 100, "epochs": 2},
    {"extra_center_factor": 1, "local_lloyd_num_trials": 1},
])
def test_hyperparameter_variants_still_cluster_well(digits: np.ndarray, sklearn_inertia: float,
                                                    options: dict[str, object]) -> None:
    result = run_ranks(KMeans, _shards(digits, 2), {"k": 10, **options})
    assert _wcss(digits, result.state.centers) <= 1.05 * sklearn_inertia


def test_k_larger_than_rows_is_rejected() -> None:
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    message = r"'k' parameter of KMeans must be at most the number of training rows \(5\)\. Got 6 instead"
    with pytest.raises(InvalidHyperparameterError, match=message):
        run_ranks(KMeans, [ChannelData(x)], {"k": 6})


def test_k_equal_to_rows_puts_a_centre_on_every_row() -> None:
    x = np.random.default_rng(0).normal(size=(6, 3)).astype(np.float32)
    result = run_ranks(KMeans, _shards(x, 2), {"k": 6})
    assert result.metrics["train:msd"] == pytest.approx(0.0, abs=1e-9)


def test_wrong_feature_dim_is_a_data_error(digits: np.ndarray) -> None:
    with pytest.raises(DataFormatError, match="has 64 columns but feature_dim is 10; expected 10 columns"):
        run_ranks(KMeans, [ChannelData(digits)], {"k": 3, "feature_dim": 10})
    with pytest.raises(DataFormatError, match=r"different widths across partitions \(63 and 64 columns\)"):
        run_ranks(KMeans, [ChannelData(digits[:100]), ChannelData(digits[100:200, :63])], {"k": 3})


@pytest.mark.parametrize("init", ["random", "kmeans++"])
def test_non_finite_values_name_the_row(digits: np.ndarray, init: str) -> None:
    bad = digits[:300].copy()
    bad[123, 5] = np.nan
    with pytest.raises(DataFormatError, match="row 123"):
        run_ranks(KMeans, [ChannelData(bad)], {"k": 3, "init_method": init})
    sparse = sp.csr_matrix(digits[:300])
    sparse.data[sparse.indptr[77]] = np.inf
    with pytest.raises(DataFormatError, match="row 77"):
        run_ranks(KMeans, [ChannelData(sparse)], {"k": 3, "mini_batch_size": 50})
