"""XGBoost learns to SageMaker-container quality on real data, in one process and across ranks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from sagespark.algorithms import ChannelData, get_algorithm
from sagespark.algorithms.xgboost import XGBoost, XGBoostPredictor
from sagespark.algorithms.xgboost.train import XGBoostState
from sagespark.distributed.context import LocalContext

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/algorithms: the simulated world

from simulated_world import ThreadWorld, run_ranks  # noqa: E402

ALGO = get_algorithm("xgboost")


def _channel(x: np.ndarray, y: np.ndarray) -> ChannelData:
    return ChannelData(np.ascontiguousarray(x, dtype=np.float32), np.asarray(y, dtype=np.float64))


def _predictor(state: XGBoostState) -> XGBoostPredictor:
    import xgboost

    booster = xgboost.Booster()
    booster.load_model(bytearray(state.model))
    return XGBoostPredictor(booster, state.info["objective"], state.info["num_class"])


def _fit(data: dict[str, ChannelData], **params: object) -> tuple[XGBoostState, dict[str, float]]:
    hp = ALGO.hyperparameters.from_dict({"nthread": 1, **params})
    result = ALGO.train(LocalContext(), data, hp)
    return result.state, result.metrics


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, ...]:
    x, y = load_breast_cancer(return_X_y=True)
    return tuple(train_test_split(x, y, test_size=0.3, random_state=0, stratify=y))


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    x, y = load_digits(return_X_y=True)
    return tuple(train_test_split(x, y, test_size=0.3, random_state=0, stratify=y))


def test_breast_cancer_auc_and_sagemaker_metric_names(cancer: tuple[np.ndarray, ...]) -> None:
    x_tr, x_te, y_tr, y_te = cancer
    state, metrics = _fit(
        {"train": _channel(x_tr, y_tr), "validation": _channel(x_te, y_te)},
        num_round=60, objective="binary:logistic", eta=0.2, eval_metric=["logloss", "auc"],
    )
    assert set(metrics) == {"train:logloss", "train:auc", "validation:logloss", "validation:auc"}
    out = _predictor(state).predict({"features": x_te.astype(np.float32)}, verbose=True)
    assert roc_auc_score(y_te, out["score"]) >= 0.98
    assert metrics["validation:auc"] == pytest.approx(roc_auc_score(y_te, out["score"]), abs=1e-6)
    # SageMaker's selectable content: label = p > 0.5, probabilities = [1 - p, p].
    np.testing.assert_array_equal(out["predicted_label"], (out["score"] > 0.5).astype(float))
    np.testing.assert_allclose(out["probabilities"], np.column_stack([1 - out["score"], out["score"]]))
    assert set(out) == {"score", "predicted_label", "probabilities"}
    assert set(_predictor(state).predict({"features": x_te.astype(np.float32)})) == {"score"}


def test_metrics_are_logged_every_round() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([1.0, -2.0, 0.5])
    world = ThreadWorld(1)
    run_ranks(ALGO, [{"train": _channel(x[:150], y[:150]), "validation": _channel(x[150:], y[150:])}],
              {"num_round": 7, "nthread": 1}, world=world)
    logged = world.metrics[0]
    rounds = [e for n, _, e in logged if n == "validation:rmse"]
    assert rounds == list(range(7))
    train_rmse = [v for n, v, _ in logged if n == "train:rmse"]
    assert len(train_rmse) == 7 and train_rmse[-1] < train_rmse[0]


def test_regression_beats_the_mean_by_far() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 2, size=(2000, 5))
    y = np.sin(2 * x[:, 0]) + x[:, 1] ** 2 - 0.5 * x[:, 2] + rng.normal(scale=0.1, size=2000)
    state, metrics = _fit({"train": _channel(x[:1500], y[:1500]), "validation": _channel(x[1500:], y[1500:])},
                          num_round=200, eta=0.1, max_depth=4)
    pred = _predictor(state).predict({"features": x[1500:].astype(np.float32)}, verbose=True)
    rmse = float(np.sqrt(np.mean((pred["score"] - y[1500:]) ** 2)))
    assert rmse < 0.25 * float(np.std(y[1500:]))
    assert metrics["validation:rmse"] == pytest.approx(rmse, rel=1e-4)
    assert set(pred) == {"score"}  # a regressor has no label or class probabilities
    assert [f.name for f in XGBoost.output_fields({"objective": "reg:squarederror"})] == ["score"]


def test_multi_softprob_on_digits(digits: tuple[np.ndarray, ...]) -> None:
    x_tr, x_te, y_tr, y_te = digits
    state, metrics = _fit({"train": _channel(x_tr, y_tr), "validation": _channel(x_te, y_te)},
                          num_round=40, objective="multi:softprob", num_class=10)
    assert {"train:mlogloss", "validation:mlogloss"} <= set(metrics)
    out = _predictor(state).predict({"features": x_te.astype(np.float32)}, verbose=True)
    assert out["probabilities"].shape == (len(y_te), 10)
    np.testing.assert_allclose(out["probabilities"].sum(axis=1), 1.0, rtol=1e-5)
    assert np.mean(out["predicted_label"] == y_te) >= 0.9
    np.testing.assert_allclose(out["score"], out["probabilities"].max(axis=1))


def test_multi_softmax_scores_the_class(digits: tuple[np.ndarray, ...]) -> None:
    x_tr, x_te, y_tr, y_te = digits
    state, metrics = _fit({"train": _channel(x_tr, y_tr)}, num_round=20, objective="multi:softmax",
                          num_class=10)
    assert "train:mlogloss" in metrics
    out = _predictor(state).predict({"features": x_te.astype(np.float32)}, verbose=True)
    assert set(np.unique(out["score"])) <= set(range(10))
    assert np.mean(out["score"] == y_te) >= 0.9
    np.testing.assert_array_equal(out["probabilities"].argmax(axis=1), out["score"])


def test_two_ranks_through_the_real_collective_match_one_process(digits: tuple[np.ndarray, ...]) -> None:
    # Digits hold at most 17 distinct values per feature, so the merged quantile sketch is exact and the
    # two-rank booster must equal the single-process one up to summation order.
    x_tr, x_te, y_tr, _ = digits
    params = {"num_round": 15, "objective": "multi:softprob", "num_class": 10, "nthread": 1}
    single = ALGO.train(LocalContext(), {"train": _channel(x_tr, y_tr)},
                        ALGO.hyperparameters.from_dict(params))
    world = ThreadWorld(2)
    shards = [_channel(x_tr[r::2], y_tr[r::2]) for r in range(2)]
    double = run_ranks(ALGO, shards, params, world=world)
    assert any("joining the XGBoost collective" in line for line in world.logs[1])
    assert world.metrics[0] == world.metrics[1]  # every rank sees the same allreduced metrics
    assert double.metrics["train:mlogloss"] == pytest.approx(single.metrics["train:mlogloss"], rel=1e-5)
    features = x_te.astype(np.float32)
    np.testing.assert_allclose(_predictor(double.state).predict({"features": features})["score"],
                               _predictor(single.state).predict({"features": features})["score"], atol=1e-5)


def test_a_rank_with_an_empty_shard_still_trains(cancer: tuple[np.ndarray, ...]) -> None:
    x_tr, x_te, y_tr, y_te = cancer
    empty = _channel(np.empty((0, x_tr.shape[1])), np.empty(0))
    result = run_ranks(ALGO, [_channel(x_tr, y_tr), empty],
                       {"num_round": 20, "objective": "binary:logistic", "nthread": 1})
    score = _predictor(result.state).predict({"features": x_te.astype(np.float32)})["score"]
    assert roc_auc_score(y_te, score) >= 0.97


def test_early_stopping_keeps_the_best_rounds(cancer: tuple[np.ndarray, ...]) -> None:
    x_tr, x_te, y_tr, y_te = cancer
    world = ThreadWorld(1)
    result = run_ranks(
        ALGO, [{"train": _channel(x_tr, y_tr), "validation": _channel(x_te, y_te)}],
        {"num_round": 500, "objective": "binary:logistic", "eta": 0.5, "eval_metric": ["logloss"],
         "early_stopping_rounds": 5, "nthread": 1},
        world=world,
    )
    logged = [v for n, v, _ in world.metrics[0] if n == "validation:logloss"]
    kept = result.state.info["rounds"]
    assert kept < len(logged) < 500  # stopped early, and only the best rounds were kept
    assert len(logged) - kept == 5
    assert result.metrics["validation:logloss"] == pytest.approx(min(logged))


def test_sparse_input_and_other_boosters() -> None:
    rng = np.random.default_rng(3)
    dense = rng.normal(size=(300, 6)) * (rng.uniform(size=(300, 6)) < 0.5)
    y = (dense[:, 0] - dense[:, 1] > 0).astype(float)
    csr = sp.csr_matrix(dense.astype(np.float32))
    for extra in ({}, {"booster": "dart", "rate_drop": 0.1, "one_drop": 1}, {"booster": "gblinear"},
                  {"tree_method": "approx"}, {"tree_method": "exact"}):
        state, _ = _fit({"train": ChannelData(csr, y)}, num_round=15, objective="binary:logistic", **extra)
        score = _predictor(state).predict({"features": csr})["score"]
        assert roc_auc_score(y, score) > 0.9, extra
