"""Spark ML XGBoost over SageMaker's ``xgboost`` algorithm.

Params are generated from the algorithm's declaration: every SageMaker XGBoost hyperparameter under its
SageMaker name (``num_round``, ``eta``, ``max_depth``, ``lambda``, ...) with camelCase accessors
(``setNumRound``, ``setLambda``), plus ``featuresCol``, ``labelCol``, the output columns ``scoreCol``,
``predictedLabelCol`` and ``probabilitiesCol`` (the last two written when ``verbose`` is true), and the
training Params ``numWorkers``, ``storeUri`` and ``useGpu``. Training runs XGBoost's own collective
across the workers of one barrier stage; ``setValidationData`` gives the validation channel used for
``validation:*`` metrics and early stopping.

(This module is ``sagespark.ml.xgboost``; ``import xgboost`` elsewhere still means the library.)

Examples
--------
>>> from sagespark import XGBoost                                                   # doctest: +SKIP
>>> est = XGBoost(num_round=100, objective="binary:logistic", eval_metric=["auc"],
...               early_stopping_rounds=10, numWorkers=2)                           # doctest: +SKIP
>>> model = est.setValidationData(valid_df).fit(train_df)                           # doctest: +SKIP
>>> model.metrics["validation:auc"]                                                 # doctest: +SKIP
0.97
>>> model.setVerbose(True).transform(test_df).select("score", "predicted_label")    # doctest: +SKIP
"""

from __future__ import annotations

from typing import ClassVar

from sagespark.algorithms.base import Algorithm
from sagespark.algorithms.xgboost import XGBoost as XGBoostAlgorithm
from sagespark.ml.estimator import SageMakerEstimator
from sagespark.ml.model import SageMakerModel

__all__ = ["XGBoost", "XGBoostModel"]


class XGBoostModel(SageMakerModel):
    """A fitted XGBoost model: appends ``score``; with ``verbose`` also ``predicted_label`` and
    ``probabilities``.

    The artifact's ``xgboost-model.json`` is XGBoost's own model file (``xgboost.Booster().load_model``).

    Examples
    --------
    >>> model = XGBoostModel.load("/tmp/xgb-model")                     # doctest: +SKIP
    >>> model.getNumRound(), model.metrics.get("validation:auc")        # doctest: +SKIP
    (100, 0.98)
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = XGBoostAlgorithm


class XGBoost(SageMakerEstimator):
    """SageMaker XGBoost as a Spark ML Estimator.

    Parameters
    ----------
    num_round : int
        Number of boosting rounds (required).
    featuresCol, labelCol : str, default "features", "label"
        Vector (or numeric array) feature column and numeric label column.
    numWorkers : int, optional
        Training workers; default Spark's default parallelism.
    **params
        Any other SageMaker XGBoost hyperparameter by its SageMaker name (``objective="binary:logistic"``,
        ``eta=0.1``, ``max_depth=8``, ``num_class=10``, ``eval_metric=["auc"]``; ``lambda`` through
        ``**{"lambda": 2.0}`` or ``setLambda``) or Param (``storeUri``).

    Examples
    --------
    >>> xgb = XGBoost(num_round=50, objective="multi:softprob", num_class=3)  # doctest: +SKIP
    >>> xgb.setLambda(2.0).fit(train_df).transform(test_df)                     # doctest: +SKIP
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = XGBoostAlgorithm
    model_class: ClassVar[type[SageMakerModel]] = XGBoostModel
