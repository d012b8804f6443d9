"""XGBoost hyperparameters, named, defaulted and ranged as SageMaker's XGBoost algorithm takes them.

Source: "XGBoost hyperparameters" (``xgboost_hyperparameters``) of the SageMaker developer guide and the
validation table of SageMaker's XGBoost container; defaults that the guide leaves to XGBoost are
XGBoost's own. ``num_round`` is required; ``num_class`` is required for the ``multi:`` objectives and
refused for the others, as SageMaker does. Options are optional (``None``: XGBoost's default) where
SageMaker gives no default.

``lambda`` is a Python keyword, so it cannot be written as a class attribute; it is declared through
the class namespace (its Spark Param is ``lambda``, with ``getLambda`` / ``setLambda``).

Examples
--------
>>> hp = XGBoostHyperparameters.from_wire({"num_round": "50", "objective": "binary:logistic",
...                                        "eval_metric": "auc,logloss", "lambda": "2"})
>>> hp.num_round, hp.eta, hp["lambda"], hp.eval_metric
(50, 0.3, 2.0, ['auc', 'logloss'])
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from sagespark.errors import InvalidHyperparameterError
from sagespark.hyperparams import AUTO, Choice, Float, Hyperparameters, Int, List

__all__ = [
    "XGBoostHyperparameters",
    "OBJECTIVES",
    "CLASSIFICATION_OBJECTIVES",
    "MULTI_OBJECTIVES",
    "EVAL_METRICS",
]

MULTI_OBJECTIVES = ("multi:softmax", "multi:softprob")
BINARY_OBJECTIVES = ("binary:logistic", "binary:logitraw", "binary:hinge")
CLASSIFICATION_OBJECTIVES = BINARY_OBJECTIVES + MULTI_OBJECTIVES
REGRESSION_OBJECTIVES = (
    "reg:squarederror",
    "reg:squaredlogerror",
    "reg:logistic",
    "reg:pseudohubererror",
    "reg:absoluteerror",
    "reg:gamma",
    "reg:tweedie",
    "count:poisson",
    "survival:cox",
)
OBJECTIVES = REGRESSION_OBJECTIVES + CLASSIFICATION_OBJECTIVES
"""Objectives sagespark trains. Ranking (``rank:*``) needs query groups and ``survival:aft`` label
bounds, which the features/label inputs cannot carry, so they are not offered."""

EVAL_METRICS = (
    "rmse", "rmsle", "mae", "mape", "mphe", "logloss", "error", "merror", "mlogloss", "auc", "aucpr",
    "ndcg", "map", "poisson-nloglik", "gamma-nloglik", "gamma-deviance", "cox-nloglik",
    "tweedie-nloglik",
)  # fmt: skip
"""XGBoost's built-in evaluation metrics; ``error@t``, ``ndcg@n`` and ``map@n`` take a parameter."""

_PARAMETRISED = re.compile(r"^(error|ndcg|map)@(.+)$")


class _MaybeNone:
    """Mixin: ``None`` means "not set" (XGBoost's own default applies); it is never sent to XGBoost."""

    def validate(self, value: Any) -> Any:
        return None if value is None else super().validate(value)  # type: ignore[misc]


class OptionalInt(_MaybeNone, Int):
    """An :class:`Int` that may be left unset."""


class OptionalFloat(_MaybeNone, Float):
    """A :class:`Float` that may be left unset."""


class MetricName(Choice):
    """One XGBoost evaluation metric name (``auc``, ``error@0.7``, ``ndcg@5``)."""

    def __init__(self, doc: str) -> None:
        super().__init__(doc, EVAL_METRICS)

    def describe(self) -> str:
        return super().describe()[:-1] + ", 'error@t', 'ndcg@n', 'map@n'}"

    def _check(self, value: str) -> bool:
        if value in EVAL_METRICS:
            return True
        match = _PARAMETRISED.match(value)
        if match is None:
            return False
        try:
            float(match.group(2).rstrip("-"))
        except ValueError:
            return False
        return True


class XGBoostHyperparameters(Hyperparameters):
    """SageMaker XGBoost hyperparameters (wire names, defaults and ranges of the developer guide)."""

    display_name = "XGBoost"

    num_round = Int("The number of boosting rounds to run.", low=1)
    num_class = OptionalInt(
        "The number of classes; required for multi:softmax and multi:softprob, refused otherwise.",
        None,
        low=2,
    )
    objective = Choice("The learning task and its objective.", OBJECTIVES, "reg:squarederror")
    booster = Choice("Which booster to use.", ["gbtree", "gblinear", "dart"], "gbtree")
    eta = Float("Step size shrinkage applied after each boosting step.", 0.3, low=0.0, high=1.0)
    gamma = Float("Minimum loss reduction required to make a further partition of a leaf.", 0.0, low=0.0)
    max_depth = Int("Maximum depth of a tree (0: no limit, only with grow_policy lossguide).", 6, low=0)
    min_child_weight = Float("Minimum sum of instance weight (hessian) needed in a child.", 1.0, low=0.0)
    max_delta_step = Float("Maximum delta step allowed for each tree's weight estimation (0: none).", 0.0,
                           low=0.0)
    subsample = Float("Subsample ratio of the training rows per tree.", 1.0, low=0.0, high=1.0, low_open=True)
    sampling_method = Choice("How rows are subsampled.", ["uniform", "gradient_based"], "uniform")
    colsample_bytree = Float("Subsample ratio of columns per tree.", 1.0, low=0.0, high=1.0, low_open=True)
    colsample_bylevel = Float("Subsample ratio of columns per tree level.", 1.0, low=0.0, high=1.0,
                              low_open=True)
    colsample_bynode = Float("Subsample ratio of columns per split.", 1.0, low=0.0, high=1.0, low_open=True)
    locals()["lambda"] = Float("L2 regularization term on weights.", 1.0, low=0.0)  # a Python keyword
    alpha = Float("L1 regularization term on weights.", 0.0, low=0.0)
    tree_method = Choice(
        "The tree construction algorithm (auto is hist; gpu_hist means hist on the worker's GPU).",
        ["auto", "exact", "approx", "hist", "gpu_hist"],
        "auto",
    )
    scale_pos_weight = Float("Balance of positive and negative weights (binary objectives).", 1.0, low=0.0,
                             low_open=True)
    grow_policy = Choice("How new nodes are added to a tree.", ["depthwise", "lossguide"], "depthwise")
    max_leaves = Int("Maximum number of leaves (0: no limit).", 0, low=0)
    max_bin = Int("Maximum number of histogram bins per feature (hist and approx).", 256, low=2)
    num_parallel_tree = Int("Number of trees built in parallel per round (boosted random forests).", 1,
                            low=1)
    base_score = OptionalFloat("Initial prediction score of every row (unset: estimated by XGBoost).", None)
    early_stopping_rounds = OptionalInt(
        "Stop when the last validation metric has not improved for this many rounds; the best model is kept.",
        None,
        low=1,
    )
    eval_metric = List(
        "Evaluation metrics for the train and validation channels (empty: the objective's default).",
        MetricName("An XGBoost metric name."),
        [],
    )
    seed = Int("Random number seed.", 0, low=-(2**31) + 1, high=2**31 - 2)
    nthread = Int("Threads per worker (auto: the worker's share of its host's cores).", AUTO, low=1,
                  allow_auto=True)
    verbosity = Int("XGBoost's log verbosity (0 silent, 1 warning, 2 info, 3 debug).", 1, low=0, high=3)
    sample_type = Choice("dart: how dropped trees are selected.", ["uniform", "weighted"], "uniform")
    normalize_type = Choice("dart: how new trees are weighted.", ["tree", "forest"], "tree")
    rate_drop = Float("dart: fraction of previous trees to drop in a round.", 0.0, low=0.0, high=1.0)
    one_drop = Int("dart: when 1, at least one tree is always dropped.", 0, low=0, high=1)
    skip_drop = Float("dart: probability of skipping the dropout in a round.", 0.0, low=0.0, high=1.0)
    tweedie_variance_power = Float("reg:tweedie: variance power.", 1.5, low=1.0, high=2.0, low_open=True,
                                   high_open=True)
    huber_slope = Float("reg:pseudohubererror: the delta of the Pseudo-Huber loss.", 1.0, low=0.0,
                        low_open=True)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], *, allow_missing_inferred: bool = True
                  ) -> Hyperparameters:
        """Validate every value, then the rules that tie several together (as SageMaker checks them).

        Raises
        ------
        InvalidHyperparameterError
            For a bad value, ``num_class`` missing for a ``multi:`` objective or set for another one,
            ``auc``/``aucpr`` with a non-binary objective, or ``max_depth=0`` with depthwise growth.
        """
        hp = super().from_dict(values, allow_missing_inferred=allow_missing_inferred)
        objective, num_class = hp["objective"], hp["num_class"]
        if objective in MULTI_OBJECTIVES and num_class is None:
            raise InvalidHyperparameterError(
                f"The 'num_class' parameter of XGBoost is required when objective is {objective!r}; "
                "set it to the number of classes (labels 0, 1, ..., num_class - 1)."
            )
        if objective not in MULTI_OBJECTIVES and num_class is not None:
            raise InvalidHyperparameterError(
                f"The 'num_class' parameter of XGBoost is only for the multi:softmax and multi:softprob "
                f"objectives; got num_class={num_class} with objective {objective!r}."
            )
        for metric in hp["eval_metric"]:
            if metric in ("auc", "aucpr") and not objective.startswith("binary:"):
                raise InvalidHyperparameterError(
                    f"The 'eval_metric' parameter of XGBoost: metric {metric!r} applies to binary "
                    f"classification only; got objective {objective!r}."
                )
        if hp["max_depth"] == 0 and hp["grow_policy"] != "lossguide":
            raise InvalidHyperparameterError(
                "The 'max_depth' parameter of XGBoost must be in the range [1, inf) unless grow_policy is "
                "'lossguide'. Got 0 instead."
            )
        return hp
