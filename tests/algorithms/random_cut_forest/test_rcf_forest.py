"""Random cut trees: structure, cut distribution, packing between ranks, and the pickle-free artifact."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sagespark.algorithms.random_cut_forest import Forest, anomaly_scores, build_forest
from sagespark.algorithms.random_cut_forest.forest import FOREST_FILE
from sagespark.errors import ArtifactError


@pytest.fixture(scope="module")
def samples() -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.normal(size=(20, 40, 3)).astype(np.float32)
    base[:, 30:] = base[:, :1]  # ten duplicates of each tree's first point
    return base


def _leaf_of(forest: Forest, tree: int, point: np.ndarray) -> int:
    node = int(forest.roots[tree])
    while forest.feature[node] >= 0:
        f = forest.feature[node]
        node = int(forest.left[node] if point[f] <= forest.threshold[node] else forest.right[node])
    return node


def test_every_tree_partitions_its_sample(samples: np.ndarray) -> None:
    forest = build_forest(samples, np.random.default_rng(1))
    assert forest.num_trees == 20 and forest.feature_dim == 3
    for t in range(forest.num_trees):
        assert forest.mass[forest.roots[t]] == 40
        leaves = [_leaf_of(forest, t, p) for p in samples[t]]
        for point, leaf in zip(samples[t], leaves):
            np.testing.assert_array_equal(forest.lower[leaf], point)   # a leaf is its point
            np.testing.assert_array_equal(forest.upper[leaf], point)
        # Duplicates share one leaf whose mass counts them.
        assert forest.mass[leaves[0]] == 11
        assert sum(forest.mass[leaf] for leaf in set(leaves)) == 40


def test_internal_nodes_are_consistent(samples: np.ndarray) -> None:
    forest = build_forest(samples, np.random.default_rng(2))
    inner = np.flatnonzero(forest.feature >= 0)
    left, right, f = forest.left[inner], forest.right[inner], forest.feature[inner]
    np.testing.assert_array_equal(forest.mass[inner], forest.mass[left] + forest.mass[right])
    np.testing.assert_array_equal(forest.lower[inner], np.minimum(forest.lower[left], forest.lower[right]))
    np.testing.assert_array_equal(forest.upper[inner], np.maximum(forest.upper[left], forest.upper[right]))
    rows = np.arange(inner.size)
    # The cut lies between the two children's boxes along its dimension.
    assert np.all(forest.upper[left][rows, f] <= forest.threshold[inner])
    assert np.all(forest.lower[right][rows, f] > forest.threshold[inner])
    assert np.all(forest.threshold[inner] >= forest.lower[inner][rows, f])
    forest.check("built forest")


def test_cut_dimension_is_drawn_in_proportion_to_the_range() -> None:
    rng = np.random.default_rng(3)
    points = rng.uniform(size=(400, 2, 2)) * np.array([1.0, 9.0])   # ranges ≈ 1 and 9
    forest = build_forest(points.astype(np.float32), rng)
    root = forest.roots
    ranges = forest.upper[root] - forest.lower[root]
    share = ranges[:, 1] / ranges.sum(axis=1)
    observed = float(np.mean(forest.feature[root] == 1))
    assert abs(observed - share.mean()) < 0.05


def test_pack_round_trip_renumbers_nodes(samples: np.ndarray) -> None:
    a = build_forest(samples[:7], np.random.default_rng(4))
    b = build_forest(samples[7:], np.random.default_rng(5))
    joined = Forest.from_packed([a.pack(), b.pack()], [7, 13])
    joined.check("joined")
    assert joined.num_trees == 20 and joined.num_nodes == a.num_nodes + b.num_nodes
    x = np.random.default_rng(6).normal(size=(25, 3)).astype(np.float32)
    expected = (anomaly_scores(a, x) * 7 + anomaly_scores(b, x) * 13) / 20
    np.testing.assert_allclose(anomaly_scores(joined, x), expected, rtol=1e-6)


def test_save_load_round_trip_without_pickle(samples: np.ndarray, tmp_path: Path) -> None:
    forest = build_forest(samples, np.random.default_rng(7))
    forest.save(tmp_path)
    with np.load(tmp_path / FOREST_FILE, allow_pickle=False) as payload:
        assert all(payload[name].dtype != object for name in payload.files)
    loaded = Forest.load(tmp_path, feature_dim=3, num_trees=20)
    x = samples[0]
    np.testing.assert_array_equal(anomaly_scores(loaded, x), anomaly_scores(forest, x))


def test_load_rejects_missing_mismatched_or_corrupt_artifacts(samples: np.ndarray, tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="Cannot read"):
        Forest.load(tmp_path)
    forest = build_forest(samples, np.random.default_rng(8))
    forest.save(tmp_path)
    with pytest.raises(ArtifactError, match="feature_dim=4"):
        Forest.load(tmp_path, feature_dim=4)
    with pytest.raises(ArtifactError, match="num_trees=50"):
        Forest.load(tmp_path, num_trees=50)
    broken = Forest(**{k: getattr(forest, k).copy() for k in forest.__dataclass_fields__})
    broken.left[np.flatnonzero(broken.feature >= 0)[0]] = 0     # a cycle back to the root
    broken.save(tmp_path)
    with pytest.raises(ArtifactError, match="valid trees"):
        Forest.load(tmp_path)
    arrays = {k: getattr(forest, k) for k in forest.__dataclass_fields__}
    arrays["roots"] = np.array([object()], dtype=object)
    np.savez(tmp_path / FOREST_FILE, **arrays)    # an object array would need pickle to load
    with pytest.raises(ArtifactError):
        Forest.load(tmp_path)
