"""k-NN quality without Spark: scikit-learn agreement, metrics, dimension reduction, IVFPQ."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor, NearestNeighbors

from sagespark.algorithms import ChannelData
from sagespark.algorithms.knn import KNN, KNNPredictor
from sagespark.distributed.context import LocalContext
from sagespark.hyperparams import Hyperparameters


def _hp(**values: object) -> Hyperparameters:
    return KNN.hyperparameters.from_dict({"sample_size": 100_000, **values})


def _fit(x: np.ndarray, y: np.ndarray, hp: Hyperparameters, test: tuple[np.ndarray, np.ndarray] | None = None
         ) -> tuple[KNNPredictor, dict[str, float]]:
    data = {"train": ChannelData(x.astype(np.float32), y.astype(np.float64))}
    if test is not None:
        data["test"] = ChannelData(test[0].astype(np.float32), test[1].astype(np.float64))
    hp = KNN.infer_hyperparameters(hp, data["train"])
    result = KNN.train(LocalContext(), data, hp)
    return KNNPredictor(result.state), result.metrics


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x, y = load_digits(return_X_y=True)
    return tuple(train_test_split(x, y.astype(np.float64), test_size=0.3, random_state=0))  # type: ignore


def _ambiguous_rows(train: np.ndarray, labels: np.ndarray, test: np.ndarray, k: int) -> np.ndarray:
    """Rows whose k-NN answer is not unique: a distance tie at the k-th neighbour, or a vote tie."""
    dist, idx = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(train).kneighbors(test)
    boundary_tie = np.isclose(dist[:, k - 1], dist[:, k], rtol=0, atol=1e-9)
    votes = np.array([np.sort(np.unique(labels[row[:k]], return_counts=True)[1])[::-1] for row in idx],
                     dtype=object)
    vote_tie = np.array([len(c) > 1 and c[0] == c[1] for c in votes])
    return boundary_tie | vote_tie


@pytest.mark.parametrize("k", [1, 5, 10])
def test_flat_index_reproduces_sklearn_classifier_on_digits(digits: tuple[np.ndarray, ...], k: int) -> None:
    x_train, x_test, y_train, y_test = digits
    predictor, metrics = _fit(x_train, y_train, _hp(k=k, predictor_type="classifier"), (x_test, y_test))
    ours = predictor.predict({"features": x_test})["predicted_label"]
    theirs = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(x_train, y_train).predict(x_test)
    ambiguous = _ambiguous_rows(x_train, y_train, x_test, k)
    assert ambiguous.mean() < 0.05
    np.testing.assert_array_equal(ours[~ambiguous], theirs[~ambiguous])
    # test:accuracy is the accuracy of exactly these predictions
    assert metrics["test:accuracy"] == pytest.approx(float((ours == y_test).mean()))
    assert metrics["test:accuracy"] > 0.97


def test_vote_ties_go_to_the_smallest_label_as_in_sklearn() -> None:
    # Two neighbours at equal vote: classes 7 and 3 -> 3, as KNeighborsClassifier answers.
    x = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([7.0, 3.0, 7.0, 3.0])
    query = np.array([[1.4]])  # neighbours 1.0 (3) and 2.0 (7)
    predictor, _ = _fit(x, y, _hp(k=2, predictor_type="classifier"))
    sklearn = KNeighborsClassifier(n_neighbors=2).fit(x, y).predict(query)
    assert predictor.predict({"features": query})["predicted_label"].tolist() == sklearn.tolist() == [3.0]


def test_regressor_is_the_neighbour_mean_and_reports_test_mse(digits: tuple[np.ndarray, ...]) -> None:
    x_train, x_test, y_train, y_test = digits
    target_train, target_test = x_train[:, 20] + y_train, x_test[:, 20] + y_test
    features_train, features_test = np.delete(x_train, 20, axis=1), np.delete(x_test, 20, axis=1)
    predictor, metrics = _fit(features_train, target_train, _hp(k=5, predictor_type="regressor"),
                              (features_test, target_test))
    ours = predictor.predict({"features": features_test})["predicted_label"]
    theirs = KNeighborsRegressor(n_neighbors=5, algorithm="brute").fit(features_train, target_train).predict(
        features_test)
    dist = NearestNeighbors(n_neighbors=6).fit(features_train).kneighbors(features_test)[0]
    unique = ~np.isclose(dist[:, 4], dist[:, 5], rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours[unique], theirs[unique], rtol=1e-12)
    assert metrics["test:mse"] == pytest.approx(float(((ours - target_test) ** 2).mean()))


def test_verbose_outputs_are_sorted_neighbours_with_their_labels(digits: tuple[np.ndarray, ...]) -> None:
    x_train, x_test, y_train, _ = digits
    predictor, _ = _fit(x_train, y_train, _hp(k=4, predictor_type="classifier"))
    out = predictor.predict({"features": x_test[:50]}, verbose=True)
    dist, idx = NearestNeighbors(n_neighbors=4, algorithm="brute").fit(x_train).kneighbors(x_test[:50])
    assert out["distances"].shape == out["labels"].shape == (50, 4)
    assert (np.diff(out["distances"], axis=1) >= 0).all()  # L2: smallest first, as SageMaker documents
    np.testing.assert_allclose(out["distances"], dist**2, rtol=1e-5)  # squared L2, as faiss reports it
    np.testing.assert_array_equal(np.sort(out["labels"], axis=1), np.sort(y_train[idx], axis=1))
    assert set(predictor.predict({"features": x_test[:2]})) == {"predicted_label"}


@pytest.mark.parametrize("metric", ["INNER_PRODUCT", "COSINE"])
@pytest.mark.parametrize("index_type", ["faiss.Flat", "faiss.IVFFlat"])
def test_inner_product_and_cosine_find_the_most_similar_points(metric: str, index_type: str) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(3000, 16)) * rng.uniform(0.2, 3.0, size=(3000, 1))  # norms vary: IP ≠ cosine
    y = rng.integers(0, 4, 3000).astype(np.float64)
    queries = rng.normal(size=(200, 16))
    hp = _hp(k=5, predictor_type="classifier", index_metric=metric, index_type=index_type)
    predictor, _ = _fit(x, y, hp)
    out = predictor.predict({"features": queries}, verbose=True)
    if metric == "COSINE":
        scores = (queries / np.linalg.norm(queries, axis=1, keepdims=True)) @ (
            x / np.linalg.norm(x, axis=1, keepdims=True)).T
    else:
        scores = queries @ x.T
    best = np.argsort(-scores, axis=1)[:, :5]
    expected = np.take_along_axis(scores, best, axis=1)
    assert (np.diff(out["distances"], axis=1) <= 1e-6).all()  # similarities: largest first
    if index_type == "faiss.Flat":
        np.testing.assert_allclose(out["distances"], expected, rtol=1e-4, atol=1e-4)
        np.testing.assert_array_equal(out["labels"], y[best])
    else:
        _, ids = predictor.neighbours(queries)
        recall = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(ids.tolist(), best.tolist())])
        assert recall >= 0.95


@pytest.mark.parametrize("kind", ["sign", "fjlt"])
def test_dimension_reduction_keeps_accuracy(digits: tuple[np.ndarray, ...], kind: str) -> None:
    x_train, x_test, y_train, y_test = digits
    hp = _hp(k=5, predictor_type="classifier", dimension_reduction_type=kind, dimension_reduction_target=32)
    predictor, metrics = _fit(x_train, y_train, hp, (x_test, y_test))
    assert predictor.state.index.d == 32 and predictor.feature_dim == 64
    full = KNeighborsClassifier(n_neighbors=5).fit(x_train, y_train).score(x_test, y_test)
    assert metrics["test:accuracy"] >= full - 0.03  # 64 → 32 dimensions costs little
    assert metrics["test:accuracy"] >= 0.95


def test_ivfpq_pads_to_a_multiple_of_m_and_stays_accurate(digits: tuple[np.ndarray, ...]) -> None:
    x_train, x_test, y_train, y_test = digits
    keep = np.arange(62)  # 62 features, m=8: SageMaker pads the vectors to 64
    hp = _hp(k=5, predictor_type="classifier", index_type="faiss.IVFPQ", faiss_index_pq_m=8,
             faiss_index_ivf_nlists=16)
    predictor, metrics = _fit(x_train[:, keep], y_train, hp, (x_test[:, keep], y_test))
    assert predictor.state.index.d == 64 and predictor.feature_dim == 62
    assert metrics["test:accuracy"] >= 0.9


def test_ivfpq_with_reduction_raises_the_target_to_a_multiple_of_m(digits: tuple[np.ndarray, ...]) -> None:
    x_train, x_test, y_train, y_test = digits
    hp = _hp(k=5, predictor_type="classifier", index_type="faiss.IVFPQ", faiss_index_pq_m=8,
             faiss_index_ivf_nlists=8, dimension_reduction_type="fjlt", dimension_reduction_target=30)
    predictor, metrics = _fit(x_train, y_train, hp, (x_test, y_test))
    reduction = predictor.state.embedding.reduction
    assert reduction is not None and reduction.output_dim == 32 and predictor.state.index.d == 32
    assert metrics["test:accuracy"] >= 0.85
