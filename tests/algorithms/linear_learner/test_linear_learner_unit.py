"""Linear Learner's hyperparameter rules, outputs, losses, selection criteria, early stopping and artifact."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulated_world import ThreadWorld, run_ranks  # noqa: E402

from sagespark.algorithms import ChannelData, get_algorithm  # noqa: E402
from sagespark.algorithms.linear_learner import LinearLearner, LinearLearnerHyperparameters  # noqa: E402
from sagespark.algorithms.linear_learner.losses import LOSSES, LossParams, loss_and_grad  # noqa: E402
from sagespark.distributed.context import LocalContext  # noqa: E402
from sagespark.errors import ArtifactError, DataFormatError, InvalidHyperparameterError  # noqa: E402

HP = LinearLearnerHyperparameters


def _binary(rng: np.random.Generator, rows: int = 600, noise: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(size=(rows, 5)).astype(np.float32)
    y = (x @ np.array([2.0, -1.0, 0.5, 0.0, 0.0]) + noise * rng.normal(size=rows) > 0).astype(np.float64)
    return x, y


def _train(channels: dict[str, ChannelData], **params: object) -> object:
    return LinearLearner.train(LocalContext(), channels, HP.from_dict(params))


def test_defaults_are_sagemakers() -> None:
    hp = HP.from_wire({"predictor_type": "binary_classifier"})
    assert (hp.epochs, hp.mini_batch_size, hp.num_models, hp.loss, hp.optimizer) == (
        15,
        1000,
        "auto",
        "auto",
        "auto",
    )
    assert (hp.binary_classifier_model_selection_criteria, hp.target_recall, hp.target_precision) == (
        "accuracy",
        0.8,
        0.8,
    )
    assert (hp.early_stopping_patience, hp.early_stopping_tolerance, hp.accuracy_top_k) == (3, 0.001, 3)
    assert (hp.positive_example_weight_mult, hp.normalize_data, hp.normalize_label, hp.use_bias) == (
        1.0,
        True,
        "auto",
        True,
    )
    assert get_algorithm("linear-learner") is LinearLearner


def test_rules_that_tie_hyperparameters_together() -> None:
    with pytest.raises(InvalidHyperparameterError, match="'num_classes' parameter .* required"):
        HP.from_dict({"predictor_type": "multiclass_classifier"})
    with pytest.raises(InvalidHyperparameterError, match="'loss' parameter .* Got 'softmax_loss'"):
        HP.from_dict({"predictor_type": "regressor", "loss": "softmax_loss"})
    with pytest.raises(InvalidHyperparameterError, match="'num_classes' parameter"):
        HP.from_dict({"predictor_type": "multiclass_classifier", "num_classes": 2})
    hp = HP.from_wire({"predictor_type": "binary_classifier", "positive_example_weight_mult": "balanced"})
    assert hp.positive_example_weight_mult == "balanced"
    assert HP.from_wire(hp.to_wire()) == hp
    with pytest.raises(InvalidHyperparameterError, match='or "balanced"'):
        HP.from_dict({"predictor_type": "binary_classifier", "positive_example_weight_mult": "heavy"})


def test_outputs_follow_the_predictor_type() -> None:
    kinds = {
        kind: [
            (f.name, f.kind)
            for f in LinearLearner.output_fields(HP.from_dict({"predictor_type": kind, "num_classes": 3}))
        ]
        for kind in ("binary_classifier", "multiclass_classifier", "regressor")
    }
    assert kinds == {
        "binary_classifier": [("score", "double"), ("predicted_label", "double")],
        "multiclass_classifier": [("score", "vector"), ("predicted_label", "double")],
        "regressor": [("score", "double")],
    }


@pytest.mark.parametrize("name", LOSSES)
def test_loss_gradients_match_autograd(name: str) -> None:
    gen = torch.Generator().manual_seed(0)
    classes = 4 if name == "softmax_loss" else 1
    scores = torch.randn(50, 3, classes, generator=gen, dtype=torch.float64) * 2
    if name == "softmax_loss":
        label = torch.randint(0, classes, (50,), generator=gen).double()
    elif name in ("logistic", "hinge_loss"):
        label = torch.randint(0, 2, (50,), generator=gen).double()
    else:
        label = torch.randn(50, generator=gen, dtype=torch.float64)
    params = LossParams(margin=1.0, insensitivity=0.3, quantile=0.8, huber_delta=0.7)
    leaf = scores.clone().requires_grad_(True)
    loss, grad = loss_and_grad(name, leaf, label, params)
    loss.sum().backward()
    assert leaf.grad is not None
    np.testing.assert_allclose(grad.detach().numpy(), leaf.grad.numpy(), atol=1e-9)


@pytest.mark.parametrize(
    ("kind", "bad", "message"),
    [
        ("binary_classifier", 2.0, "0 or 1 for a binary classifier; row 3"),
        ("multiclass_classifier", 3.0, r"integer class in \[0, 2\] \(num_classes=3\); row 3"),
        ("regressor", float("nan"), "finite number; row 3"),
    ],
)
def test_bad_labels_are_named(kind: str, bad: float, message: str) -> None:
    x = np.zeros((6, 2), dtype=np.float32)
    y = np.array([0.0, 1.0, 0.0, bad, 1.0, 0.0])
    with pytest.raises(DataFormatError, match=message):
        _train({"train": ChannelData(x, y)}, predictor_type=kind, num_classes=3)


def test_missing_label_and_bad_features_are_named() -> None:
    x = np.zeros((4, 2), dtype=np.float32)
    with pytest.raises(DataFormatError, match="Channel 'train' has no 'label' column"):
        _train({"train": ChannelData(x)}, predictor_type="regressor")
    x[2, 1] = np.inf
    with pytest.raises(DataFormatError, match="NaN or infinite value in row 2"):
        _train({"train": ChannelData(x, np.zeros(4))}, predictor_type="regressor")


@pytest.mark.parametrize(
    ("criterion", "target"),
    [("precision_at_target_recall", "recall"), ("recall_at_target_precision", "precision")],
)
def test_threshold_meets_the_target_on_the_selection_data(criterion: str, target: str) -> None:
    x, y = _binary(np.random.default_rng(1), noise=2.0)
    result = _train(
        {"train": ChannelData(x, y)},
        predictor_type="binary_classifier",
        num_models=4,
        binary_classifier_model_selection_criteria=criterion,
        target_recall=0.95,
        target_precision=0.9,
    )
    predicted = result.state.predict({"features": x})["predicted_label"]
    tp = float(((predicted == 1) & (y == 1)).sum())
    recall, precision = tp / float((y == 1).sum()), tp / max(float((predicted == 1).sum()), 1.0)
    assert (recall >= 0.95) if target == "recall" else (precision >= 0.9)
    assert result.metrics[f"train:{target}"] == pytest.approx(recall if target == "recall" else precision)


def test_early_stopping_on_the_validation_channel() -> None:
    rng = np.random.default_rng(2)
    x, y = _binary(rng, rows=800, noise=0.0)
    world = ThreadWorld(1)
    result = run_ranks(
        LinearLearner,
        [{"train": ChannelData(x[:600], y[:600]), "validation": ChannelData(x[600:], y[600:])}],
        {
            "predictor_type": "binary_classifier",
            "epochs": 60,
            "early_stopping_patience": 2,
            "mini_batch_size": 50,
            "num_models": 2,
        },
        world=world,
    )
    epochs = [e for name, _, e in world.metrics[0] if name == "validation:objective_loss"]
    assert 3 <= len(epochs) < 60
    assert result.metrics["validation:binary_classification_accuracy"] >= 0.97


def test_hinge_quantile_and_l1() -> None:
    rng = np.random.default_rng(4)
    x, y = _binary(rng, noise=0.2)
    hinge = _train(
        {"train": ChannelData(x, y)},
        predictor_type="binary_classifier",
        loss="hinge_loss",
        num_models=2,
        mini_batch_size=50,
    )
    assert hinge.metrics["train:binary_classification_accuracy"] >= 0.95
    target = x @ np.array([1.0, 2.0, 0.0, 0.0, 0.0]) + rng.normal(size=len(x))
    q = _train(
        {"train": ChannelData(x, target)},
        predictor_type="regressor",
        loss="quantile_loss",
        quantile=0.9,
        num_models=2,
        mini_batch_size=50,
        epochs=20,
        learning_rate=0.05,
    )
    below = float((target <= q.state.predict({"features": x})["score"]).mean())
    assert 0.85 <= below <= 0.95
    sparse = _train(
        {"train": ChannelData(x, target)},
        predictor_type="regressor",
        l1=0.2,
        num_models=1,
        mini_batch_size=50,
        epochs=20,
    )
    w = sparse.state.weights[:, 0]
    assert abs(w[1]) > 1.0 and np.abs(w[2:]).max() < 0.05


def test_artifact_round_trip_and_checks(tmp_path: Path) -> None:
    x, y = _binary(np.random.default_rng(5))
    hp = HP.from_dict({"predictor_type": "binary_classifier", "num_models": 2, "feature_dim": 5})
    result = LinearLearner.train(LocalContext(), {"train": ChannelData(x, y)}, hp)
    LinearLearner.save(result.state, tmp_path)
    loaded = LinearLearner.load(tmp_path, hp)
    a, b = result.state.predict({"features": x}), loaded.predict({"features": x})
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    with pytest.raises(ArtifactError, match="6 features|for 5 features"):
        LinearLearner.load(tmp_path, HP.from_dict({"predictor_type": "binary_classifier", "feature_dim": 6}))
    with pytest.raises(DataFormatError, match="expects feature_dim=5"):
        loaded.predict({"features": np.zeros((2, 4), dtype=np.float32)})
    (tmp_path / "model.json").write_text("{")
    with pytest.raises(ArtifactError, match="Cannot read"):
        LinearLearner.load(tmp_path, hp)


@pytest.mark.parametrize(
    "extra",
    [
        {"optimizer": "sgd"},
        {"optimizer": "rmsprop", "init_method": "normal"},
        {"use_bias": False, "normalize_data": False, "use_lr_scheduler": False},
        {"positive_example_weight_mult": "balanced", "num_calibration_samples": 100},
        {"positive_example_weight_mult": "auto", "binary_classifier_model_selection_criteria": "f_beta"},
        {"binary_classifier_model_selection_criteria": "loss_function", "wd": 0.001, "l1": 0.0},
    ],
)
def test_training_options_all_learn(extra: dict[str, object]) -> None:
    x, y = _binary(np.random.default_rng(6), noise=0.3)
    result = _train(
        {"train": ChannelData(x, y)},
        predictor_type="binary_classifier",
        num_models=4,
        mini_batch_size=50,
        epochs=5,
        **extra,
    )
    assert result.metrics["train:roc_auc_score"] >= 0.97


def test_balanced_multiclass_weights_on_imbalanced_classes() -> None:
    rng = np.random.default_rng(7)
    y = np.concatenate([np.zeros(500), np.ones(60), np.full(40, 2.0)])
    centres = np.array([[0.0, 0.0], [2.5, 0.0], [0.0, 2.5]])
    x = (centres[y.astype(int)] + rng.normal(size=(600, 2))).astype(np.float32)
    kw = {"predictor_type": "multiclass_classifier", "num_classes": 3, "num_models": 2, "mini_batch_size": 50}
    plain = _train({"train": ChannelData(x, y)}, **kw)
    balanced = _train({"train": ChannelData(x, y)}, balance_multiclass_weights=True, **kw)
    assert balanced.metrics["train:macro_recall"] > plain.metrics["train:macro_recall"]
