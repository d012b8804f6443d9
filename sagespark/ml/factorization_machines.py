"""Spark ML Factorization Machines over SageMaker's ``factorization-machines`` algorithm.

Params are generated from the algorithm's declaration: every SageMaker hyperparameter under its
SageMaker name (``num_factors``, ``predictor_type``, ``factors_lr``, ...) with camelCase accessors
(``setNumFactors``, ``setFactorsLr``), plus ``featuresCol``, ``labelCol``, ``scoreCol``,
``predictedLabelCol`` and the training Params ``numWorkers``, ``storeUri`` and ``useGpu``.
Sparse feature vectors (one-hot users × items × side features) train without being densified.

Examples
--------
>>> from pyspark.ml.linalg import Vectors                                  # doctest: +SKIP
>>> from sagespark import FactorizationMachines                            # doctest: +SKIP
>>> df = spark.createDataFrame([(Vectors.sparse(1500, [3, 1200], [1.0, 1.0]), 4.0)],
...                            ["features", "label"])                      # doctest: +SKIP
>>> fm = FactorizationMachines(num_factors=8, predictor_type="regressor", epochs=20)  # doctest: +SKIP
>>> fm.fit(df).transform(df).select("score").show()                        # doctest: +SKIP
"""

from __future__ import annotations

from typing import ClassVar

from sagespark.algorithms.base import Algorithm
from sagespark.algorithms.factorization_machines import FactorizationMachines as FMAlgorithm
from sagespark.ml.estimator import SageMakerEstimator
from sagespark.ml.model import SageMakerModel

__all__ = ["FactorizationMachines", "FactorizationMachinesModel"]


class FactorizationMachinesModel(SageMakerModel):
    """A fitted factorization machine: appends ``score`` and ``predicted_label`` (doubles).

    For ``binary_classifier`` the score is the probability of label 1 and ``predicted_label`` is 1
    when it is ≥ 0.5; for ``regressor`` both columns hold the predicted value.

    Examples
    --------
    >>> model = FactorizationMachinesModel.load("/tmp/fm-model")     # doctest: +SKIP
    >>> model.metrics["test:rmse"]                                     # doctest: +SKIP
    0.83
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = FMAlgorithm


class FactorizationMachines(SageMakerEstimator):
    """SageMaker Factorization Machines as a Spark ML Estimator.

    Parameters
    ----------
    num_factors : int
        Dimensionality of the factorization (required).
    predictor_type : {"binary_classifier", "regressor"}
        The task (required); binary labels must be 0 or 1.
    featuresCol, labelCol : str, default "features", "label"
        Vector (dense or sparse) column and numeric label column.
    numWorkers : int, optional
        Training workers (data-parallel); default Spark's default parallelism.
    **params
        Any other SageMaker Factorization Machines hyperparameter by its SageMaker name
        (``epochs=20``, ``mini_batch_size=1000``, ``factors_lr=0.005``, ``factors_init_method="uniform"``,
        ``factors_init_scale=0.01``, ``clip_gradient=5.0``) or Param (``storeUri``).

    Examples
    --------
    >>> fm = FactorizationMachines(num_factors=64, predictor_type="binary_classifier")  # doctest: +SKIP
    >>> model = fm.setTestData(test_df).fit(train_df)                                    # doctest: +SKIP
    >>> model.metrics["test:binary_classification_accuracy"]                             # doctest: +SKIP
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = FMAlgorithm
    model_class: ClassVar[type[SageMakerModel]] = FactorizationMachinesModel
