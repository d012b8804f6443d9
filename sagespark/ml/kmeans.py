"""Spark ML K-Means over SageMaker's ``kmeans`` algorithm.

Params are generated from the algorithm's declaration: every SageMaker hyperparameter under its
SageMaker name (``k``, ``mini_batch_size``, ``init_method``, ...) with camelCase accessors (``setK``,
``setMiniBatchSize``), plus ``featuresCol``, ``closestClusterCol``, ``distanceToClusterCol`` and the
training Params ``numWorkers``, ``storeUri`` and ``useGpu``.

Examples
--------
>>> from pyspark.ml.linalg import Vectors                             # doctest: +SKIP
>>> from sagespark import KMeans                                      # doctest: +SKIP
>>> df = spark.createDataFrame([(Vectors.dense([0.0, 0.0]),), (Vectors.dense([9.0, 9.0]),)],
...                            ["features"])                          # doctest: +SKIP
>>> model = KMeans(k=2, numWorkers=1).fit(df)                         # doctest: +SKIP
>>> model.transform(df).select("closest_cluster", "distance_to_cluster").show()  # doctest: +SKIP
"""

from __future__ import annotations

from typing import ClassVar

from sagespark.algorithms.base import Algorithm
from sagespark.algorithms.kmeans import KMeans as KMeansAlgorithm
from sagespark.ml.estimator import SageMakerEstimator
from sagespark.ml.model import SageMakerModel

__all__ = ["KMeans", "KMeansModel"]


class KMeansModel(SageMakerModel):
    """A fitted K-Means model: appends ``closest_cluster`` and ``distance_to_cluster`` (doubles).

    Examples
    --------
    >>> model = KMeansModel.load("/tmp/kmeans-model")          # doctest: +SKIP
    >>> model.getK(), model.metrics.get("test:msd")            # doctest: +SKIP
    (10, 12.7)
    >>> model.setClosestClusterCol("cluster").transform(df)   # doctest: +SKIP
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = KMeansAlgorithm


class KMeans(SageMakerEstimator):
    """SageMaker K-Means as a Spark ML Estimator.

    Parameters
    ----------
    k : int
        Number of clusters (required).
    featuresCol : str, default "features"
        Vector (or numeric array) column to cluster.
    numWorkers : int, optional
        Training workers; default Spark's default parallelism.
    **params
        Any other SageMaker K-Means hyperparameter by its SageMaker name (``mini_batch_size=500``,
        ``init_method="kmeans++"``, ``eval_metrics=["msd", "ssd"]``) or Param (``storeUri``).

    Examples
    --------
    >>> kmeans = KMeans(k=10, init_method="kmeans++", featuresCol="pixels")  # doctest: +SKIP
    >>> model = kmeans.setTestData(test_df).fit(train_df)                    # doctest: +SKIP
    >>> model.metrics["test:msd"]                                            # doctest: +SKIP
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = KMeansAlgorithm
    model_class: ClassVar[type[SageMakerModel]] = KMeansModel
