"""Spark ML IP Insights over SageMaker's ``ipinsights`` algorithm.

Params are generated from the algorithm's declaration: every SageMaker hyperparameter under its
SageMaker name (``num_entity_vectors``, ``vector_dim``, ``mini_batch_size``, ...) with camelCase
accessors (``setNumEntityVectors``), the input columns ``entityCol`` and ``ipCol`` (strings: an entity
id and an IPv4 address in dotted-decimal notation), the outputs ``dotProductCol`` and, when ``verbose``
is true, ``entityEmbeddingCol`` / ``ipEmbeddingCol``, plus ``numWorkers``, ``storeUri`` and ``useGpu``.

Examples
--------
>>> from sagespark import IPInsights                                               # doctest: +SKIP
>>> df = spark.createDataFrame([("alice", "192.168.1.20"), ("bob", "10.0.0.7")],
...                            ["user", "source_ip"])                              # doctest: +SKIP
>>> model = IPInsights(num_entity_vectors=20000, vector_dim=128, entityCol="user",
...                    ipCol="source_ip").fit(df)                                  # doctest: +SKIP
>>> model.transform(df).select("user", "source_ip", "dot_product").show()         # doctest: +SKIP
"""

from __future__ import annotations

from typing import ClassVar

from sagespark.algorithms.base import Algorithm
from sagespark.algorithms.ipinsights import IPInsights as IPInsightsAlgorithm
from sagespark.ml.estimator import SageMakerEstimator
from sagespark.ml.model import SageMakerModel

__all__ = ["IPInsights", "IPInsightsModel"]


class IPInsightsModel(SageMakerModel):
    """A fitted IP Insights model: appends ``dot_product`` (double; low = unusual pair).

    With ``verbose=True`` it also appends ``entity_embedding`` and ``ip_embedding`` (vectors). An
    invalid IPv4 string fails the transform with a :class:`~sagespark.errors.DataFormatError` naming
    the row.

    Examples
    --------
    >>> model = IPInsightsModel.load("/tmp/ipinsights-model")                   # doctest: +SKIP
    >>> model.metrics.get("validation:discriminator_auc")                      # doctest: +SKIP
    0.98
    >>> model.setVerbose(True).transform(df).columns[-2:]                      # doctest: +SKIP
    ['entity_embedding', 'ip_embedding']
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = IPInsightsAlgorithm


class IPInsights(SageMakerEstimator):
    """SageMaker IP Insights as a Spark ML Estimator.

    Parameters
    ----------
    num_entity_vectors : int
        Entity embedding vectors (required); about twice the number of distinct entities.
    vector_dim : int
        Embedding size (required), 4 to 4096.
    entityCol, ipCol : str, default "entity", "ip"
        String columns: the entity id and its IPv4 address.
    **params
        Any other SageMaker IP Insights hyperparameter by its SageMaker name (``epochs=5``,
        ``random_negative_sampling_rate=2``) or Param (``numWorkers``, ``storeUri``, ``useGpu``).

    Examples
    --------
    >>> est = IPInsights(num_entity_vectors=20000, vector_dim=64)             # doctest: +SKIP
    >>> model = est.setValidationData(validation_df).fit(train_df)            # doctest: +SKIP
    >>> model.metrics["validation:discriminator_auc"]                         # doctest: +SKIP
    """

    sagemaker_algorithm: ClassVar[type[Algorithm]] = IPInsightsAlgorithm
    model_class: ClassVar[type[SageMakerModel]] = IPInsightsModel
