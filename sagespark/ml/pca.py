"""Spark ML PCA over SageMaker's ``pca`` algorithm.

Params are generated from the algorithm's declaration: ``num_components``, ``mini_batch_size``,
``algorithm_mode``, ``subtract_mean``, ``extra_components`` and ``feature_dim`` under their SageMaker
names with camelCase accessors (``setNumComponents``), plus ``featuresCol``, ``projectionCol`` and the
training Params ``numWorkers``, ``storeUri`` and ``useGpu``.

Examples
--------
>>> from sagespark import PCA                                             # doctest: +SKIP
>>> model = PCA(num_components=2, mini_batch_size=500).fit(df)            # doctest: +SKIP
>>> model.transform(df).select("projection").first()                      # doctest: +SKIP
Row(projection=DenseVector([1.23, -0.45]))
"""

from __future__ import annotations

from typing import ClassVar

from sagespark.algorithms.base import Algorithm
from sagespark.algorithms.pca import PCA as PCAAlgorithm
from sagespark.ml.estimator import SageMakerEstimator
from sagespark.ml.model import SageMakerModel

__all__ = ["PCA", "PCAModel"]


class PCAModel(SageMakerModel):
    """A fitted PCA model: appends ``projection``, a dense vector of ``num_components`` values.

    Examples
    --------
    >>> model = PCAModel.load("/tmp/pca-model")                     # doctest: +SKIP
    >>> model.setProjectionCol("pcs").transform(df).columns[-1]     # doctest: +SKIP
    'pcs'
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = PCAAlgorithm


class PCA(SageMakerEstimator):
    """SageMaker PCA as a Spark ML Estimator.

    Parameters
    ----------
    num_components : int
        Number of principal components (required).
    mini_batch_size : int
        Rows per mini-batch (required by SageMaker).
    featuresCol : str, default "features"
        Vector (or numeric array) column to project.
    **params
        Any other SageMaker PCA hyperparameter by its SageMaker name (``algorithm_mode="randomized"``,
        ``subtract_mean=False``) or Param (``numWorkers``, ``storeUri``).

    Examples
    --------
    >>> pca = PCA(num_components=10, mini_batch_size=500, algorithm_mode="randomized")  # doctest: +SKIP
    >>> pca.fit(train_df).transform(df)                                                 # doctest: +SKIP
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = PCAAlgorithm
    model_class: ClassVar[type[SageMakerModel]] = PCAModel
