"""Linear Learner hyperparameters, named, defaulted and ranged as SageMaker's developer guide documents them.

Source: "Linear learner hyperparameters" (``ll_hyperparameters``) of the SageMaker developer guide, with the
value checks of the SageMaker Python SDK 2.x ``LinearLearner`` estimator. ``predictor_type`` is required;
``num_classes`` is required when ``predictor_type`` is ``multiclass_classifier`` (checked in
:meth:`LinearLearnerHyperparameters.from_dict`, since it depends on another value); ``feature_dim`` is
inferred from the data when left out. What each ``auto`` means is fixed in :mod:`.settings`.

Examples
--------
>>> hp = LinearLearnerHyperparameters.from_wire({"predictor_type": "binary_classifier", "wd": "0.01"})
>>> hp.predictor_type, hp.wd, hp.loss, hp.epochs
('binary_classifier', 0.01, 'auto', 15)
"""

from __future__ import annotations

from typing import Any, Mapping

from sagespark.errors import InvalidHyperparameterError
from sagespark.hyperparams import AUTO, Bool, Choice, Float, Hyperparameters, Int

__all__ = ["LinearLearnerHyperparameters", "FloatOrBalanced", "LOSSES_BY_PREDICTOR", "SELECTION_CRITERIA"]

LOSSES_BY_PREDICTOR: dict[str, tuple[str, ...]] = {
    "binary_classifier": ("auto", "logistic", "hinge_loss"),
    "multiclass_classifier": ("auto", "softmax_loss"),
    "regressor": (
        "auto",
        "squared_loss",
        "absolute_loss",
        "eps_insensitive_squared_loss",
        "eps_insensitive_absolute_loss",
        "quantile_loss",
        "huber_loss",
    ),
}
"""Which ``loss`` values each ``predictor_type`` accepts (the developer guide's table)."""

SELECTION_CRITERIA = (
    "accuracy",
    "f_beta",
    "precision_at_target_recall",
    "recall_at_target_precision",
    "loss_function",
)

_ALL_LOSSES = (
    "auto",
    "logistic",
    "squared_loss",
    "absolute_loss",
    "hinge_loss",
    "eps_insensitive_squared_loss",
    "eps_insensitive_absolute_loss",
    "quantile_loss",
    "huber_loss",
    "softmax_loss",
)


class FloatOrBalanced(Float):
    """A positive float, ``"auto"`` or ``"balanced"`` (``positive_example_weight_mult``)."""

    def describe(self) -> str:
        return super().describe() + ' or "balanced"'

    def validate(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() == "balanced":
            return "balanced"
        return super().validate(value)


class LinearLearnerHyperparameters(Hyperparameters):
    """SageMaker Linear Learner hyperparameters (wire names, defaults and ranges of the developer guide)."""

    display_name = "LinearLearner"

    predictor_type = Choice(
        "The type of target variable: binary classification, multiclass classification or regression.",
        ["binary_classifier", "multiclass_classifier", "regressor"],
    )
    num_classes = Int(
        "The number of classes (labels 0 .. num_classes-1); required when predictor_type is "
        "multiclass_classifier, ignored otherwise.",
        low=3,
        high=1_000_000,
        inferred=True,
    )
    feature_dim = Int(
        "The number of features in the input data (inferred when left out).", low=1, inferred=True
    )
    accuracy_top_k = Int("The k of the top-k accuracy metric for multiclass classification.", 3, low=1)
    balance_multiclass_weights = Bool(
        "Whether to weight classes so that each has equal importance in the loss (multiclass only).", False
    )
    beta_1 = Float(
        "Exponential decay rate of Adam's first-moment estimates.",
        AUTO,
        low=0.0,
        high=1.0,
        high_open=True,
        allow_auto=True,
    )
    beta_2 = Float(
        "Exponential decay rate of Adam's second-moment estimates.",
        AUTO,
        low=0.0,
        high=1.0,
        high_open=True,
        allow_auto=True,
    )
    bias_lr_mult = Float(
        "Learning-rate multiplier of the bias term.", AUTO, low=0.0, low_open=True, allow_auto=True
    )
    bias_wd_mult = Float(
        "L2-regularisation multiplier of the bias term (auto: no bias regularisation).",
        AUTO,
        low=0.0,
        allow_auto=True,
    )
    binary_classifier_model_selection_criteria = Choice(
        "How the best of the parallel models, and its decision threshold, are chosen for a binary classifier "
        "(on the validation channel, or the training data without one).",
        SELECTION_CRITERIA,
        "accuracy",
    )
    early_stopping_patience = Int("Epochs without improvement before training stops.", 3, low=1)
    early_stopping_tolerance = Float(
        "Relative improvement below which an epoch counts as no improvement.", 0.001, low=0.0, low_open=True
    )
    epochs = Int("The maximum number of passes over the training data.", 15, low=1)
    f_beta = Float(
        "The beta of the F-beta score (metrics and the f_beta selection criterion).",
        1.0,
        low=0.0,
        low_open=True,
    )
    huber_delta = Float("The delta of the Huber loss.", 1.0, low=0.0, low_open=True)
    init_bias = Float("Initial value of the bias term.", 0.0)
    init_method = Choice("Initial distribution of the weights.", ["uniform", "normal"], "uniform")
    init_scale = Float("Half-width of the uniform initial distribution.", 0.07, low=0.0, low_open=True)
    init_sigma = Float("Standard deviation of the normal initial distribution.", 0.01, low=0.0, low_open=True)
    l1 = Float(
        "The L1 regularisation parameter (auto: explored across the parallel models).",
        AUTO,
        low=0.0,
        allow_auto=True,
    )
    learning_rate = Float(
        "The optimizer's step size (auto: depends on the optimizer, explored across models).",
        AUTO,
        low=0.0,
        low_open=True,
        allow_auto=True,
    )
    loss = Choice(
        "The loss function (auto: logistic, softmax_loss or squared_loss by predictor_type).",
        _ALL_LOSSES,
        "auto",
    )
    loss_insensitivity = Float("The epsilon of the epsilon-insensitive losses.", 0.01, low=0.0, low_open=True)
    lr_scheduler_factor = Float(
        "Factor the learning rate is multiplied by every lr_scheduler_step updates.",
        AUTO,
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
        allow_auto=True,
    )
    lr_scheduler_minimum_lr = Float(
        "The learning rate never decays below this value.", AUTO, low=0.0, low_open=True, allow_auto=True
    )
    lr_scheduler_step = Int(
        "Number of updates between learning-rate decreases.", AUTO, low=1, allow_auto=True
    )
    margin = Float("The margin of the hinge loss.", 1.0, low=0.0)
    mini_batch_size = Int("The number of observations per mini-batch of each worker.", 1000, low=1)
    momentum = Float(
        "The momentum of the sgd optimizer.", AUTO, low=0.0, high=1.0, high_open=True, allow_auto=True
    )
    normalize_data = Bool(
        "Whether to normalise the features to zero mean and unit variance.", True, allow_auto=True
    )
    normalize_label = Bool(
        "Whether to normalise the label (auto: for regression only).", AUTO, allow_auto=True
    )
    num_calibration_samples = Int(
        "Number of observations used to choose the decision threshold (auto: all).",
        AUTO,
        low=1,
        allow_auto=True,
    )
    num_models = Int(
        "The number of models trained in parallel (auto: chosen by the algorithm).",
        AUTO,
        low=1,
        allow_auto=True,
    )
    num_point_for_scaler = Int(
        "Number of observations used to compute the normalisation statistics.", 10000, low=1
    )
    optimizer = Choice("The optimisation algorithm (auto: adam).", ["auto", "sgd", "adam", "rmsprop"], "auto")
    positive_example_weight_mult = FloatOrBalanced(
        "Weight of positive examples in a binary classifier's loss (balanced: equal total weight of both "
        "classes; auto: explored across the parallel models).",
        1.0,
        low=0.0,
        low_open=True,
        allow_auto=True,
    )
    quantile = Float(
        "The quantile of the quantile loss.", 0.5, low=0.0, high=1.0, low_open=True, high_open=True
    )
    target_precision = Float(
        "Precision held while recall is maximised (recall_at_target_precision).",
        0.8,
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
    )
    target_recall = Float(
        "Recall held while precision is maximised (precision_at_target_recall).",
        0.8,
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
    )
    unbias_data = Bool(
        "Whether to shift the features to zero mean (auto: when use_bias is true).", AUTO, allow_auto=True
    )
    unbias_label = Bool(
        "Whether to shift the label to zero mean (auto: for regression when use_bias is true).",
        AUTO,
        allow_auto=True,
    )
    use_bias = Bool("Whether the model has a bias (intercept) term.", True)
    use_lr_scheduler = Bool("Whether to decay the learning rate during training.", True)
    wd = Float(
        "The L2 regularisation (weight decay) parameter (auto: explored across the parallel models).",
        AUTO,
        low=0.0,
        allow_auto=True,
    )

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, allow_missing_inferred: bool = True) -> Hyperparameters:
        """Validate every value, then the rules that tie values together.

        Raises
        ------
        InvalidHyperparameterError
            Also when ``num_classes`` is missing for a multiclass classifier, or ``loss`` does not fit
            ``predictor_type``.
        """
        hp = super().from_dict(values, allow_missing_inferred=allow_missing_inferred)
        kind = hp["predictor_type"]
        if kind == "multiclass_classifier" and hp["num_classes"] is None:
            raise InvalidHyperparameterError(
                "The 'num_classes' parameter of LinearLearner is required when predictor_type is "
                "'multiclass_classifier'."
            )
        allowed = LOSSES_BY_PREDICTOR[kind]
        if hp["loss"] not in allowed:
            raise InvalidHyperparameterError(
                "The 'loss' parameter of LinearLearner must be a str among "
                f"{{{', '.join(map(repr, allowed))}}} "
                f"when predictor_type is {kind!r}. Got {hp['loss']!r} instead."
            )
        return hp
