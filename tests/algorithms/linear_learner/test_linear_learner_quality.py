"""Linear Learner learns to the quality issue #5 names, on scikit-learn's bundled data, without Spark."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score, roc_auc_score
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulated_world import ThreadWorld, run_ranks  # noqa: E402

from sagespark.algorithms import ChannelData  # noqa: E402
from sagespark.algorithms.linear_learner import LinearLearner  # noqa: E402
from sagespark.distributed.context import LocalContext  # noqa: E402


def _fit(channels: dict[str, ChannelData], **params: object) -> object:
    hp = LinearLearner.hyperparameters.from_dict(params)
    return LinearLearner.train(LocalContext(), channels, hp)


def _data(x: np.ndarray, y: np.ndarray) -> ChannelData:
    return ChannelData(np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float64))


def test_breast_cancer_held_out_auc() -> None:
    x, y = load_breast_cancer(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    result = _fit({"train": _data(xtr, ytr), "test": _data(xte, yte)}, predictor_type="binary_classifier")
    out = result.state.predict({"features": xte.astype(np.float32)})
    assert roc_auc_score(yte, out["score"]) >= 0.99
    assert set(np.unique(out["predicted_label"])) == {0.0, 1.0}
    assert ((out["score"] >= 0) & (out["score"] <= 1)).all()
    # The reported metric is the held-out AUC of the same model (histogram resolution aside).
    assert abs(result.metrics["test:roc_auc_score"] - roc_auc_score(yte, out["score"])) < 2e-3
    accuracy = float((out["predicted_label"] == yte).mean())
    assert abs(result.metrics["test:binary_classification_accuracy"] - accuracy) < 1e-9


def test_digits_held_out_accuracy_with_validation_channel() -> None:
    x, y = load_digits(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    xfit, xval, yfit, yval = train_test_split(xtr, ytr, test_size=0.2, random_state=0, stratify=ytr)
    result = _fit(
        {"train": _data(xfit, yfit), "validation": _data(xval, yval), "test": _data(xte, yte)},
        predictor_type="multiclass_classifier",
        num_classes=10,
        mini_batch_size=100,
        epochs=20,
        num_models=8,
    )
    out = result.state.predict({"features": xte.astype(np.float32)})
    assert out["score"].shape == (len(yte), 10)
    np.testing.assert_allclose(out["score"].sum(axis=1), 1.0, rtol=1e-9)
    accuracy = float((out["predicted_label"] == yte).mean())
    assert accuracy >= 0.95
    assert abs(result.metrics["test:multiclass_accuracy"] - accuracy) < 1e-9
    assert result.metrics["test:multiclass_top_k_accuracy"] >= accuracy
    assert "validation:multiclass_accuracy" in result.metrics


def test_diabetes_held_out_r2_matches_ordinary_least_squares() -> None:
    x, y = load_diabetes(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=0)
    result = _fit({"train": _data(xtr, ytr), "test": _data(xte, yte)}, predictor_type="regressor")
    out = result.state.predict({"features": xte.astype(np.float32)})
    ours = r2_score(yte, out["score"])
    reference = r2_score(yte, LinearRegression().fit(xtr, ytr).predict(xte))
    assert ours >= reference - 0.02
    mse = float(np.mean((out["score"] - yte) ** 2))
    np.testing.assert_allclose(result.metrics["test:mse"], mse, rtol=1e-6)
    np.testing.assert_allclose(result.metrics["test:rmse"], np.sqrt(mse), rtol=1e-6)


def test_two_ranks_agree_with_each_other_and_with_one_rank() -> None:
    x, y = load_breast_cancer(return_X_y=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=1, stratify=y)
    half = len(ytr) // 2 + 7  # uneven shards: the ranks must still agree on every step
    shards = [_data(xtr[:half], ytr[:half]), _data(xtr[half:], ytr[half:])]
    # mini_batch_size (1000) exceeds the data: each step's global batch is all rows, whoever holds them,
    # so allreduced gradients must give the single-rank model.
    params = {"predictor_type": "binary_classifier", "num_models": 4}
    world = ThreadWorld(2)
    two = run_ranks(LinearLearner, shards, params, world=world)
    one = run_ranks(LinearLearner, [_data(xtr, ytr)], params)
    final = [[m for m in world.metrics[r] if m[2] is None] for r in range(2)]
    assert final[0] == final[1] and final[0]  # both ranks report the same metrics
    np.testing.assert_allclose(two.state.weights, one.state.weights, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(two.state.bias, one.state.bias, rtol=1e-3, atol=1e-6)
    out = two.state.predict({"features": xte.astype(np.float32)})
    assert roc_auc_score(yte, out["score"]) >= 0.99


def test_sparse_input_with_two_million_features_trains_without_densifying() -> None:
    rng = np.random.default_rng(3)
    rows, dim = 3000, 2_000_000
    cols = rng.integers(0, dim, size=(rows, 5))
    cols[:, 0] = rng.integers(0, 20, size=rows)  # 20 informative features, one per row
    x = sp.csr_matrix(
        (np.ones(rows * 5, dtype=np.float32), (np.repeat(np.arange(rows), 5), cols.ravel())),
        shape=(rows, dim),
    )
    effect = rng.normal(scale=3.0, size=20)
    y = (effect[cols[:, 0]] + rng.normal(scale=0.5, size=rows) > 0).astype(np.float64)
    params = {"predictor_type": "binary_classifier", "num_models": 2, "epochs": 8, "mini_batch_size": 100}
    shards = [ChannelData(x[:1600], y[:1600]), ChannelData(x[1600:2400], y[1600:2400])]
    result = run_ranks(LinearLearner, shards, params)  # two ranks exchange only the touched rows
    out = result.state.predict({"features": x[2400:]})
    assert result.state.feature_dim == dim
    assert roc_auc_score(y[2400:], out["score"]) >= 0.9
