"""PCA training: components against scikit-learn, randomized accuracy, ranks, sparse input, errors."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from simulated_world import ThreadWorld, run_ranks
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA as SklearnPCA

from sagespark.algorithms import ChannelData
from sagespark.algorithms.pca import PCA, PCAState
from sagespark.errors import DataFormatError, InvalidHyperparameterError


def _random_100d() -> np.ndarray:
    rng = np.random.default_rng(42)
    mixing = rng.normal(size=(100, 100)) * np.linspace(0.2, 3.0, 100)
    return (rng.normal(size=(2500, 100)) @ mixing + rng.normal(size=100) * 5).astype(np.float32)


DATASETS = {
    "digits": lambda: load_digits().data.astype(np.float32),
    "random100": _random_100d,
}


def _shards(x: np.ndarray | sp.csr_matrix, n: int) -> list[ChannelData]:
    bounds = np.linspace(0, x.shape[0], n + 1).astype(int)
    return [ChannelData(x[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(np.sum(a * b, axis=1)) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("ranks", [1, 2])
def test_regular_mode_matches_sklearn(dataset: str, ranks: int) -> None:
    x = DATASETS[dataset]()
    reference = SklearnPCA(n_components=10, svd_solver="full").fit(x.astype(np.float64))
    state: PCAState = run_ranks(PCA, _shards(x, ranks), {"num_components": 10}).state
    assert state.components.shape == (10, x.shape[1])
    assert _cosines(state.components, reference.components_).min() >= 0.9999
    np.testing.assert_allclose(state.explained_variance, reference.explained_variance_, rtol=1e-6)
    np.testing.assert_allclose(state.explained_variance_ratio, reference.explained_variance_ratio_, rtol=1e-6)
    np.testing.assert_allclose(state.singular_values, reference.singular_values_, rtol=1e-6)
    np.testing.assert_allclose(state.mean, reference.mean_, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(state.components @ state.components.T, np.eye(10), atol=1e-10)
    assert state.n_rows == x.shape[0]


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_randomized_mode_explained_variance_within_one_percent(dataset: str) -> None:
    x = DATASETS[dataset]()
    regular = run_ranks(PCA, _shards(x, 2), {"num_components": 10}).state
    randomized = run_ranks(PCA, _shards(x, 2), {"num_components": 10, "algorithm_mode": "randomized"}).state
    np.testing.assert_allclose(randomized.explained_variance, regular.explained_variance, rtol=0.01)
    assert randomized.explained_variance_ratio.sum() == pytest.approx(
        regular.explained_variance_ratio.sum(), rel=0.01)
    np.testing.assert_allclose(randomized.components @ randomized.components.T, np.eye(10), atol=1e-8)
    # The leading components, well separated on digits, are found too.
    if dataset == "digits":
        assert _cosines(randomized.components[:5], regular.components[:5]).min() >= 0.999


def test_randomized_mode_agrees_across_rank_counts() -> None:
    x = DATASETS["digits"]()
    hp = {"num_components": 5, "algorithm_mode": "randomized", "extra_components": 4}
    one = run_ranks(PCA, _shards(x, 1), hp).state
    three = run_ranks(PCA, _shards(x, 3), hp).state
    np.testing.assert_allclose(three.explained_variance, one.explained_variance, rtol=1e-8)
    assert _cosines(three.components, one.components).min() >= 1 - 1e-8


@pytest.mark.parametrize("mode", ["regular", "randomized"])
def test_sparse_and_dense_inputs_give_the_same_components(mode: str) -> None:
    x = DATASETS["digits"]()
    hp = {"num_components": 8, "algorithm_mode": mode, "mini_batch_size": 256}
    dense = run_ranks(PCA, _shards(x, 2), hp).state
    sparse = run_ranks(PCA, _shards(sp.csr_matrix(x), 2), hp).state
    np.testing.assert_allclose(sparse.components, dense.components, atol=1e-8)
    np.testing.assert_allclose(sparse.explained_variance, dense.explained_variance, rtol=1e-9)
    np.testing.assert_allclose(sparse.mean, dense.mean, atol=1e-9)


def test_components_are_sign_normalised() -> None:
    state = run_ranks(PCA, _shards(DATASETS["random100"](), 2), {"num_components": 6}).state
    pivots = state.components[np.arange(6), np.argmax(np.abs(state.components), axis=1)]
    assert (pivots > 0).all()


def test_without_mean_subtraction_components_are_right_singular_vectors() -> None:
    x = DATASETS["digits"]()
    state = run_ranks(PCA, _shards(x, 2), {"num_components": 4, "subtract_mean": False}).state
    _, s, vt = np.linalg.svd(x.astype(np.float64), full_matrices=False)
    assert _cosines(state.components, vt[:4]).min() >= 0.9999
    np.testing.assert_allclose(state.singular_values, s[:4], rtol=1e-8)
    assert not state.mean.any() and state.subtract_mean is False


def test_empty_shard_on_one_rank() -> None:
    x = DATASETS["digits"]()
    reference = run_ranks(PCA, _shards(x, 1), {"num_components": 5}).state
    for mode in ("regular", "randomized"):
        shards = [ChannelData(None), ChannelData(x), ChannelData(np.zeros((0, 64), np.float32))]
        state = run_ranks(PCA, shards, {"num_components": 5, "algorithm_mode": mode}).state
        assert _cosines(state.components, reference.components).min() >= 0.999


def test_logs_the_explained_variance() -> None:
    world = ThreadWorld(2)
    run_ranks(PCA, _shards(DATASETS["digits"](), 2), {"num_components": 3}, world=world)
    assert any("of the variance" in line for line in world.logs[0])


def test_errors() -> None:
    x = DATASETS["digits"]()
    with pytest.raises(InvalidHyperparameterError,
                       match=r"'num_components' parameter of PCA must be an int in the range \[1, 64\]"):
        run_ranks(PCA, _shards(x, 1), {"num_components": 65})
    with pytest.raises(DataFormatError, match="has 64 columns but feature_dim is 32"):
        run_ranks(PCA, _shards(x, 2), {"num_components": 2, "feature_dim": 32})
    with pytest.raises(DataFormatError, match="no rows"):
        run_ranks(PCA, [ChannelData(np.zeros((0, 4), np.float32))], {"num_components": 2, "feature_dim": 4})
    bad = x.copy()
    bad[1000, 3] = np.inf
    with pytest.raises(DataFormatError, match="row 100 "):  # row 1000 is row 100 of the second partition
        run_ranks(PCA, [ChannelData(bad[:900]), ChannelData(bad[900:])], {"num_components": 2})
