"""Which Spark ML Estimator serves which registered algorithm.

An algorithm's Estimator/Model pair lives in ``sagespark/ml/<name>.py`` (hyphens in the algorithm
name become underscores). Defining the Estimator registers it, and :func:`estimators` imports the pair
module of every registered algorithm, so a new algorithm joins the conformance suite, the CLI and the
docs by adding that one small file.

Examples
--------
>>> from sagespark.ml.registry import estimator_for
>>> estimator_for("kmeans").__name__
'KMeans'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sagespark.ml.estimator import SageMakerEstimator

__all__ = ["register_estimator", "module_name", "estimator_for", "estimators", "public_class"]

_ESTIMATORS: dict[str, type[SageMakerEstimator]] = {}


def register_estimator(cls: type[SageMakerEstimator]) -> None:
    """Record ``cls`` as the Estimator of ``cls.sagemaker_algorithm`` (done on class creation)."""
    _ESTIMATORS[cls.sagemaker_algorithm.name] = cls


def module_name(algorithm_name: str) -> str:
    """The module that holds the pair of ``algorithm_name``.

    ``"linear-learner"`` → ``"sagespark.ml.linear_learner"``.
    """
    return "sagespark.ml." + algorithm_name.replace("-", "_")


def _import_pair(algorithm_name: str) -> bool:
    name = module_name(algorithm_name)
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name == name:
            return False  # this algorithm has no Spark pair (yet)
        raise  # the pair exists but one of its imports is missing: that is a real error
    return True


def estimator_for(algorithm_name: str) -> type[SageMakerEstimator]:
    """The Estimator class of the registered algorithm ``algorithm_name``.

    Raises
    ------
    KeyError
        When the algorithm is unknown or has no Spark pair.
    """
    if algorithm_name not in _ESTIMATORS:
        _import_pair(algorithm_name)
    try:
        return _ESTIMATORS[algorithm_name]
    except KeyError:
        raise KeyError(
            f"No Spark Estimator for algorithm {algorithm_name!r}; "
            f"expected one in {module_name(algorithm_name)}."
        ) from None


def estimators() -> dict[str, type[SageMakerEstimator]]:
    """Every registered algorithm that has a Spark pair, by algorithm name (sorted)."""
    from sagespark.algorithms import all_algorithms

    registered = all_algorithms()
    for name in registered:
        if name not in _ESTIMATORS:
            _import_pair(name)
    # Only registered algorithms: an Estimator over an unregistered (test-only) algorithm is not listed.
    return {
        name: _ESTIMATORS[name]
        for name in sorted(_ESTIMATORS)
        if registered.get(name) is _ESTIMATORS[name].sagemaker_algorithm
    }


def public_class(name: str) -> type | None:
    """The Estimator or Model class called ``name`` (``"KMeansModel"``), or ``None``.

    ``sagespark.<Name>`` and ``sagespark.ml.<Name>`` resolve through this, so a new algorithm's pair is
    exported without editing any list.
    """
    for estimator in estimators().values():
        for cls in (estimator, estimator.model_class):
            if cls.__name__ == name:
                return cls
    return None
