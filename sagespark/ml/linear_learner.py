"""Spark ML Linear Learner over SageMaker's ``linear-learner`` algorithm.

Params are generated from the algorithm's declaration: every SageMaker hyperparameter under its SageMaker
name (``predictor_type``, ``num_models``, ``binary_classifier_model_selection_criteria``, ...) with camelCase
accessors (``setPredictorType``, ``setNumModels``), plus ``featuresCol``, ``labelCol``, ``scoreCol``,
``predictedLabelCol`` and the training Params ``numWorkers``, ``storeUri`` and ``useGpu``.

Examples
--------
>>> from sagespark import LinearLearner                                          # doctest: +SKIP
>>> ll = LinearLearner(predictor_type="binary_classifier", num_models=8)         # doctest: +SKIP
>>> model = ll.setValidationData(valid_df).fit(train_df)                         # doctest: +SKIP
>>> model.transform(test_df).select("score", "predicted_label").show()          # doctest: +SKIP
"""

from __future__ import annotations

from typing import ClassVar

from sagespark.algorithms.base import Algorithm
from sagespark.algorithms.linear_learner import LinearLearner as LinearLearnerAlgorithm
from sagespark.ml.estimator import SageMakerEstimator
from sagespark.ml.model import SageMakerModel

__all__ = ["LinearLearner", "LinearLearnerModel"]


class LinearLearnerModel(SageMakerModel):
    """A fitted Linear Learner: appends ``score`` and, for classifiers, ``predicted_label``.

    A binary classifier's ``score`` is the probability of class 1 (a double); a multiclass classifier's is
    the vector of class probabilities; a regressor writes only ``score``.

    Examples
    --------
    >>> model = LinearLearnerModel.load("/tmp/ll-model")              # doctest: +SKIP
    >>> model.getPredictorType(), model.metrics["test:roc_auc_score"]  # doctest: +SKIP
    ('binary_classifier', 0.991)
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = LinearLearnerAlgorithm


class LinearLearner(SageMakerEstimator):
    """SageMaker Linear Learner as a Spark ML Estimator.

    Parameters
    ----------
    predictor_type : str
        ``"binary_classifier"``, ``"multiclass_classifier"`` (with ``num_classes``) or ``"regressor"``.
    featuresCol, labelCol : str, default "features", "label"
        Vector (or numeric array) features and the numeric label.
    numWorkers : int, optional
        Training workers; default Spark's default parallelism.
    **params
        Any other SageMaker Linear Learner hyperparameter by its SageMaker name (``num_models=8``,
        ``loss="hinge_loss"``, ``target_recall=0.9``) or Param (``storeUri``).

    Examples
    --------
    >>> ll = LinearLearner(predictor_type="regressor", labelCol="price")    # doctest: +SKIP
    >>> model = ll.fitWithChannels(train_df, validation=valid_df, test=test_df)  # doctest: +SKIP
    >>> model.metrics["test:rmse"]                                          # doctest: +SKIP
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = LinearLearnerAlgorithm
    model_class: ClassVar[type[SageMakerModel]] = LinearLearnerModel
