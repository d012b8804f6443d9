"""Spark ML k-NN over SageMaker's ``knn`` algorithm.

Params are generated from the algorithm's declaration: every SageMaker hyperparameter under its
SageMaker name (``k``, ``predictor_type``, ``sample_size``, ``index_type``, ...) with camelCase accessors
(``setK``, ``setSampleSize``), plus ``featuresCol``, ``labelCol``, ``predictedLabelCol``, the verbose
output columns ``distancesCol`` / ``labelsCol`` (written when ``verbose`` is true) and the training
Params ``numWorkers``, ``storeUri`` and ``useGpu``.

Examples
--------
>>> from sagespark import KNN                                                    # doctest: +SKIP
>>> knn = KNN(k=10, predictor_type="classifier", sample_size=200_000,
...           index_type="faiss.IVFFlat")                                        # doctest: +SKIP
>>> model = knn.setTestData(test_df).fit(train_df)                               # doctest: +SKIP
>>> model.metrics["test:accuracy"]                                               # doctest: +SKIP
0.97
>>> verbose = model.setVerbose(True).transform(test_df)                           # doctest: +SKIP
>>> verbose.select("predicted_label", "distances", "labels").show()               # doctest: +SKIP
"""

from __future__ import annotations

from typing import ClassVar

from sagespark.algorithms.base import Algorithm
from sagespark.algorithms.knn import KNN as KNNAlgorithm
from sagespark.ml.estimator import SageMakerEstimator
from sagespark.ml.model import SageMakerModel

__all__ = ["KNN", "KNNModel"]


class KNNModel(SageMakerModel):
    """A fitted k-NN model: appends ``predicted_label`` (double); with ``verbose`` also the neighbours'
    ``distances`` and ``labels`` (vectors of ``k`` values, nearest first).

    Examples
    --------
    >>> model = KNNModel.load("/tmp/knn-model")                     # doctest: +SKIP
    >>> model.getK(), model.getIndexType()                          # doctest: +SKIP
    (10, 'faiss.IVFFlat')
    >>> model.setVerbose(True).setDistancesCol("d").transform(df)   # doctest: +SKIP
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = KNNAlgorithm


class KNN(SageMakerEstimator):
    """SageMaker k-NN as a Spark ML Estimator.

    Parameters
    ----------
    k : int
        Number of nearest neighbours (required).
    predictor_type : {"classifier", "regressor"}
        Majority vote of the neighbours' labels, or their mean (required).
    sample_size : int
        Training rows sampled into the index, spread over the workers in proportion to their rows
        (required).
    featuresCol, labelCol : str, default "features", "label"
        Vector (or numeric array) column and numeric label column.
    **params
        Any other SageMaker k-NN hyperparameter by its SageMaker name (``index_type="faiss.IVFPQ"``,
        ``index_metric="COSINE"``, ``dimension_reduction_type="fjlt"``,
        ``dimension_reduction_target=32``, ``faiss_index_ivf_nlists``, ``faiss_index_pq_m``) or Param
        (``numWorkers``, ``storeUri``).

    Examples
    --------
    >>> knn = KNN(k=5, predictor_type="regressor", sample_size=10_000, labelCol="price")  # doctest: +SKIP
    >>> model = knn.fit(train_df)                                                          # doctest: +SKIP
    >>> model.transform(test_df).select("predicted_label").show()                          # doctest: +SKIP
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = KNNAlgorithm
    model_class: ClassVar[type[SageMakerModel]] = KNNModel
