"""k-NN hyperparameters, named, defaulted and ranged as the SageMaker developer guide documents them.

Source: "k-NN Hyperparameters" (``kNN_hyperparameters``) of the SageMaker developer guide. ``k``,
``predictor_type`` and ``sample_size`` are required there, and so is ``feature_dim``, which sagespark
infers from the data when it is left out. ``dimension_reduction_type`` and ``faiss_index_pq_m`` are
optional with no default (no reduction; an automatic ``m``); ``dimension_reduction_target`` is required
exactly when a reduction type is given. The rules that tie several values together are checked by
:func:`check_combination` once ``feature_dim`` is known.

Examples
--------
>>> hp = KNNHyperparameters.from_wire({"k": "5", "predictor_type": "classifier", "sample_size": "1000"})
>>> hp.index_type, hp.index_metric, hp.faiss_index_ivf_nlists, hp.dimension_reduction_type
('faiss.Flat', 'L2', 'auto', None)
>>> resolve_nlists(hp, num_points=1000)
32
"""

from __future__ import annotations

import math

from sagespark.errors import InvalidHyperparameterError
from sagespark.hyperparams import AUTO, Choice, Hyperparameters, Int

__all__ = [
    "KNNHyperparameters",
    "PQ_M_VALUES",
    "check_combination",
    "resolve_nlists",
    "resolve_pq_m",
    "index_dimension",
]

PQ_M_VALUES = (1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32, 40, 48, 56, 64, 96)
"""The values of ``faiss_index_pq_m`` SageMaker accepts (the sub-quantizer counts faiss supports)."""


class KNNHyperparameters(Hyperparameters):
    """SageMaker k-NN hyperparameters (wire names, defaults and ranges of the developer guide)."""

    display_name = "KNN"

    feature_dim = Int("The number of features in the input data (inferred when left out).", low=1,
                      inferred=True)
    k = Int("The number of nearest neighbors.", low=1)
    predictor_type = Choice(
        "The type of inference to use on the data labels: classifier (majority vote) or regressor (mean).",
        ["classifier", "regressor"],
    )
    sample_size = Int("The number of data points to be sampled from the training data set.", low=1)
    dimension_reduction_type = Choice(
        "The dimension reduction method: sign (random sign projection) or fjlt (fast Johnson-Lindenstrauss "
        "transform); none when unset.",
        ["sign", "fjlt"],
        None,
    )
    dimension_reduction_target = Int(
        "The target dimension to reduce to; required with dimension_reduction_type, less than feature_dim.",
        None,
        low=1,
    )
    index_type = Choice(
        "The type of index.", ["faiss.Flat", "faiss.IVFFlat", "faiss.IVFPQ"], "faiss.Flat"
    )
    index_metric = Choice(
        "The metric used to measure the distance between points when finding nearest neighbors.",
        ["L2", "INNER_PRODUCT", "COSINE"],
        "L2",
    )
    faiss_index_ivf_nlists = Int(
        "The number of centroids of an IVF index; auto resolves to sqrt(sample_size).",
        AUTO,
        low=1,
        allow_auto=True,
    )
    faiss_index_pq_m = Int(
        "The number of vector sub-components of a faiss.IVFPQ index; chosen from the data when unset.",
        None,
        low=1,
        high=96,
        values=PQ_M_VALUES,
    )
    mini_batch_size = Int("The number of observations per mini-batch for the data iterator.", 5000, low=1)


def check_combination(hp: Hyperparameters, *, feature_dim: int) -> None:
    """Check the rules that tie several hyperparameters together, once ``feature_dim`` is known.

    Raises
    ------
    InvalidHyperparameterError
        ``dimension_reduction_target`` missing with a reduction type, or not below ``feature_dim``; or
        ``faiss.IVFPQ`` with ``INNER_PRODUCT`` / ``COSINE`` (SageMaker does not support those).

    Examples
    --------
    >>> hp = KNNHyperparameters.from_dict({"k": 1, "predictor_type": "regressor", "sample_size": 10,
    ...                                    "dimension_reduction_type": "sign"})
    >>> try:
    ...     check_combination(hp, feature_dim=8)
    ... except InvalidHyperparameterError as err:
    ...     print(str(err)[:60])
    The 'dimension_reduction_target' parameter of KNN is require
    """
    kind, target = hp["dimension_reduction_type"], hp["dimension_reduction_target"]
    if kind is not None:
        if target is None:
            raise InvalidHyperparameterError(
                "The 'dimension_reduction_target' parameter of KNN is required when "
                f"dimension_reduction_type is given (got {kind!r})."
            )
        if target >= feature_dim:
            raise InvalidHyperparameterError(
                "The 'dimension_reduction_target' parameter of KNN must be an int in the range "
                f"[1, {feature_dim - 1}] (less than feature_dim={feature_dim}). Got {target!r} instead."
            )
    if hp["index_type"] == "faiss.IVFPQ" and hp["index_metric"] != "L2":
        raise InvalidHyperparameterError(
            "The 'index_metric' parameter of KNN must be 'L2' when index_type is 'faiss.IVFPQ' "
            f"(SageMaker supports neither INNER_PRODUCT nor COSINE with it). Got {hp['index_metric']!r} "
            "instead."
        )


def resolve_nlists(hp: Hyperparameters, *, num_points: int) -> int:
    """The IVF list count: ``"auto"`` is ``sqrt(sample_size)``, capped at the sampled points.

    SageMaker resolves ``auto`` from ``sample_size``; when the data holds fewer rows than
    ``sample_size`` the square root of the rows actually sampled is used, so ``auto`` never asks for
    more centroids than there are points.

    Raises
    ------
    InvalidHyperparameterError
        When an explicit value exceeds the number of sampled points (faiss cannot train that many).
    """
    value = hp["faiss_index_ivf_nlists"]
    if value == AUTO:
        return max(1, int(round(math.sqrt(min(int(hp["sample_size"]), num_points)))))
    if int(value) > num_points:
        raise InvalidHyperparameterError(
            f"The 'faiss_index_ivf_nlists' parameter of KNN must be at most the number of sampled "
            f"points ({num_points}). Got {value!r} instead."
        )
    return int(value)


def resolve_pq_m(hp: Hyperparameters, *, dim: int) -> int:
    """``faiss_index_pq_m``, or when unset the largest allowed ``m`` dividing ``dim`` with ≥ 4 dims each.

    Examples
    --------
    >>> hp = KNNHyperparameters.from_dict({"k": 1, "predictor_type": "regressor", "sample_size": 10})
    >>> resolve_pq_m(hp, dim=64), resolve_pq_m(hp, dim=10)
    (16, 2)
    """
    value = hp["faiss_index_pq_m"]
    if value is not None:
        return int(value)
    fitting = [m for m in PQ_M_VALUES if dim % m == 0 and m <= max(1, dim // 4)]
    return max(fitting)


def index_dimension(dim: int, m: int | None) -> int:
    """Width of the indexed vectors: ``dim`` rounded up to a multiple of the PQ ``m`` (SageMaker pads).

    Examples
    --------
    >>> index_dimension(10, 4), index_dimension(10, None)
    (12, 10)
    """
    if m is None:
        return dim
    return -(-dim // m) * m
