"""Spark ML Random Cut Forest over SageMaker's ``randomcutforest`` algorithm.

Params are generated from the algorithm's declaration: every SageMaker hyperparameter under its
SageMaker name (``num_trees``, ``num_samples_per_tree``, ``feature_dim``, ``eval_metrics``) with
camelCase accessors (``setNumTrees``, ``setNumSamplesPerTree``), plus ``featuresCol``, ``labelCol``
(read from the test channel only, when it has the column), ``scoreCol`` and the training Params
``numWorkers``, ``storeUri`` and ``useGpu``.

Examples
--------
>>> from pyspark.ml.linalg import Vectors                             # doctest: +SKIP
>>> from sagespark import RandomCutForest                             # doctest: +SKIP
>>> df = spark.createDataFrame([(Vectors.dense([float(i % 7), 0.0]),) for i in range(500)],
...                            ["features"])                          # doctest: +SKIP
>>> model = RandomCutForest(num_trees=50, numWorkers=2).fit(df)       # doctest: +SKIP
>>> model.transform(df).orderBy("score", ascending=False).show(3)     # doctest: +SKIP
"""

from __future__ import annotations

from typing import ClassVar

from sagespark.algorithms.base import Algorithm
from sagespark.algorithms.random_cut_forest import RandomCutForest as RandomCutForestAlgorithm
from sagespark.ml.estimator import SageMakerEstimator
from sagespark.ml.model import SageMakerModel

__all__ = ["RandomCutForest", "RandomCutForestModel"]


class RandomCutForestModel(SageMakerModel):
    """A fitted Random Cut Forest: appends ``score`` (double; higher = more anomalous).

    Examples
    --------
    >>> model = RandomCutForestModel.load("/tmp/rcf-model")     # doctest: +SKIP
    >>> model.getNumTrees(), model.metrics.get("test:f1")       # doctest: +SKIP
    (100, 0.83)
    >>> model.setScoreCol("anomaly_score").transform(df)        # doctest: +SKIP
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = RandomCutForestAlgorithm


class RandomCutForest(SageMakerEstimator):
    """SageMaker Random Cut Forest as a Spark ML Estimator (unsupervised anomaly detection).

    Parameters
    ----------
    num_trees : int, default 100
        Trees in the forest (50 to 1000).
    num_samples_per_tree : int, default 256
        Points each tree is built from, drawn uniformly from the whole training set (1 to 2048).
    featuresCol : str, default "features"
        Vector (or numeric array) column to score.
    labelCol : str, default "label"
        Anomaly label (1 = anomaly, 0 = normal) of the test channel; optional, used for test metrics.
    **params
        Any other SageMaker RCF hyperparameter by its SageMaker name (``feature_dim``,
        ``eval_metrics=["accuracy"]``) or Param (``numWorkers``, ``storeUri``).

    Examples
    --------
    >>> rcf = RandomCutForest(num_trees=200, num_samples_per_tree=512)     # doctest: +SKIP
    >>> model = rcf.setTestData(labelled_df).fit(train_df)                 # doctest: +SKIP
    >>> model.metrics["test:f1"]                                           # doctest: +SKIP
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = RandomCutForestAlgorithm
    model_class: ClassVar[type[SageMakerModel]] = RandomCutForestModel
