"""The vectorised anomaly score equals SageMaker's definition, computed the slow way, point by point."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp

from sagespark.algorithms.random_cut_forest import (
    Forest,
    RandomCutForestPredictor,
    anomaly_scores,
    build_forest,
)
from sagespark.errors import DataFormatError


def reference_score(forest: Forest, x: np.ndarray) -> float:
    """AWS randomcutforest's AnomalyScoreVisitor, followed literally: leaf first, then up to the root."""
    x = x.astype(np.float32).astype(np.float64)
    total = 0.0
    for root in forest.roots:
        path, node = [], int(root)
        while forest.feature[node] >= 0:
            path.append(node)
            f = forest.feature[node]
            node = int(forest.left[node] if x[f] <= forest.threshold[node] else forest.right[node])
        depth, tree_mass, leaf_mass = len(path), float(forest.mass[root]), float(forest.mass[node])
        if np.array_equal(x, forest.lower[node].astype(np.float64)):
            score = (1 - leaf_mass / (2 * tree_mass)) / (depth + math.log2(1 + leaf_mass))
            inside = True
        else:
            score, inside = 1.0 / (depth + 1), False
        for k in reversed(range(depth)):
            if inside:
                break
            lo, hi = forest.lower[path[k]].astype(np.float64), forest.upper[path[k]].astype(np.float64)
            new = np.maximum(hi, x) - np.minimum(lo, x)
            p = (new.sum() - (hi - lo).sum()) / new.sum()
            if p <= 0:
                inside = True
                continue
            score = p / (k + 1) + (1 - p) * score
        total += score * math.log2(1 + tree_mass)
    return total / forest.num_trees


@pytest.fixture(scope="module")
def forest_and_points() -> tuple[Forest, np.ndarray]:
    rng = np.random.default_rng(0)
    data = np.vstack([rng.normal(size=(300, 3)), np.repeat(rng.normal(size=(1, 3)), 20, axis=0)])
    data = data.astype(np.float32)
    samples = np.stack([data[rng.choice(len(data), 64, replace=False)] for _ in range(50)])
    forest = build_forest(samples, rng)
    queries = np.vstack([data[:40], data[-3:], rng.normal(scale=4.0, size=(30, 3)), samples[0, :10]])
    return forest, queries.astype(np.float32)


def test_vectorised_scores_equal_the_point_by_point_definition(
    forest_and_points: tuple[Forest, np.ndarray],
) -> None:
    forest, queries = forest_and_points
    expected = np.array([reference_score(forest, q) for q in queries])
    np.testing.assert_allclose(anomaly_scores(forest, queries), expected, rtol=2e-5)


def test_scores_do_not_depend_on_how_rows_are_chunked(
    forest_and_points: tuple[Forest, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sagespark.algorithms.random_cut_forest.scoring as scoring

    forest, queries = forest_and_points
    whole = anomaly_scores(forest, queries)
    monkeypatch.setattr(scoring, "ENTRIES_PER_CHUNK", 7 * forest.num_trees)
    np.testing.assert_array_equal(anomaly_scores(forest, queries), whole)


def test_single_leaf_tree_values() -> None:
    # Four identical points: one leaf of mass 4. Seen: damped 1/(0 + log2 5); unseen: 1/(0 + 1); × log2 5.
    forest = build_forest(np.zeros((1, 4, 2), dtype=np.float32), np.random.default_rng(0))
    scores = anomaly_scores(forest, np.array([[0.0, 0.0], [1.0, 0.0]]))
    np.testing.assert_allclose(scores, [0.5, math.log2(5)])


def test_two_point_tree_values() -> None:
    # Points 0 and 1 on a line: root box [0, 1], leaves at depth 1. A query at 3 grows the box to
    # length 3, so p = 2/3 at the root: s = 2/3 · 1 + 1/3 · 1/2; the score is s · log2(3).
    forest = build_forest(np.array([[[0.0], [1.0]]], dtype=np.float32), np.random.default_rng(0))
    got = anomaly_scores(forest, np.array([[3.0], [0.5], [1.0]]))
    seen = (1 - 1 / 4) / (1 + 1)  # leaf of mass 1 at depth 1 in a tree of mass 2
    expected = np.array([2 / 3 + 1 / 6, 1 / 2, seen]) * math.log2(3)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_far_points_score_higher_and_scores_grow_with_distance(
    forest_and_points: tuple[Forest, np.ndarray],
) -> None:
    forest, _ = forest_and_points
    line = np.outer([0.0, 2.0, 4.0, 8.0, 16.0], [1.0, 1.0, 1.0]).astype(np.float32)
    scores = anomaly_scores(forest, line)
    assert np.all(np.diff(scores) > 0)
    assert scores[0] < 1.2 < scores[-1]


def test_predictor_accepts_csr_and_checks_width_and_values(
    forest_and_points: tuple[Forest, np.ndarray],
) -> None:
    forest, queries = forest_and_points
    predictor = RandomCutForestPredictor(forest)
    dense = predictor.predict({"features": queries})["score"]
    np.testing.assert_array_equal(predictor.predict({"features": sp.csr_matrix(queries)})["score"], dense)
    assert predictor.feature_dim == 3
    with pytest.raises(DataFormatError, match="feature_dim=3"):
        predictor.predict({"features": np.zeros((2, 4), dtype=np.float32)})
    bad = queries.copy()
    bad[5, 1] = np.nan
    with pytest.raises(DataFormatError, match="row 5"):
        predictor.predict({"features": bad})
    with pytest.raises(DataFormatError, match="'features'"):
        predictor.predict({})
