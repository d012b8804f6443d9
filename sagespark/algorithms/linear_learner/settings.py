"""What every ``auto`` of Linear Learner means, and the settings of the parallel models.

SageMaker trains ``num_models`` models at once: one with exactly the given training parameters, the rest
with parameters close to them (or spread widely where the parameter is ``auto``). :func:`resolve` turns the
hyperparameters into plain values, and :func:`model_grid` into one learning rate, L2 and L1 weight and
positive-example weight per model. Every rank computes the same grid from the same seed.

Examples
--------
>>> from sagespark.algorithms.linear_learner.hyperparameters import LinearLearnerHyperparameters
>>> hp = LinearLearnerHyperparameters.from_dict({"predictor_type": "regressor", "num_models": 4})
>>> s = resolve(hp, sparse=False)
>>> s.loss, s.optimizer, s.num_models, s.normalize_label
('squared_loss', 'adam', 4, True)
>>> grid = model_grid(s, seed=0)
>>> grid.learning_rate.shape, float(grid.learning_rate[0]) == s.learning_rate
((4,), True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sagespark.hyperparams import AUTO, Hyperparameters

__all__ = [
    "Settings",
    "ModelGrid",
    "resolve",
    "model_grid",
    "AUTO_NUM_MODELS",
    "AUTO_LEARNING_RATE",
    "MAX_PARAMETERS",
]

AUTO_NUM_MODELS = 32
"""``num_models="auto"``: 32 parallel models (fewer when the weights would not fit :data:`MAX_PARAMETERS`)."""

MAX_PARAMETERS = 1 << 25
"""Cap on ``num_models × feature_dim × classes`` for ``num_models="auto"`` (128 MiB of float32 weights)."""

AUTO_LEARNING_RATE = {"adam": 0.01, "rmsprop": 0.01, "sgd": 0.1}
"""``learning_rate="auto"``: the first model's rate per optimizer; the others spread ×0.1 .. ×10 around it."""

_DEFAULT_LOSS = {
    "binary_classifier": "logistic",
    "multiclass_classifier": "softmax_loss",
    "regressor": "squared_loss",
}


@dataclass(frozen=True)
class Settings:
    """Linear Learner's hyperparameters with every ``auto`` resolved."""

    predictor_type: str
    classes: int  # output width: 1 for binary and regression, num_classes for multiclass
    loss: str
    optimizer: str
    num_models: int
    learning_rate: float
    lr_is_auto: bool
    wd: float
    wd_is_auto: bool
    l1: float
    l1_is_auto: bool
    momentum: float
    beta_1: float
    beta_2: float
    bias_lr_mult: float
    bias_wd_mult: float
    use_bias: bool
    normalize_data: bool
    unbias_data: bool
    normalize_label: bool
    unbias_label: bool
    positive_weight: float | str  # a float, "balanced" or "auto"
    use_lr_scheduler: bool
    lr_scheduler_step: int
    lr_scheduler_factor: float
    lr_scheduler_minimum_lr: float
    mini_batch_size: int
    epochs: int
    patience: int
    tolerance: float
    init_method: str
    init_scale: float
    init_sigma: float
    init_bias: float
    margin: float
    loss_insensitivity: float
    quantile: float
    huber_delta: float
    f_beta: float
    accuracy_top_k: int
    balance_multiclass_weights: bool
    criterion: str
    target_recall: float
    target_precision: float
    num_point_for_scaler: int
    num_calibration_samples: int | None


@dataclass(frozen=True)
class ModelGrid:
    """Per-model training parameters (each an array of length ``num_models``)."""

    learning_rate: np.ndarray
    wd: np.ndarray
    l1: np.ndarray
    positive_weight: np.ndarray  # NaN where the model uses the "balanced" weight


def _auto(value: object, default: object) -> object:
    return default if value == AUTO else value


def resolve(hp: Hyperparameters, *, sparse: bool, feature_dim: int = 1) -> Settings:
    """Resolve every ``auto`` of ``hp`` (``sparse``: the training features are CSR).

    Sparse features are scaled but never centred (centring would make every row dense), so
    ``unbias_data`` is false for them whatever its value.
    """
    kind = hp["predictor_type"]
    classes = int(hp["num_classes"]) if kind == "multiclass_classifier" else 1
    optimizer = str(_auto(hp["optimizer"], "adam"))
    regression = kind == "regressor"
    use_bias = bool(hp["use_bias"])
    num_models = hp["num_models"]
    if num_models == AUTO:
        num_models = int(max(1, min(AUTO_NUM_MODELS, MAX_PARAMETERS // max(1, feature_dim * classes))))
    normalize_label = bool(_auto(hp["normalize_label"], regression)) and regression
    return Settings(
        predictor_type=kind,
        classes=classes,
        loss=str(_auto(hp["loss"], _DEFAULT_LOSS[kind])),
        optimizer=optimizer,
        num_models=int(num_models),
        learning_rate=float(_auto(hp["learning_rate"], AUTO_LEARNING_RATE[optimizer])),  # type: ignore[arg-type]
        lr_is_auto=hp["learning_rate"] == AUTO,
        wd=float(_auto(hp["wd"], 0.0)),  # type: ignore[arg-type]
        wd_is_auto=hp["wd"] == AUTO,
        l1=float(_auto(hp["l1"], 0.0)),  # type: ignore[arg-type]
        l1_is_auto=hp["l1"] == AUTO,
        momentum=float(_auto(hp["momentum"], 0.9 if optimizer == "sgd" else 0.0)),  # type: ignore[arg-type]
        beta_1=float(_auto(hp["beta_1"], 0.9)),  # type: ignore[arg-type]
        beta_2=float(_auto(hp["beta_2"], 0.999)),  # type: ignore[arg-type]
        bias_lr_mult=float(_auto(hp["bias_lr_mult"], 1.0)),  # type: ignore[arg-type]
        bias_wd_mult=float(_auto(hp["bias_wd_mult"], 0.0)),  # type: ignore[arg-type]
        use_bias=use_bias,
        normalize_data=bool(_auto(hp["normalize_data"], True)),
        unbias_data=bool(_auto(hp["unbias_data"], use_bias)) and use_bias and not sparse,
        normalize_label=normalize_label,
        unbias_label=bool(_auto(hp["unbias_label"], use_bias)) and use_bias and regression,
        positive_weight=hp["positive_example_weight_mult"],
        use_lr_scheduler=bool(hp["use_lr_scheduler"]),
        lr_scheduler_step=int(_auto(hp["lr_scheduler_step"], 100)),  # type: ignore[call-overload]
        lr_scheduler_factor=float(_auto(hp["lr_scheduler_factor"], 0.99)),  # type: ignore[arg-type]
        lr_scheduler_minimum_lr=float(_auto(hp["lr_scheduler_minimum_lr"], 1e-5)),  # type: ignore[arg-type]
        mini_batch_size=int(hp["mini_batch_size"]),
        epochs=int(hp["epochs"]),
        patience=int(hp["early_stopping_patience"]),
        tolerance=float(hp["early_stopping_tolerance"]),
        init_method=str(hp["init_method"]),
        init_scale=float(hp["init_scale"]),
        init_sigma=float(hp["init_sigma"]),
        init_bias=float(hp["init_bias"]),
        margin=float(hp["margin"]),
        loss_insensitivity=float(hp["loss_insensitivity"]),
        quantile=float(hp["quantile"]),
        huber_delta=float(hp["huber_delta"]),
        f_beta=float(hp["f_beta"]),
        accuracy_top_k=int(hp["accuracy_top_k"]),
        balance_multiclass_weights=bool(hp["balance_multiclass_weights"]),
        criterion=str(hp["binary_classifier_model_selection_criteria"]),
        target_recall=float(hp["target_recall"]),
        target_precision=float(hp["target_precision"]),
        num_point_for_scaler=int(hp["num_point_for_scaler"]),
        num_calibration_samples=None
        if hp["num_calibration_samples"] == AUTO
        else int(hp["num_calibration_samples"]),
    )


def model_grid(s: Settings, seed: int) -> ModelGrid:
    """Training parameters of each parallel model; model 0 uses exactly the resolved values.

    ``auto`` parameters spread widely (learning rate ×0.1 .. ×10, L2 in 1e-7 .. 1e-2, L1 on every other
    model in 1e-7 .. 1e-4); given ones vary within a factor of two, the "close parameters" of SageMaker.
    With ``positive_example_weight_mult="auto"`` half the models weigh positives 1 and half "balanced".
    """
    m = s.num_models
    rng = np.random.default_rng([seed, 1729])
    spread = rng.permutation(np.linspace(-1.0, 1.0, m)) if m > 1 else np.zeros(1)
    spread[0] = 0.0
    lr = s.learning_rate * (10.0**spread if s.lr_is_auto else 2.0**spread)
    if s.wd_is_auto:
        wd = 10.0 ** rng.uniform(-7.0, -2.0, m)
        wd[0] = s.wd
    else:
        wd = s.wd * 2.0 ** rng.uniform(-1.0, 1.0, m)
        wd[0] = s.wd
    if s.l1_is_auto:
        l1 = np.where(np.arange(m) % 2 == 1, 10.0 ** rng.uniform(-7.0, -4.0, m), 0.0)
        l1[0] = s.l1
    else:
        l1 = s.l1 * 2.0 ** rng.uniform(-1.0, 1.0, m)
        l1[0] = s.l1
    if s.positive_weight == AUTO:
        positive = np.where(np.arange(m) % 2 == 1, np.nan, 1.0)
    elif s.positive_weight == "balanced":
        positive = np.full(m, np.nan)
    else:
        positive = np.full(m, float(s.positive_weight))
    return ModelGrid(lr.astype(np.float64), wd.astype(np.float64), l1.astype(np.float64), positive)
